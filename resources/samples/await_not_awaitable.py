"""await needs something awaitable: a coroutine, a Task or a Future.

asyncio.sleep without its brackets is the function itself, not a call, so
await fails with TypeError. The fix: await asyncio.sleep(1).
"""

import asyncio


async def main():
    print("waiting a second")
    await asyncio.sleep
    print("never printed")


asyncio.run(main())
