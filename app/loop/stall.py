"""Noticing that a run can never make progress again: a deadlock, as the loop sees it.

A run is stalled when its tasks are waiting and nothing could ever wake them: no
callback is ready, the run has no timer set, the loop watches no socket or pipe
(beyond its own self-pipe), no executor job or child process is busy, no signal
handler is installed (a signal could still come), and no thread other than the
loop's and the thread pools' idle workers is alive (it might call
``call_soon_threadsafe``). Each test errs towards "could still progress": a
finding that is wrong would teach the wrong thing, a missed one only stays silent.

``StallWatch.check`` is cheap when something is pending (it stops at the first
sign of life), so the loop asks it whenever it is about to wait.
"""

from __future__ import annotations

import threading
from concurrent.futures import thread as pool_threads
from typing import TYPE_CHECKING, Any

from coroscope.loop.events import LoopStalled

if TYPE_CHECKING:
    from coroscope.loop.traced_loop import TracingMixin

# Threads Coroscope itself runs (the blocking watchdog, say) never wake a run.
_OWN_THREAD_PREFIX = "coroscope-"


def _pool_is_idle(worker: threading.Thread) -> bool:
    """True if ``worker`` is an idle thread of a ThreadPoolExecutor with no queued work."""
    try:
        pool = worker._args[0]()  # type: ignore[attr-defined]  # the worker's weakref to its pool
        if pool is None:
            return True
        idle = pool._idle_semaphore._value
        return pool._work_queue.empty() and idle >= len(pool._threads)
    except (AttributeError, IndexError, TypeError):
        return False  # not a shape we know: it might still be working


def threads_could_wake() -> bool:
    """Whether any thread other than this one might still hand the loop work."""
    here = threading.current_thread()
    pool_workers = set(pool_threads._threads_queues)
    for thread in threading.enumerate():
        if thread is here or thread.name.startswith(_OWN_THREAD_PREFIX):
            continue
        if thread in pool_workers and _pool_is_idle(thread):
            continue
        return True
    return False


class StallWatch:
    def __init__(self, loop: TracingMixin) -> None:
        self._loop = loop
        self._reported: tuple[int, ...] = ()

    def _could_progress(self) -> bool:
        loop: Any = self._loop
        scheduler = loop.scheduler
        if scheduler.ready_count:
            return True
        for entry in scheduler._entries.values():
            if entry.run is not None and not entry.handle._cancelled:
                return True
        return loop._woken_from_outside()

    def stalled_tasks(self) -> tuple[int, tuple[int, ...]] | None:
        """(run, ids of its waiting tasks) if a run is stalled, else None."""
        if self._could_progress():
            return None
        runs: dict[int, list[int]] = {}
        for task, info in self._loop.tracer.live_tasks().items():
            if info.run is not None and not task.done():
                runs.setdefault(info.run, []).append(info.id)
        if not runs:
            return None
        run = max(runs)  # the newest run: in the window, the one on screen
        return run, tuple(sorted(runs[run]))

    def check(self) -> LoopStalled | None:
        found = self.stalled_tasks()
        if found is None:
            self._reported = ()
            return None
        run, tasks = found
        if tasks == self._reported:
            return None
        self._reported = tasks
        event = LoopStalled(self._loop.clock.now(), run, tasks)
        self._loop.events.emit(event)
        return event
