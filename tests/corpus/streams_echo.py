"""asyncio streams: start_server and open_connection, several clients at once."""

import asyncio


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


async def client(port: int, lines: list[str]) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    try:
        for line in lines:
            writer.write(f"{line}\n".encode())
            await writer.drain()
            replies.append((await reader.readline()).decode().strip())
    finally:
        writer.close()
        await writer.wait_closed()
    return replies


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        results = await asyncio.gather(
            client(port, ["hello", "world"]),
            client(port, ["asyncio", "streams"]),
            client(port, ["third"]),
        )
    await server.wait_closed()
    print(results)
    assert results[0] == ["HELLO", "WORLD"]
    print("streams_echo: ok")


if __name__ == "__main__":
    asyncio.run(main())
