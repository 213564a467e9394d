"""Closing a traced loop so that nothing is left pending and nothing complains.

The order matters: stop the run (its tasks, timers and outside work), cancel
whatever else is still pending and let it unwind, close async generators, and
only then close the loop. Skipping a step prints "Task was destroyed but it is
pending" or "Event loop is closed" at exit. The app and the headless commands
both end this way.
"""

from __future__ import annotations

import asyncio


def close_loop(loop, controller, leftover_grace: float = 2.0) -> None:
    try:
        if not loop.is_closed() and not loop.is_running():
            if loop.clock.paused:
                loop.resume()  # cancelled tasks need a running clock to unwind
            loop.run_until_complete(controller.stop())
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.wait(leftovers, timeout=leftover_grace))
            loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        controller.close()
        if not loop.is_running():
            loop.close()
        asyncio.set_event_loop(None)
