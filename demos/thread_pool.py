"""A blocking call in the loop versus in a thread pool (``run_in_executor``).

``crunch`` stands for blocking work: a slow library call, a big computation, a
``time.sleep``. A ``ticker`` task wakes every 50 ms and records how late it was.
Called in the loop, ``crunch`` freezes everything; run in a thread pool, the
loop keeps ticking.

1. ``main`` calls ``crunch`` directly. The loop runs one thing at a time, so for
   the whole call nothing else runs: the ticker stalls, the window freezes, the
   lag meter spikes and the Loop panel names the step that held the loop.
2. ``main`` hands two crunches to its own ``ThreadPoolExecutor`` with
   ``loop.run_in_executor`` and awaits them. Worker threads do the blocking; the
   loop keeps ticking (watch the Threads section and the ticker's lane).

The demo brings its own pool and shuts it down with ``cancel_futures=True``: a
queued job is dropped, but a running thread cannot be stopped, so if you press
Stop mid-crunch, Coroscope waits for that thread and says so in the console.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

BLOCK = 0.6  # seconds each crunch blocks
TICK = 0.05


def crunch(n, seconds=BLOCK):
    time.sleep(seconds)  # blocking, like real work: it never yields to the loop
    return n * n


async def ticker(late, period=TICK):
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + period
        await asyncio.sleep(period)
        late.append(loop.time() - due)


async def main(block=BLOCK):
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="crunch")
    late = []
    tick = asyncio.create_task(ticker(late), name="ticker")
    try:
        await asyncio.sleep(0.5)
        print("1) crunch(3) in the loop: everything else waits")
        late.clear()
        result = crunch(3, block)  # blocks the loop
        await asyncio.sleep(0.2)
        in_loop = max(late)
        print(f"   = {result}; the ticker was {in_loop * 1000:.0f} ms late")

        print("2) crunch(4) and crunch(5) in worker threads: the loop keeps ticking")
        late.clear()
        jobs = [loop.run_in_executor(pool, crunch, n, block) for n in (4, 5)]
        results = await asyncio.gather(*jobs)
        in_threads = max(late)
        print(f"   = {results}; the ticker was at most {in_threads * 1000:.0f} ms late")
        return {"in_loop": in_loop, "in_threads": in_threads, "results": [result, *results]}
    finally:
        tick.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


if __name__ == "__main__":
    asyncio.run(main())
