"""print() from tasks becomes ``Output`` events tagged with the task that printed.

The stream buffers per task until a newline, so ``print("a", "b")`` (several
writes) arrives as one line, and interleaved tasks never mix halves of lines.
"""

from __future__ import annotations

import io
from typing import TextIO

from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import EventLog, Output
from coroscope.loop.scheduler import Scheduler

# One print of a huge string is split so the console never receives a single
# megabyte line.
_MAX_LINE = 4000


class TaskStream(io.TextIOBase):
    def __init__(
        self,
        log: EventLog,
        clock: VirtualClock,
        scheduler: Scheduler,
        stream: str = "stdout",
        echo: TextIO | None = None,
    ) -> None:
        super().__init__()
        self._log = log
        self._clock = clock
        self._scheduler = scheduler
        self._stream = stream
        self._echo = echo
        self._partial: dict[int | None, str] = {}

    @property
    def encoding(self) -> str:  # type: ignore[override]  # typeshed: writable; io: read-only
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._echo is not None:
            self._echo.write(text)
        task = self._scheduler.current_task_id
        buffered = self._partial.pop(task, "") + text
        *lines, rest = buffered.split("\n")
        for line in lines:
            self._emit(task, line)
        if len(rest) > _MAX_LINE:
            self._emit(task, rest)
            rest = ""
        if rest:
            self._partial[task] = rest
        return len(text)

    def _emit(self, task: int | None, line: str) -> None:
        now = self._clock.now()
        for start in range(0, max(1, len(line)), _MAX_LINE):
            self._log.emit(Output(now, task, line[start : start + _MAX_LINE], self._stream))

    def flush(self) -> None:
        if self._echo is not None:
            self._echo.flush()
        partial, self._partial = self._partial, {}
        for task, rest in partial.items():
            self._emit(task, rest)
