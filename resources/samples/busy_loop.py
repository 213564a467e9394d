"""A busy loop that never awaits: nothing else can run until it ends.

Coroscope notices, names the line it spins on, and interrupts it.
"""

import asyncio


async def spin():
    await asyncio.sleep(0.5)
    count = 0
    while True:
        count += 1


async def main():
    await spin()


asyncio.run(main())
