"""Cancellation: cancelling a child or its parent, shielding, and cleanup in finally.

``task.cancel()`` does not stop a task at once: it raises ``CancelledError`` at the
``await`` where the task is parked, the next time it runs. The task may clean up
(``finally``), and the error then travels up to whoever awaits it.

1. Cancel the *child*: its ``finally`` runs, and the parent that awaits it gets
   ``CancelledError`` at its ``await`` (it could catch it and carry on; here it
   re-raises, so it ends cancelled too).
2. Cancel the *parent*: the parent is parked awaiting the child, so cancelling
   it cancels the child too; both ``finally`` blocks run, innermost first.
3. Shield the child: the parent awaits ``asyncio.shield(child)``; cancelling the
   parent leaves the shielded child running, and it still finishes its work.

Try it live: click a worker's ✕ in the lanes while it sleeps.
"""

import asyncio


async def worker(name, seconds):
    print(f"{name}: working for {seconds} s")
    try:
        await asyncio.sleep(seconds)
        print(f"{name}: finished")
        return f"{name} done"
    except asyncio.CancelledError:
        print(f"{name}: cancelled at its await")
        raise
    finally:
        print(f"{name}: cleanup in finally")


async def parent(child, shielded=False):
    try:
        return await (asyncio.shield(child) if shielded else child)
    except asyncio.CancelledError:
        print(f"parent of {child.get_name()}: CancelledError reached me")
        raise


async def main(pause=1.0):
    print("1) cancel the child")
    child = asyncio.create_task(worker("child-1", 3), name="child-1")
    waiting = asyncio.create_task(parent(child), name="parent-1")
    await asyncio.sleep(pause)
    child.cancel()
    try:
        await waiting
    except asyncio.CancelledError:
        print("main: parent-1 ended cancelled too")

    print("2) cancel the parent")
    child = asyncio.create_task(worker("child-2", 3), name="child-2")
    waiting = asyncio.create_task(parent(child), name="parent-2")
    await asyncio.sleep(pause)
    waiting.cancel()
    await asyncio.wait([waiting, child])
    print(f"main: parent-2 cancelled={waiting.cancelled()}, child-2 cancelled={child.cancelled()}")

    print("3) shield the child, cancel the parent")
    child = asyncio.create_task(worker("child-3", 2), name="child-3")
    waiting = asyncio.create_task(parent(child, shielded=True), name="parent-3")
    await asyncio.sleep(pause)
    waiting.cancel()
    await asyncio.wait([waiting])
    print(f"main: parent-3 cancelled={waiting.cancelled()}; child-3 still running")
    print(f"main: {await child}")


if __name__ == "__main__":
    asyncio.run(main())
