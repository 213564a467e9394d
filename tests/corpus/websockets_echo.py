"""websockets: an echo server and a client that sends messages and reads the replies."""

import asyncio

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve


async def echo(websocket: ServerConnection) -> None:
    async for message in websocket:
        await websocket.send(f"echo: {message}")


async def client(port: int, name: str) -> list[str]:
    replies = []
    async with connect(f"ws://127.0.0.1:{port}") as websocket:
        for i in range(3):
            await websocket.send(f"{name} {i}")
            replies.append(await websocket.recv())
    return replies


async def main() -> None:
    async with serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        results = await asyncio.gather(client(port, "alice"), client(port, "bob"))
        for replies in results:
            print(replies)
        assert results[0] == ["echo: alice 0", "echo: alice 1", "echo: alice 2"]
    print("websockets_echo: ok")


if __name__ == "__main__":
    asyncio.run(main())
