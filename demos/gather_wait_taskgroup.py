"""Three ways to run tasks together: gather, wait and TaskGroup.

All three run several awaitables at once and wait for them; they differ in what
you get back and in what happens when one of them fails. Each part below uses
``fetch`` tasks that sleep, and one that raises ``LookupError``.

* ``asyncio.gather(*aws)`` returns the results in the order you passed them, not
  the order they finish. One failure raises at once (the others keep running);
  with ``return_exceptions=True`` failures come back as values instead.
* ``asyncio.wait(tasks, return_when=FIRST_COMPLETED)`` returns two sets, done
  and pending, and leaves the pending ones to you: here we cancel them.
* ``async with asyncio.TaskGroup()`` (3.11) waits for every task it started; if
  one fails it cancels the rest and raises an ``ExceptionGroup`` that
  ``except*`` takes apart. No task is ever left behind.
"""

import asyncio


async def fetch(name, seconds, fail=False):
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"  {name} cancelled")
        raise
    if fail:
        raise LookupError(f"{name} not found")
    print(f"  {name} ready after {seconds} s")
    return name.upper()


async def main():
    print("gather: results in argument order")
    results = await asyncio.gather(fetch("slow", 2), fetch("fast", 1))
    print(f"  -> {results}")

    print("gather with return_exceptions=True")
    results = await asyncio.gather(
        fetch("ok", 1), fetch("missing", 1.5, fail=True), return_exceptions=True
    )
    print(f"  -> {results}")

    print("wait(FIRST_COMPLETED): the first one, then cancel the rest")
    tasks = [asyncio.create_task(fetch(n, s), name=n) for n, s in (("a", 1), ("b", 2), ("c", 3))]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    print(
        f"  done: {[t.get_name() for t in done]}, pending: {sorted(t.get_name() for t in pending)}"
    )
    for task in sorted(pending, key=asyncio.Task.get_name):  # a set has no order
        task.cancel()
    await asyncio.wait(pending)

    print("TaskGroup: one failure cancels its siblings")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(fetch("one", 1), name="one")
            group.create_task(fetch("broken", 1.5, fail=True), name="broken")
            group.create_task(fetch("three", 3), name="three")
    except* LookupError as errors:
        print(f"  -> except* LookupError: {[str(e) for e in errors.exceptions]}")


if __name__ == "__main__":
    asyncio.run(main())
