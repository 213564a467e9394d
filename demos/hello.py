"""Hello world: the smallest coroutine there is.

``hello_world()`` creates a coroutine object; nothing runs until the loop drives
it. ``asyncio.run`` creates a loop, runs the coroutine to completion, and closes
the loop: the modern form of the tutorial's ``get_event_loop()`` /
``run_until_complete()`` / ``close()``. One task, one step, done.
"""

import asyncio


async def hello_world():
    print("hello world!")


async def main():
    await hello_world()


if __name__ == "__main__":
    asyncio.run(main())
