"""What every task is doing, folded from events; the task lanes render this.

Plain Python with no Qt: widgets read ``rows()`` on their frame tick and use
``version`` to skip repaints when nothing changed.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from coroscope.loop.events import (
    FoldsByKind,
    Frame,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
    TimerCancelled,
    TimerFired,
    TimerMoved,
    TimerScheduled,
)
from coroscope.loop.introspect import is_library_file, user_frame
from coroscope.loop.states import LIVE_STATES, TaskState

_DEFAULT_NAME = re.compile(r"Task-\d+")


def _shown_name(event: TaskCreated) -> str:
    """A lane's name: the task's own, except that a task asyncio made for itself
    (a subprocess transport's ``_connect_pipes``, say) and left as "Task-7" is
    named by its coroutine, so its lane says what it is."""
    library = bool(event.frames) and is_library_file(event.frames[0][0])
    if library and _DEFAULT_NAME.fullmatch(event.name):
        return f"asyncio {event.coro.rsplit('.', 1)[-1]}"
    return event.name


STATE_LABELS: dict[TaskState, str] = {
    "ready": "ready",
    "running": "running",
    "sleep": "sleeping",
    "task": "awaits task",
    "future": "awaits future",
    "done": "done",
    "cancelled": "cancelled",
    "failed": "failed",
}


@dataclass(slots=True)
class TaskRow:
    id: int
    name: str
    parent: int | None
    coro: str
    created: float
    state: TaskState = "ready"
    awaiting: str = ""
    due: float | None = None
    wait_started: float | None = None
    frames: tuple[Frame, ...] = ()
    resumes: int = 0
    finished: float | None = None
    result: str | None = None
    exception: str | None = None
    traceback: str | None = None
    colour: int = 0
    targets: tuple[int, ...] = ()  # tasks this one is waiting for

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def line(self) -> Frame | None:
        """The user-code line the task is parked on (or starts at)."""
        return user_frame(self.frames)

    def remaining(self, now: float) -> float | None:
        if self.state != "sleep" or self.due is None:
            return None
        return max(0.0, self.due - now)

    def sleep_fraction(self, now: float) -> float | None:
        """Share of the current sleep still to go, 1.0 at its start and 0.0 when due."""
        if self.state != "sleep" or self.due is None or self.wait_started is None:
            return None
        total = self.due - self.wait_started
        if total <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.due - now) / total))

    @property
    def outcome(self) -> str:
        if self.state == "done":
            return f"returned {self.result}"
        if self.state in ("cancelled", "failed"):
            return self.exception or self.state
        return ""


class TaskModel(FoldsByKind):
    def __init__(
        self, colours: int = 10, keep_finished: int = 5000, runs_only: bool = False
    ) -> None:
        self._rows: dict[int, TaskRow] = {}
        # The app's own helper tasks (stop, restart) belong to no run; the GUI
        # hides them so the lanes show only what the demo or script started.
        self._runs_only = runs_only
        # Finished rows beyond this many are dropped, oldest first, so a long run
        # that churns short tasks keeps a bounded model.
        self._keep_finished = keep_finished
        self._finished: deque[int] = deque()
        self._sleeps: dict[int, int] = {}  # a sleep's timer id -> its task
        self.folded = 0  # finished rows dropped so far, which the window says
        # The run's first task (its main) is never dropped: its outcome is the run's.
        self._main: int | None = None
        self._colours = colours
        self.version = 0  # any change
        # Only tasks arriving or ending (or the model clearing): what the counts of
        # live and finished tasks depend on, which steps alone leave as they were.
        self.roster = 0

    def _step(self, event: TaskStep) -> None:  # most events
        row = self._rows.get(event.task)
        if row is None:
            return
        row.resumes += 1
        if event.waiting == "done":
            return  # TaskEnded follows with the outcome
        row.state = event.waiting
        row.awaiting = event.awaiting
        row.due = event.due
        row.wait_started = event.t
        row.frames = event.frames
        row.targets = event.targets
        self.version += 1

    def _created(self, event: TaskCreated) -> None:
        if self._runs_only and event.run is None:
            return
        row = TaskRow(
            event.task,
            _shown_name(event),
            event.parent,
            event.coro,
            event.t,
            frames=event.frames,
            colour=len(self._rows) % self._colours,
        )
        self._rows[event.task] = row
        if self._main is None and event.parent is None:
            self._main = event.task
        self.roster += 1
        self.version += 1

    def _ended(self, event: TaskEnded) -> None:
        row = self._rows.get(event.task)
        if row is not None:
            row.state = event.state
            row.finished = event.t
            row.result = event.result
            row.exception = event.exception
            row.traceback = event.traceback
            row.due = None
            row.targets = ()
            self.roster += 1
            if event.task != self._main:
                self._finished.append(event.task)
                if len(self._finished) > self._keep_finished:
                    self._drop(self._finished.popleft())
                    self.folded += 1
        self.version += 1

    def _renamed(self, event: TaskRenamed) -> None:
        row = self._rows.get(event.task)
        if row is not None:
            row.name = event.name
        self.version += 1

    def _timer_scheduled(self, event: TimerScheduled) -> None:
        if event.sleeper is not None and event.sleeper in self._rows:
            self._sleeps[event.timer] = event.sleeper

    def _timer_fired(self, event: TimerFired) -> None:
        # A sleeper's timer fired: its task is ready, queued to run, until its step
        # (the next event in a batch; a state of its own while stepping by hand).
        row = self._rows.get(self._sleeps.pop(event.timer, -1))
        if row is not None and row.state == "sleep":
            row.state = "ready"
            self.version += 1

    def _timer_cancelled(self, event: TimerCancelled) -> None:
        self._sleeps.pop(event.timer, None)

    def _timer_moved(self, event: TimerMoved) -> None:
        row = self._rows.get(event.sleeper) if event.sleeper is not None else None
        if row is None or row.state != "sleep":
            return
        row.due = event.when
        self.version += 1

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {
        TaskCreated: _created,
        TaskStep: _step,
        TaskEnded: _ended,
        TaskRenamed: _renamed,
        TimerMoved: _timer_moved,
        TimerScheduled: _timer_scheduled,
        TimerFired: _timer_fired,
        TimerCancelled: _timer_cancelled,
    }

    def _drop(self, task_id: int) -> None:
        self._rows.pop(task_id, None)

    def set_running(self, task_id: int | None) -> None:
        """Mark the task whose step is executing right now (seen when paused mid-step)."""
        for row in self._rows.values():
            if row.state == "running":
                row.state = "ready"
        if task_id is not None and task_id in self._rows:
            self._rows[task_id].state = "running"
        self.version += 1

    def get(self, task_id: int) -> TaskRow | None:
        return self._rows.get(task_id)

    def rows(self) -> list[TaskRow]:
        return list(self._rows.values())

    def live_rows(self) -> list[TaskRow]:
        return [r for r in self._rows.values() if r.live]

    def by_name(self, name: str) -> TaskRow | None:
        for row in self._rows.values():
            if row.name == name:
                return row
        return None

    def clear(self) -> None:
        self._rows.clear()
        self._finished.clear()
        self._sleeps.clear()
        self.folded = 0
        self._main = None
        self.version += 1
        self.roster += 1

    def __len__(self) -> int:
        return len(self._rows)
