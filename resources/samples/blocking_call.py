"""time.sleep() in a coroutine: the whole loop stops, and every other task waits.

ticker should print every 0.25 s, but while main sleeps with time.sleep nothing
runs. The fix: await asyncio.sleep(1).
"""

import asyncio
import time


async def ticker():
    for number in range(6):
        print(f"tick {number}")
        await asyncio.sleep(0.25)


async def main():
    ticks = asyncio.create_task(ticker(), name="ticker")
    await asyncio.sleep(0.3)
    time.sleep(1)
    await ticks


asyncio.run(main())
