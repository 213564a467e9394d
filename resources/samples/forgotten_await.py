"""A forgotten await: calling a coroutine function only makes a coroutine object.

Nothing runs it, so "slow step done" never comes; Python warns when the object
is thrown away, and Coroscope names the line. The fix: await save(...).
"""

import asyncio


async def save(name):
    await asyncio.sleep(0.5)
    print(f"saved {name}")


async def main():
    save("notes.txt")
    await asyncio.sleep(1)
    print("main is done")


asyncio.run(main())
