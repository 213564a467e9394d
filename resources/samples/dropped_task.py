"""A task whose only reference is dropped can be collected while it waits.

asyncio keeps only weak references to tasks: create_task() without keeping the
task leaves nothing holding it once it waits on a future nobody else holds.
The garbage collector runs when it likes; here main asks it to run at once.
The fix: keep the task, in a variable or a set, until it is done.
"""

import asyncio
import gc


async def listen():
    reply = asyncio.get_running_loop().create_future()
    await reply
    print("never printed")


async def main():
    asyncio.create_task(listen())
    await asyncio.sleep(0.5)
    gc.collect()
    await asyncio.sleep(0.5)
    print("main is done")


asyncio.run(main())
