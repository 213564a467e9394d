"""aiohttp: a web app on a loopback port, and a ClientSession making GET and POST requests."""

import asyncio

from aiohttp import ClientSession, web


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": request.match_info["name"]})


async def total(request: web.Request) -> web.Response:
    numbers = await request.json()
    return web.json_response({"count": len(numbers), "total": sum(numbers)})


async def fetch_square(session: ClientSession, n: int) -> int:
    async with session.get(f"/square/{n}") as response:
        response.raise_for_status()
        return int(await response.text())


async def square(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    await asyncio.sleep(0.01)  # pretend to look something up
    return web.Response(text=str(n * n))


async def main() -> None:
    app = web.Application()
    app.add_routes(
        [
            web.get("/hello/{name}", hello),
            web.post("/total", total),
            web.get("/square/{n}", square),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            async with session.get("/hello/coroscope") as response:
                response.raise_for_status()
                print("GET /hello:", await response.json())
            async with session.post("/total", json=[1, 2, 3, 4]) as response:
                response.raise_for_status()
                print("POST /total:", await response.json())
            squares = await asyncio.gather(*(fetch_square(session, n) for n in range(1, 6)))
            print("squares:", squares)
            assert squares == [1, 4, 9, 16, 25]
    finally:
        await runner.cleanup()
    print("aiohttp_web: ok")


if __name__ == "__main__":
    asyncio.run(main())
