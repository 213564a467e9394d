"""Countdown: three tasks sleep 4, 3 and 2 seconds side by side.

The tutorial's first example, in today's form. Each task prints, parks on
``await asyncio.sleep(...)`` and finishes when its timer fires, so the shortest
sleep finishes first although it started last. ``main`` gathers them and reports
each outcome, so cancelling one (click its ring or lane) shows ``CancelledError``
arriving at the awaiting ``main`` while the others carry on.

What changed since the tutorial: ``asyncio.run(main())`` replaces
``get_event_loop()`` / ``run_until_complete()`` / ``close()``; ``async def`` and
``await`` replace ``@asyncio.coroutine`` and ``yield from`` (removed in 3.11);
and ``asyncio.wait()`` no longer accepts bare coroutines, so we create tasks.
"""

import asyncio

COUNTDOWNS = (("task1", 4), ("task2", 3), ("task3", 2))


async def countdown(name: str, seconds: float) -> str:
    print(f"{name} sleeping for: {seconds} seconds")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"{name} was cancelled")
        raise
    print(f"{name} is finished")
    return f"{name} slept {seconds} s"


async def main() -> None:
    tasks = [asyncio.create_task(countdown(name, s), name=name) for name, s in COUNTDOWNS]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            print(f"main: {task.get_name()} ended with CancelledError")
        elif isinstance(result, BaseException):
            print(f"main: {task.get_name()} failed: {result!r}")
        else:
            print(f"main: {result}")


if __name__ == "__main__":
    asyncio.run(main())
