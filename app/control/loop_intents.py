"""What each intent does to a traced loop, wherever that loop runs.

The window's controller applies these to its own loop; a script's agent applies
the same ones to the script's loop in the child process, when the window asks
over the wire. Each raises ``IntentError`` with a sentence for the user when it
cannot apply. Call them on the loop's own thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from coroscope.control.cycles import cancel_tasks
from coroscope.loop.introspect import describe_callback
from coroscope.loop.scheduler import SLEEP_CALLBACK


class IntentError(Exception):
    """An intent that cannot be carried out; the message is shown to the user."""


def live_task(loop: Any, task_id: int, name: str | None = None) -> asyncio.Task:
    task = loop.tracer.task_by_id(task_id)
    if task is None or task.done():
        raise IntentError(f"{name or f'task #{task_id}'} has already finished")
    return task


def cancel(loop: Any, task_id: int, name: str | None = None) -> None:
    # Not task.cancel(): in a cycle of tasks awaiting each other it recurses.
    cancel_tasks([live_task(loop, task_id, name)])
    loop._wake()


def _sleep_entry(loop: Any, task_id: int, name: str | None):
    task = live_task(loop, task_id, name)
    entry = loop.scheduler.sleep_timer(task._fut_waiter)  # type: ignore[attr-defined]
    if entry is None:
        shown = name or loop.tracer.info(task).name
        raise IntentError(f"{shown} is not sleeping on a timer right now")
    return entry


def set_remaining(loop: Any, task_id: int, seconds: float, name: str | None = None) -> None:
    """Move the task's sleep timer so it fires ``seconds`` of loop time from now."""
    if not seconds >= 0:
        raise IntentError("remaining time must be zero or more seconds")
    entry = _sleep_entry(loop, task_id, name)
    loop.scheduler.move_timer(entry, loop.clock.now() + seconds)
    loop._wake()


def delay(loop: Any, task_id: int, seconds: float, name: str | None = None) -> None:
    entry = _sleep_entry(loop, task_id, name)
    loop.scheduler.move_timer(entry, entry.when + seconds)
    loop._wake()


def _live_timer(loop: Any, timer_id: int):
    entry = loop.scheduler.timer(timer_id)
    if entry is None or entry.handle.cancelled():
        raise IntentError("that timer has already fired or been cancelled")
    return entry


def cancel_timer(loop: Any, timer_id: int) -> None:
    """Cancel a scheduled TimerHandle so its callback never runs.

    A sleep's timer is different: cancelling only the handle would leave the
    sleeping task waiting forever, so its sleep is cancelled instead and the
    task gets ``CancelledError`` at its ``await`` (asyncio then drops the handle).
    """
    entry = _live_timer(loop, timer_id)
    if entry.sleep_future is not None and not entry.sleep_future.done():
        entry.sleep_future.cancel()
    else:
        entry.handle.cancel()
    loop._wake()


def move_timer(loop: Any, timer_id: int, when: float) -> None:
    """Reschedule the real TimerHandle to fire at loop time ``when`` (never in the past)."""
    if not when == when:  # NaN
        raise IntentError("a timer's due time must be a number of seconds")
    entry = _live_timer(loop, timer_id)
    try:
        loop.scheduler.move_timer(entry, max(when, loop.clock.now()))
    except ValueError as exc:
        raise IntentError(f"that timer cannot move: {exc}") from exc
    loop._wake()


def step(loop: Any) -> tuple[str, str]:
    """Run exactly one thing (the loop paused); what happened ("ran", "timer",
    "idle") and, for a plain callback, what it did in words."""
    upcoming = [h for h in loop.scheduler.ready_handles(5) if not h.cancelled()][:1]
    # Said before it runs: running it changes what it would name.
    said = what_runs(loop.tracer, upcoming[0]) if upcoming else ""
    result = loop.step()
    return result, said if result == "ran" else ""


def what_runs(tracer: Any, handle: asyncio.Handle) -> str:
    """What a Step that runs a plain callback does, in words (a task's step says
    itself through its events; a callback otherwise changes nothing visible)."""
    callback = handle._callback  # type: ignore[attr-defined]
    if isinstance(getattr(callback, "__self__", None), asyncio.Task):
        return ""
    if getattr(callback, "__module__", "").startswith("coroscope."):
        return ""  # the app's own bookkeeping, not the program's
    args = handle._args or ()
    if callback is SLEEP_CALLBACK:
        callbacks = getattr(args[0], "_callbacks", None) or ()
        woken = [name for cb, _context in callbacks if (name := _name_of(tracer, cb))]
        if woken:
            return f"step ran the timer's callback: {woken[0]}'s sleep is over; its step is next"
        return "step ran a sleep's timer callback (nobody waits on that sleep any more)"
    what = describe_callback(callback)
    if "gather" in what and args and (child := _name_of(tracer, args[0], method=False)):
        return f"step ran gather()'s callback: it takes note that {child} finished"
    return f"step ran the callback {what}"


def _name_of(tracer: Any, thing: object, method: bool = True) -> str:
    """The name of the task ``thing`` is (or, with ``method``, is a method of)."""
    task = getattr(thing, "__self__", None) if method else thing
    if not isinstance(task, asyncio.Task):
        return ""
    info = tracer.info(task)  # (a task that ended is no longer known there)
    return info.name if info is not None else task.get_name()
