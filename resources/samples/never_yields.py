"""A loop that computes without ever reaching an await holds the event loop.

While crunch counts, ticker cannot print. The fix: await asyncio.sleep(0) now
and then inside the loop, or hand the work to asyncio.to_thread().
"""

import asyncio
import time


async def ticker():
    for number in range(4):
        print(f"tick {number}")
        await asyncio.sleep(0.25)


async def crunch():
    await asyncio.sleep(0.3)
    total, end = 0, time.perf_counter() + 1
    while time.perf_counter() < end:
        total += 1
    print("crunched")


async def main():
    await asyncio.gather(ticker(), crunch())


asyncio.run(main())
