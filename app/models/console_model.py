"""Bounded console lines tagged with the task that printed them.

A flood of prints must not grow memory or stall painting: the model keeps the
newest ``capacity`` lines and counts how many it dropped; the console widget
appends only lines newer than the ones it has shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from coroscope.loop.events import Event, LoopBlocked, Output, SessionEvent, TaskEnded

EVENTS = (Output, TaskEnded, LoopBlocked, SessionEvent)


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    seq: int
    t: float
    task: int | None
    text: str
    kind: str  # stdout | stderr | loop | error | warning | session


class ConsoleModel:
    def __init__(self, capacity: int = 5000) -> None:
        self._lines: deque[ConsoleLine] = deque(maxlen=capacity)
        self._seq = 0
        self.dropped = 0

    @property
    def capacity(self) -> int:
        return self._lines.maxlen or 0

    def add(self, t: float, task: int | None, text: str, kind: str) -> None:
        if len(self._lines) == self._lines.maxlen:
            self.dropped += 1
        self._seq += 1
        self._lines.append(ConsoleLine(self._seq, t, task, text, kind))

    def apply(self, event: Event) -> None:
        kind = type(event)
        if kind is Output:
            self.add(event.t, event.task, event.text, event.stream)
        elif kind is TaskEnded and event.state == "failed" and event.traceback:
            for line in event.traceback.rstrip().splitlines():
                self.add(event.t, event.task, line, "error")
        elif kind is LoopBlocked:
            where = f" at {_short(event.file)}:{event.line}" if event.line else ""
            self.add(
                event.t,
                event.task,
                f"⚠ {event.what} held the loop for {event.wall * 1000:.0f} ms{where}",
                "warning",
            )
        elif kind is SessionEvent:
            self.add(event.t, None, event.text, "session" if event.kind != "error" else "error")

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
