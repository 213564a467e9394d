"""TCP echo with streams: the same conversation as the protocol demo, written with await.

``asyncio.start_server`` and ``asyncio.open_connection`` wrap the same transports
and protocols in a ``StreamReader`` and ``StreamWriter``. Instead of callbacks,
each side is a coroutine: ``await reader.readline()`` parks the task until a line
arrives, ``writer.write(...)`` queues bytes and ``await writer.drain()`` waits if
the socket's buffer is full. Each connection gets its own server task.

The server listens on 127.0.0.1, port 0 (the OS picks a free one). Watch the lanes:
each client and each server handler parks on ``readline``; the Loop panel's I/O
section shows the sockets and the bytes crossing them.
"""

import asyncio

HOST = "127.0.0.1"  # loopback only: never reachable from another machine


async def handle(reader, writer):
    port = writer.get_extra_info("peername")[1]
    try:
        while line := await reader.readline():
            print(f"server: echoing {line!r} to :{port}")
            writer.write(line)
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def client(name, port, pause):
    reader, writer = await asyncio.open_connection(HOST, port)
    echoed = b""
    try:
        for text in (f"{name} says hello", f"{name} counts {len(name)}", f"{name} says bye"):
            line = text.encode() + b"\n"
            print(f"{name}: sending {line!r}")
            writer.write(line)
            await writer.drain()
            answer = await reader.readline()
            assert answer == line, f"{name} sent {line!r} but got {answer!r}"
            echoed += answer
            await asyncio.sleep(pause)
    finally:
        writer.close()
        await writer.wait_closed()
    print(f"{name}: got back {len(echoed)} bytes, all echoed")
    return echoed


async def main(pause=0.5):
    server = await asyncio.start_server(handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {HOST}:{port}")
    async with server:
        tasks = [
            asyncio.create_task(client(name, port, pause), name=name) for name in ("alice", "bob")
        ]
        results = await asyncio.gather(*tasks)
    return dict(zip(("alice", "bob"), results, strict=True))


if __name__ == "__main__":
    asyncio.run(main())
