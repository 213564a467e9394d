"""A plain threading.Thread hands results to the loop: call_soon_threadsafe and friends."""

import asyncio
import threading
import time


async def add(a: int, b: int) -> int:
    await asyncio.sleep(0.01)
    return a + b


def worker(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue, done: asyncio.Future) -> None:
    for n in range(5):
        time.sleep(0.01)  # blocking work, off the loop
        loop.call_soon_threadsafe(queue.put_nowait, n)
    # A coroutine run on the loop from this thread, waited for here.
    total = asyncio.run_coroutine_threadsafe(add(20, 22), loop).result(timeout=5)
    loop.call_soon_threadsafe(done.set_result, total)


async def main() -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()
    done = loop.create_future()
    thread = threading.Thread(target=worker, args=(loop, queue, done), name="worker")
    thread.start()
    received = [await queue.get() for _ in range(5)]
    print("from the thread:", received)
    print("the thread's coroutine returned:", await done)
    await asyncio.to_thread(thread.join)
    assert received == [0, 1, 2, 3, 4]
    print("threadsafe_calls: ok")


if __name__ == "__main__":
    asyncio.run(main())
