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

from coroscope.control import loop_intents
from coroscope.control.loop_intents import IntentError
from coroscope.control.output import TaskStream
from coroscope.control.run import ExternalRun, RerunError, Run, Target
from coroscope.loop.events import ClockChanged, Output, SessionEvent
from coroscope.models.run_models import RunModels
from coroscope.models.task_model import TaskRow

__all__ = ["Controller", "IntentError"]


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
        self.run: Run | ExternalRun | None = None
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
        if isinstance(self.run, Run):
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

    def start(self, target: Target) -> Run | ExternalRun:
        """Start ``target``; the caller must have stopped any previous run."""
        if self.running:
            raise IntentError("Stop the current run before starting another")
        self.target = target
        self.console.task_tracebacks = target.external is None
        if target.external is not None:
            return self._start_external(target)
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

    def _start_external(self, target: Target) -> ExternalRun:
        assert target.external is not None
        self.clock.origin = self.clock.now()
        run = self.run = target.external(Run.next_id())
        run.on_end.append(lambda: self._changed("run"))
        try:
            run.start()
        except Exception as exc:  # the child could not start: no such interpreter, say
            run.stopped = True
            self._note("error", f"Could not start {target.title}: {exc}")
            raise IntentError(f"Could not start {target.title}: {exc}") from exc
        self._changed("run")
        return run

    def _external(self) -> ExternalRun | None:
        run = self.run
        return run if isinstance(run, ExternalRun) and not run.over else None

    def _main_over(self, main: asyncio.Task) -> None:
        """The program is over once its main task is: a failed task whose exception
        nobody asked for by now never will be (Python would say so only when it
        happens to collect the task)."""
        run = self.run
        if run is None or run.main is not main:
            return
        if not main.cancelled():
            main.exception()  # main's own ending is the runner's to report, as asyncio.run's
        self.tracer.program_over(run.id)

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

    async def restart(self) -> Run | ExternalRun | None:
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
    # Checked here against what the lanes show, then carried out on the loop the
    # task lives on: this one, or a script's in its own process.
    def _live_row(self, task_id: int) -> TaskRow:
        row = self.tasks.get(task_id)
        if row is None or not row.live:
            name = row.name if row else f"task #{task_id}"
            raise IntentError(f"{name} has already finished")
        return row

    def cancel(self, task_id: int) -> None:
        row = self._live_row(task_id)
        if (external := self._external()) is not None:
            external.ask("cancel", task_id, row.name)
            return
        loop_intents.cancel(self.loop, task_id, row.name)

    def set_remaining(self, task_id: int, seconds: float) -> None:
        """Move the task's sleep timer so it fires ``seconds`` of loop time from now."""
        if not seconds >= 0:
            raise IntentError("remaining time must be zero or more seconds")
        row = self._live_row(task_id)
        if (external := self._external()) is not None:
            external.ask("set_remaining", task_id, seconds, row.name)
            return
        loop_intents.set_remaining(self.loop, task_id, seconds, row.name)

    def wake(self, task_id: int) -> None:
        self.set_remaining(task_id, 0.0)

    def delay(self, task_id: int, seconds: float = 1.0) -> None:
        row = self._live_row(task_id)
        if (external := self._external()) is not None:
            external.ask("delay", task_id, seconds, row.name)
            return
        loop_intents.delay(self.loop, task_id, seconds, row.name)

    def rerun(self, task_id: int) -> asyncio.Task | None:
        row = self.tasks.get(task_id)
        if row is None:
            raise IntentError("that task is no longer known")
        if row.live:
            raise IntentError(f"{row.name} is still running; cancel it first")
        if self.run is None:
            raise IntentError("nothing is running")
        if self.run.stopped:
            raise IntentError("the run was stopped; press Restart to run it again")
        if (external := self._external()) is not None:
            external.ask("rerun", task_id, row.name)
            return None
        if isinstance(self.run, ExternalRun):
            raise IntentError("the script has ended; press Restart to run it again")
        try:
            task = self.run.rerun(task_id, row.name)
        except RerunError as exc:
            raise IntentError(str(exc)) from exc
        self.loop._wake()
        return task

    # -- timer intents ------------------------------------------------------------
    def cancel_timer(self, timer_id: int) -> None:
        """Cancel a timer so its callback never runs (a sleep's: the sleep is cancelled)."""
        if (external := self._external()) is not None:
            external.ask("cancel_timer", timer_id)
            return
        loop_intents.cancel_timer(self.loop, timer_id)

    def move_timer(self, timer_id: int, when: float) -> None:
        """Reschedule the real TimerHandle to fire at loop time ``when`` (never in the past)."""
        if not when == when:  # NaN
            raise IntentError("a timer's due time must be a number of seconds")
        if (external := self._external()) is not None:
            external.ask("move_timer", timer_id, when)
            return
        loop_intents.move_timer(self.loop, timer_id, when)

    # -- clock intents ----------------------------------------------------------
    def _clock_changed(self) -> None:
        if (external := self._external()) is not None:
            external.clock_changed(self.clock.state())  # the script's loop keeps the same time
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
        if (external := self._external()) is not None:
            external.ask("step")  # what it ran comes back as the script's own events
            return "asked"
        result, said = loop_intents.step(self.loop)
        if said:
            self._note("note", said)
        return result

    def set_speed(self, speed: float) -> None:
        try:
            self.loop.set_speed(speed)
        except ValueError as exc:
            raise IntentError(str(exc)) from exc
        self._clock_changed()

    def close(self) -> None:
        if isinstance(self.run, ExternalRun):
            self.run.close()
        self.release_output()
        self.models.close()
