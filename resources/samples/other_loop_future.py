"""A future made on one event loop cannot be awaited on another.

The future below belongs to a loop made before asyncio.run() starts its own, so
awaiting it fails. The fix: make futures inside the running loop, with
asyncio.get_running_loop().create_future().
"""

import asyncio

other_loop = asyncio.SelectorEventLoop()
answer = other_loop.create_future()


async def main():
    print("waiting for the answer")
    await answer


asyncio.run(main())
other_loop.close()
