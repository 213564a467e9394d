"""A module that only defines async def main() and never runs it.

Under python it does nothing at all, and so it does here: Coroscope says why.
"""

import asyncio


async def tick(name, times):
    for number in range(1, times + 1):
        await asyncio.sleep(0.5)
        print(f"{name} tick {number}")


async def main():
    async with asyncio.TaskGroup() as group:
        group.create_task(tick("left", 3), name="left")
        group.create_task(tick("right", 2), name="right")
    print("both done")
