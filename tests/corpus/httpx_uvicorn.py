"""httpx.AsyncClient against a Starlette app served by uvicorn.Server in a task."""

import asyncio

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def homepage(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello from starlette")


async def square(request: Request) -> JSONResponse:
    n = request.path_params["n"]
    await asyncio.sleep(0.01)
    return JSONResponse({"n": n, "square": n * n})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"received": await request.json()})


app = Starlette(
    routes=[
        Route("/", homepage),
        Route("/square/{n:int}", square),
        Route("/echo", echo, methods=["POST"]),
    ]
)


async def main() -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if serving.done():
                await serving  # it failed to start: raise its error
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get("/")
            response.raise_for_status()
            print("GET /:", response.text)
            replies = await asyncio.gather(*(client.get(f"/square/{n}") for n in range(1, 5)))
            squares = [r.json()["square"] for r in replies]
            print("squares:", squares)
            assert squares == [1, 4, 9, 16]
            response = await client.post("/echo", json={"a": [1, 2]})
            print("POST /echo:", response.json())
    finally:
        server.should_exit = True
        await serving
    print("httpx_uvicorn: ok")


if __name__ == "__main__":
    asyncio.run(main())
