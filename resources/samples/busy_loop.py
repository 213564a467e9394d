"""A busy loop that never awaits: nothing else can run until it ends.

Coroscope names the line it spins on while it spins; press Stop to end it.
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
