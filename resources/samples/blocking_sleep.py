"""time.sleep() inside a coroutine blocks the whole loop (and the window).

Coroscope notices, names this line, and interrupts it after a couple of seconds.
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
    print("never printed: the watchdog interrupts the sleep")


async def main():
    await asyncio.gather(
        asyncio.create_task(ticker(), name="ticker"),
        asyncio.create_task(sleeper(), name="sleeper"),
        return_exceptions=True,
    )


asyncio.run(main())
