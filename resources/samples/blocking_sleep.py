"""time.sleep() inside a coroutine blocks the whole loop: ticker's ticks stop too.

Coroscope names this line while it holds the loop; press Stop to end the script.
The fix: await asyncio.sleep(30).
"""

import asyncio
import time


async def ticker():
    for number in range(5):
        print(f"tick {number}")
        await asyncio.sleep(0.5)


async def sleeper():
    await asyncio.sleep(1)
    print("about to block the loop for 30 s...")
    time.sleep(30)
    print("30 s later: only now can ticker go on")


async def main():
    await asyncio.gather(
        asyncio.create_task(ticker(), name="ticker"),
        asyncio.create_task(sleeper(), name="sleeper"),
        return_exceptions=True,
    )


asyncio.run(main())
