"""Countdown, generator style: the tutorial's original form, repaired for 3.11+.

The tutorial decorated a generator with ``@asyncio.coroutine`` and waited with
``yield from asyncio.sleep(...)``. That decorator was removed in Python 3.11;
``@types.coroutine`` still marks a generator as awaitable, so the old body works
unchanged. The old driver, ``loop.run_until_complete(asyncio.wait(coros))``, now
fails twice: ``get_event_loop()`` no longer creates a loop for you, and
``asyncio.wait()`` refuses bare coroutines, so ``main`` wraps each in a task.

Prefer ``async def`` in new code (see the Countdown demo); this form is here so
you can recognise it in older code and see that the loop treats both the same.
"""

import asyncio
import types


@types.coroutine
def my_coroutine(task_name, seconds_to_sleep=3):
    print(f"{task_name} sleeping for: {seconds_to_sleep} seconds")
    yield from asyncio.sleep(seconds_to_sleep)
    print(f"{task_name} is finished")


async def main():
    tasks = [
        asyncio.ensure_future(my_coroutine("task1", 4)),
        asyncio.ensure_future(my_coroutine("task2", 3)),
        asyncio.ensure_future(my_coroutine("task3", 2)),
    ]
    for number, task in enumerate(tasks, start=1):
        task.set_name(f"task{number}")
    await asyncio.wait(tasks)


if __name__ == "__main__":
    asyncio.run(main())
