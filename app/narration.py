"""A plain-language line for each thing the loop does, for a teacher to read out.

"task1 awaits sleep(4): parked until t=4.0", "timer fired: task1 is ready",
"task2 was cancelled (CancelledError)". One line per event that matters; the
list is bounded, and Step moves it by exactly one line or two.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from app.events import (
    ClockChanged,
    Event,
    LoopBlocked,
    SessionEvent,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
    TimerFired,
    TimerMoved,
    TimerScheduled,
)
from app.introspect import user_frame


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    t: float
    text: str
    kind: str  # "task" | "timer" | "end" | "clock" | "warning" | "session"
    task: int | None = None


def _where(frames) -> str:
    frame = user_frame(frames) if frames else None
    return f" at {frame[0].rsplit('/', 1)[-1]}:{frame[1]}" if frame else ""


class Narrator:
    def __init__(self, capacity: int = 2000, runs_only: bool = True) -> None:
        self._lines: deque[Line] = deque(maxlen=capacity)
        self._names: dict[int, str] = {}
        self._sleepers: dict[int, int] = {}  # timer id -> task id
        self._callbacks: dict[int, str] = {}  # timer id -> callback label
        self._runs_only = runs_only
        self._seq = 0
        self.version = 0

    def _say(self, t: float, text: str, kind: str, task: int | None = None) -> None:
        self._seq += 1
        self._lines.append(Line(self._seq, t, text, kind, task))
        self.version += 1

    def apply(self, event: Event) -> None:
        kind = type(event)
        if kind is TaskStep:
            self._step(event)
        elif kind is TaskCreated:
            if self._runs_only and event.run is None:
                return
            self._names[event.task] = event.name
            parent = self._names.get(event.parent) if event.parent is not None else None
            creator = parent or "the loop"
            self._say(
                event.t,
                f"{creator} created {event.name} ({event.coro}): ready to start",
                "task",
                event.task,
            )
        elif kind is TaskEnded:
            name = self._names.pop(event.task, None)
            if name is None:
                return
            if event.state == "done":
                text = f"{name} finished and returned {event.result}"
            elif event.state == "cancelled":
                text = f"{name} was cancelled (CancelledError)"
            else:
                text = f"{name} failed: {event.exception}"
            self._say(event.t, text, "end", event.task)
        elif kind is TaskRenamed:
            if event.task in self._names:
                self._names[event.task] = event.name
        elif kind is TimerScheduled:
            if event.sleeper is not None and event.sleeper in self._names:
                self._sleepers[event.timer] = event.sleeper
            elif event.task in self._names:
                self._callbacks[event.timer] = event.callback
                self._say(
                    event.t,
                    f"{self._names[event.task]} scheduled {event.callback} for t={event.when:.2f}",
                    "timer",
                )
        elif kind is TimerFired:
            sleeper = self._sleepers.pop(event.timer, None)
            if sleeper is not None and sleeper in self._names:
                self._say(
                    event.t, f"timer fired: {self._names[sleeper]} is ready", "timer", sleeper
                )
            elif event.timer in self._callbacks:
                self._say(
                    event.t, f"timer fired: {self._callbacks.pop(event.timer)} runs next", "timer"
                )
        elif kind is TimerMoved:
            sleeper = self._sleepers.get(event.timer)
            if sleeper is not None and sleeper in self._names:
                self._say(
                    event.t,
                    f"{self._names[sleeper]}'s timer moved: now due at t={event.when:.2f}",
                    "timer",
                    sleeper,
                )
        elif kind is LoopBlocked:
            where = f" at {event.file.rsplit('/', 1)[-1]}:{event.line}" if event.line else ""
            self._say(
                event.t,
                f"⚠ {event.what} held the loop for {event.wall * 1000:.0f} ms{where}",
                "warning",
                event.task,
            )
        elif kind is ClockChanged:
            text = (
                f"loop paused at t={event.t:.2f}"
                if event.paused
                else f"loop running at {event.speed:g}x speed"
            )
            self._say(event.t, text, "clock")
        elif kind is SessionEvent:
            self._say(event.t, event.text, "session")

    def _step(self, event: TaskStep) -> None:
        name = self._names.get(event.task)
        if name is None or event.waiting == "done":
            return
        where = _where(event.frames)
        if event.waiting == "sleep" and event.due is not None:
            text = f"{name} awaits {event.awaiting}{where}: parked until t={event.due:.2f}"
        elif event.waiting == "ready":
            text = f"{name} yielded to the loop{where}: ready to run again"
        elif event.waiting == "task":
            text = f"{name} awaits task {event.awaiting}{where}"
        else:
            targets = [self._names[t] for t in event.targets if t in self._names]
            on = f" on {', '.join(targets)}" if targets else ""
            text = f"{name} awaits {event.awaiting}{on}{where}"
        self._say(event.t, text, "task", event.task)

    def lines(self) -> list[Line]:
        return list(self._lines)

    def texts(self) -> list[str]:
        return [line.text for line in self._lines]

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        self._lines.clear()
        self._names.clear()
        self._sleepers.clear()
        self._callbacks.clear()
        self.version += 1
