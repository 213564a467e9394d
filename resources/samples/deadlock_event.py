"""Waiting for an event that nothing will ever set: the run can never go on.

Both workers wait for the start signal, but main forgot to set it. Coroscope
notices that nothing is left that could wake them and says so.
The fix: call start.set() in main.
"""

import asyncio


async def worker(name, start):
    print(f"{name} waits for the start signal")
    await start.wait()
    print(f"{name} starts")


async def main():
    start = asyncio.Event()
    await asyncio.gather(worker("ann", start), worker("bob", start))


asyncio.run(main())
