"""anyio on asyncio.run: a TCP listener and client, a task group and a worker thread."""

import asyncio

import anyio
from anyio.abc import SocketAttribute, SocketStream


async def handle(stream: SocketStream) -> None:
    async with stream:
        async for data in stream:
            await stream.send(data.upper())


async def talk(port: int, words: list[str]) -> list[str]:
    replies = []
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        for word in words:
            await stream.send(word.encode())
            replies.append((await stream.receive()).decode())
    return replies


async def main() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)
    results: dict[str, list[str]] = {}

    async def client(name: str, words: list[str]) -> None:
        results[name] = await talk(port, words)

    async with listener, anyio.create_task_group() as serving:
        serving.start_soon(listener.serve, handle)
        async with anyio.create_task_group() as clients:
            clients.start_soon(client, "one", ["alpha", "beta"])
            clients.start_soon(client, "two", ["gamma"])
        serving.cancel_scope.cancel()
    print(results)
    assert results == {"one": ["ALPHA", "BETA"], "two": ["GAMMA"]}

    length = await anyio.to_thread.run_sync(len, "hello")
    print("length from a thread:", length)
    print("anyio_on_asyncio: ok")


if __name__ == "__main__":
    asyncio.run(main())
