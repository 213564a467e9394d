"""10,000 tasks at once: the lanes draw only the rows on screen, so they stay smooth."""

import asyncio
import random


async def worker(number):
    await asyncio.sleep(random.uniform(1, 5))
    return number


async def main():
    tasks = [asyncio.create_task(worker(n), name=f"worker{n}") for n in range(10_000)]
    results = await asyncio.gather(*tasks)
    print(f"{len(results)} workers finished")


asyncio.run(main())
