"""Two tasks wait for each other: a deadlock, and the loop can only sit idle.

first awaits second and second awaits first, so neither can ever finish.
Coroscope pauses the run there and names the cycle.
"""

import asyncio


async def first():
    await asyncio.sleep(0.5)
    await tasks["second"]


async def second():
    await asyncio.sleep(0.5)
    await tasks["first"]


tasks = {}


async def main():
    tasks["first"] = asyncio.create_task(first(), name="first")
    tasks["second"] = asyncio.create_task(second(), name="second")
    await asyncio.gather(*tasks.values())


asyncio.run(main())
