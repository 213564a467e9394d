"""The one place user intents reach the loop.

Widgets never touch the loop: they call these methods (cancel, wake, delay,
set remaining time, run again, pause, step, speed, run/stop/restart), which
change the real loop state, and the models then see the consequences as events.
Every intent that cannot apply raises ``IntentError`` with a sentence for the user.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Callable
from typing import TextIO

from coroscope.control.cycles import cancel_tasks
from coroscope.control.output import TaskStream
from coroscope.control.run import RerunError, Run, Target
from coroscope.loop.events import ClockChanged, Output, SessionEvent
from coroscope.loop.introspect import describe_callback
from coroscope.loop.scheduler import SLEEP_CALLBACK
from coroscope.models.run_models import RunModels
from coroscope.models.task_model import TaskRow


class IntentError(Exception):
    """An intent that cannot be carried out; the message is shown to the user."""


class Controller:
    def __init__(self, loop, capture_output: bool = True, echo_output: bool = False) -> None:
        self.loop = loop
        self.events = loop.events
        self.clock = loop.clock
        self.scheduler = loop.scheduler
        self.tracer = loop.tracer
        self.models = RunModels(loop.events, loop.clock.now)
        # The models views and tests reach most, by their short names.
        self.tasks = self.models.tasks
        self.console = self.models.console
        self.narration = self.models.narration
        self.timeline = self.models.timeline
        self.graph = self.models.graph
        self.run: Run | None = None
        self.target: Target | None = None
        self._stopping: asyncio.Task | None = None
        self._listeners: list[Callable[[str], None]] = []
        self.tracer.on_task_created = self._task_created
        loop.set_exception_handler(self._loop_exception)
        self._saved_streams: tuple[TextIO, TextIO] | None = None
        self._capture_output = capture_output
        self._echo_output = echo_output
        self._streams: tuple[TaskStream, TaskStream] | None = None

    # -- plumbing -------------------------------------------------------------
    def reset_models(self) -> None:
        """Forget the previous run's tasks before a new one starts."""
        self.models.clear()

    def _task_created(self, task: asyncio.Task, info) -> None:
        if self.run is not None:
            self.run.remember(task, info)

    def _capture(self) -> None:
        """Route print() to the console; (re)installed at each start, since
        other code (a test runner, a script) may have replaced sys.stdout since."""
        if self._streams is not None and (sys.stdout, sys.stderr) == self._streams:
            return
        if self._saved_streams is None:
            self._saved_streams = (sys.stdout, sys.stderr)
        echo = self._echo_output
        self._streams = (
            TaskStream(
                self.events, self.clock, self.scheduler, "stdout", sys.stdout if echo else None
            ),
            TaskStream(
                self.events, self.clock, self.scheduler, "stderr", sys.stderr if echo else None
            ),
        )
        sys.stdout, sys.stderr = self._streams

    def release_output(self) -> None:
        if self._saved_streams is not None:
            for stream in (sys.stdout, sys.stderr):
                if isinstance(stream, TaskStream):
                    stream.flush()
            sys.stdout, sys.stderr = self._saved_streams
            self._saved_streams = None
            self._streams = None

    def on_change(self, listener: Callable[[str], None]) -> None:
        """Listen for coarse state changes ("run", "clock") to refresh toolbars."""
        self._listeners.append(listener)

    def _changed(self, what: str) -> None:
        for listener in self._listeners:
            listener(what)

    def _note(self, kind: str, text: str) -> None:
        self.events.emit(SessionEvent(self.clock.now(), kind, text))

    def _loop_exception(self, loop, context: dict) -> None:
        message = context.get("message") or "Unhandled exception in event loop"
        exc = context.get("exception")
        text = message
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        task = self.scheduler.current_task_id
        for line in text.splitlines():
            self.events.emit(Output(self.clock.now(), task, line, "stderr"))

    # -- runs -----------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the current run still has unfinished tasks (also while stopping)."""
        return self.run is not None and bool(self.run.tasks())

    def start(self, target: Target) -> Run:
        """Start ``target``; the caller must have stopped any previous run."""
        if self.running:
            raise IntentError("Stop the current run before starting another")
        self.target = target
        if self._capture_output:
            self._capture()
        self.run = Run(self.loop, target)
        self.clock.origin = self.clock.now()  # what every view counts from
        try:
            self.run.start()
        except Exception as exc:  # a target that cannot even build its coroutine
            self.run.stopped = True
            self._note("error", f"Could not start {target.title}: {type(exc).__name__}: {exc}")
            raise IntentError(f"Could not start {target.title}: {exc}") from exc
        self._note("started", f"▶ {target.title} started")
        main = self.run.main
        if main is not None:
            main.add_done_callback(self._main_over)
        self._changed("run")
        return self.run

    def _main_over(self, main: asyncio.Task) -> None:
        """The program is over once its main task is: a failed task whose exception
        nobody asked for by now never will be (Python would say so only when it
        happens to collect the task)."""
        run = self.run
        if run is None or run.main is not main:
            return
        if not main.cancelled():
            main.exception()  # main's own ending is the runner's to report, as asyncio.run's
        for heard in self.tracer.unretrieved(run.id):
            self.events.emit(heard)
        left = self.tracer.left_running(run.id)
        if left is not None:
            self.events.emit(left)

    async def stop(self) -> list[str]:
        """Cancel everything the current run started and wait for it to unwind."""
        run = self.run
        if run is None or (run.stopped and not run.tasks()):
            return []
        if self.clock.paused:
            self.resume()  # cancelled tasks need the loop running to unwind
        self._note("stopping", "■ stopping…")
        stubborn = await run.stop()
        if stubborn:
            self._note("error", "These tasks ignored cancellation: " + ", ".join(stubborn))
        else:
            self._note("stopped", "■ stopped")
        self._changed("run")
        return stubborn

    async def restart(self) -> Run | None:
        target = self.target
        await self.stop()
        if target is None:
            return None
        self.reset_models()
        return self.start(target)

    def stop_soon(self) -> asyncio.Task:
        """Stop from a synchronous context (a button); returns the stopping task."""
        if self._stopping is None or self._stopping.done():
            self._stopping = self.loop.create_task(self.stop(), name="coroscope-stop")
        return self._stopping

    # -- task intents -----------------------------------------------------------
    def _live_task(self, task_id: int) -> tuple[asyncio.Task, TaskRow]:
        row = self.tasks.get(task_id)
        task = self.tracer.task_by_id(task_id)
        if row is None or task is None or task.done():
            name = row.name if row else f"task #{task_id}"
            raise IntentError(f"{name} has already finished")
        return task, row

    def cancel(self, task_id: int) -> None:
        task, _row = self._live_task(task_id)
        # Not task.cancel(): in a cycle of tasks awaiting each other it recurses.
        cancel_tasks([task])
        self.loop._wake()

    def _sleep_entry(self, task_id: int):
        task, row = self._live_task(task_id)
        entry = self.scheduler.sleep_timer(task._fut_waiter)  # type: ignore[attr-defined]
        if entry is None:
            raise IntentError(f"{row.name} is not sleeping on a timer right now")
        return entry

    def set_remaining(self, task_id: int, seconds: float) -> None:
        """Move the task's sleep timer so it fires ``seconds`` of loop time from now."""
        if not seconds >= 0:
            raise IntentError("remaining time must be zero or more seconds")
        entry = self._sleep_entry(task_id)
        self.scheduler.move_timer(entry, self.clock.now() + seconds)
        self.loop._wake()

    def wake(self, task_id: int) -> None:
        self.set_remaining(task_id, 0.0)

    def delay(self, task_id: int, seconds: float = 1.0) -> None:
        entry = self._sleep_entry(task_id)
        self.scheduler.move_timer(entry, entry.when + seconds)
        self.loop._wake()

    def rerun(self, task_id: int) -> asyncio.Task:
        row = self.tasks.get(task_id)
        if row is None:
            raise IntentError("that task is no longer known")
        if row.live:
            raise IntentError(f"{row.name} is still running; cancel it first")
        if self.run is None:
            raise IntentError("nothing is running")
        if self.run.stopped:
            raise IntentError("the run was stopped; press Restart to run it again")
        try:
            task = self.run.rerun(task_id, row.name)
        except RerunError as exc:
            raise IntentError(str(exc)) from exc
        self.loop._wake()
        return task

    # -- timer intents ------------------------------------------------------------
    def _live_timer(self, timer_id: int):
        entry = self.scheduler.timer(timer_id)
        if entry is None or entry.handle.cancelled():
            raise IntentError("that timer has already fired or been cancelled")
        return entry

    def cancel_timer(self, timer_id: int) -> None:
        """Cancel a scheduled TimerHandle so its callback never runs.

        A sleep's timer is different: cancelling only the handle would leave the
        sleeping task waiting forever, so its sleep is cancelled instead and the
        task gets ``CancelledError`` at its ``await`` (asyncio then drops the handle).
        """
        entry = self._live_timer(timer_id)
        if entry.sleep_future is not None and not entry.sleep_future.done():
            entry.sleep_future.cancel()
        else:
            entry.handle.cancel()
        self.loop._wake()

    def move_timer(self, timer_id: int, when: float) -> None:
        """Reschedule the real TimerHandle to fire at loop time ``when`` (never in the past)."""
        if not when == when:  # NaN
            raise IntentError("a timer's due time must be a number of seconds")
        entry = self._live_timer(timer_id)
        try:
            self.scheduler.move_timer(entry, max(when, self.clock.now()))
        except ValueError as exc:
            raise IntentError(f"that timer cannot move: {exc}") from exc
        self.loop._wake()

    # -- clock intents ----------------------------------------------------------
    def _clock_changed(self) -> None:
        self.events.emit(ClockChanged(self.clock.now(), self.clock.paused, self.clock.speed))
        self._changed("clock")

    def pause(self) -> None:
        self.loop.pause()
        self._clock_changed()

    def resume(self) -> None:
        self.loop.resume()
        self._clock_changed()

    def toggle_pause(self) -> None:
        if self.clock.paused:
            self.resume()
        else:
            self.pause()

    def step(self) -> str:
        if not self.clock.paused:
            self.pause()
        upcoming = [h for h in self.scheduler.ready_handles(5) if not h.cancelled()][:1]
        # Said before it runs: running it changes what it would name.
        said = self._what_ran(upcoming[0]) if upcoming else ""
        result = self.loop.step()
        if result == "ran" and said:
            self._note("note", said)
        return result

    def _what_ran(self, handle: asyncio.Handle) -> str:
        """What a Step that ran a plain callback did, in words (a task's step says
        itself through its events; a callback otherwise changes nothing visible)."""
        callback = handle._callback  # type: ignore[attr-defined]
        if isinstance(getattr(callback, "__self__", None), asyncio.Task):
            return ""
        if getattr(callback, "__module__", "").startswith("coroscope."):
            return ""  # the app's own bookkeeping, not the program's
        args = handle._args or ()
        if callback is SLEEP_CALLBACK:
            woken = [
                self._name_of(cb) for cb, _context in getattr(args[0], "_callbacks", None) or ()
            ]
            woken = [name for name in woken if name]
            if woken:
                return (
                    f"step ran the timer's callback: {woken[0]}'s sleep is over; its step is next"
                )
            return "step ran a sleep's timer callback (nobody waits on that sleep any more)"
        what = describe_callback(callback)
        if "gather" in what and args and (child := self._name_of(args[0], method=False)):
            return f"step ran gather()'s callback: it takes note that {child} finished"
        return f"step ran the callback {what}"

    def _name_of(self, thing: object, method: bool = True) -> str:
        """The name of the task ``thing`` is (or, with ``method``, is a method of)."""
        task = getattr(thing, "__self__", None) if method else thing
        if not isinstance(task, asyncio.Task):
            return ""
        info = self.tracer.info(task)  # (a task that ended is no longer known there)
        return info.name if info is not None else task.get_name()

    def set_speed(self, speed: float) -> None:
        try:
            self.loop.set_speed(speed)
        except ValueError as exc:
            raise IntentError(str(exc)) from exc
        self._clock_changed()

    def close(self) -> None:
        self.release_output()
        self.models.close()
