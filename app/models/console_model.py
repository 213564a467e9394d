"""Bounded console lines tagged with the task that printed them.

A flood of prints must not grow memory or stall painting: the model keeps the
newest ``capacity`` lines and counts how many it dropped; the console widget
appends only lines newer than the ones it has shown.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from coroscope.loop.events import FoldsByKind, LoopBlocked, Output, SessionEvent, TaskEnded


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    seq: int
    t: float
    task: int | None
    text: str
    kind: str  # stdout | stderr | loop | error | warning | session


class ConsoleModel(FoldsByKind):
    def __init__(self, capacity: int = 5000) -> None:
        self._lines: deque[ConsoleLine] = deque(maxlen=capacity)
        self._seq = 0
        self.dropped = 0
        # A failed task's traceback, shown for a demo; a script in its own process
        # prints what Python prints, and the console shows that, unchanged.
        self.task_tracebacks = True

    @property
    def capacity(self) -> int:
        return self._lines.maxlen or 0

    def add(self, t: float, task: int | None, text: str, kind: str) -> None:
        if len(self._lines) == self._lines.maxlen:
            self.dropped += 1
        self._seq += 1
        self._lines.append(ConsoleLine(self._seq, t, task, text, kind))

    def _output(self, event: Output) -> None:
        self.add(event.t, event.task, event.text, event.stream)

    def _ended(self, event: TaskEnded) -> None:
        if event.state == "failed" and event.traceback and self.task_tracebacks:
            for line in event.traceback.rstrip().splitlines():
                self.add(event.t, event.task, line, "error")

    def _blocked(self, event: LoopBlocked) -> None:
        where = f" at {_short(event.file)}:{event.line}" if event.line else ""
        self.add(
            event.t,
            event.task,
            f"⚠ {event.what} held the loop for {event.wall * 1000:.0f} ms{where}",
            "warning",
        )

    def _session(self, event: SessionEvent) -> None:
        self.add(event.t, None, event.text, "session" if event.kind != "error" else "error")

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {
        Output: _output,
        TaskEnded: _ended,
        LoopBlocked: _blocked,
        SessionEvent: _session,
    }

    @property
    def last_seq(self) -> int:
        return self._seq

    def since(self, seq: int) -> list[ConsoleLine]:
        """Lines newer than ``seq`` still held (older ones may have been dropped)."""
        if not self._lines or self._lines[-1].seq <= seq:
            return []
        first = self._lines[0].seq
        skip = max(0, seq - first + 1)
        return list(self._lines)[skip:]

    def lines(self) -> list[ConsoleLine]:
        return list(self._lines)

    def texts(self) -> list[str]:
        return [line.text for line in self._lines]

    def clear(self) -> None:
        self._lines.clear()
        self.dropped = 0


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1]
