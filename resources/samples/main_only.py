"""A module that only defines async def main(): Coroscope calls it for you.

(Run on its own with python, this file would do nothing at all.)
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
