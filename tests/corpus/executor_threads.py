"""asyncio.to_thread and loop.run_in_executor: blocking work moved off the loop."""

import asyncio
import functools
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor


def slow_square(n: int) -> int:
    time.sleep(0.02)  # blocking, but in a worker thread
    return n * n


def digest(data: bytes, *, rounds: int) -> str:
    for _ in range(rounds):
        data = hashlib.sha256(data).digest()
    return data.hex()[:16]


async def ticker(stop: asyncio.Event) -> int:
    ticks = 0
    while not stop.is_set():
        ticks += 1
        await asyncio.sleep(0.005)
    return ticks


async def main() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(stop))

    print("to_thread:", await asyncio.to_thread(slow_square, 7))
    print("default executor:", await loop.run_in_executor(None, slow_square, 8))
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="worker") as pool:
        squares = await asyncio.gather(
            *(loop.run_in_executor(pool, slow_square, n) for n in range(6))
        )
        hashed = await loop.run_in_executor(pool, functools.partial(digest, b"abc", rounds=1000))
    print("pool:", squares, hashed)
    assert squares == [0, 1, 4, 9, 16, 25]

    stop.set()
    print("the loop stayed free meanwhile:", await ticking > 0)
    print("executor_threads: ok")


if __name__ == "__main__":
    asyncio.run(main())
