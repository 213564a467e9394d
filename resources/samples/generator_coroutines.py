"""Generator-based coroutines: @types.coroutine with yield from.

The tutorial used @asyncio.coroutine, which Python 3.11 removed; @types.coroutine
still turns a generator into something a task can run and await can wait for.
"""

import asyncio
import types


@types.coroutine
def countdown(task_name, seconds_to_sleep=3):
    print("{0} sleeping for: {1} seconds".format(task_name, seconds_to_sleep))
    yield from asyncio.sleep(seconds_to_sleep)
    print("{0} is finished".format(task_name))
    return seconds_to_sleep


async def main():
    results = await asyncio.gather(
        asyncio.ensure_future(countdown("task1", 2)),
        asyncio.ensure_future(countdown("task2", 1)),
    )
    print("slept", results)


if __name__ == "__main__":
    asyncio.run(main())
