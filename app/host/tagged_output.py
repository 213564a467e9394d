"""print() in a script's process, told to the window tagged with the task that printed.

In the window, the console shows which task printed each line. The agent puts
a ``TaggedStream`` in place of ``sys.stdout`` and ``sys.stderr``: text written
through it becomes ``Output`` events of the loop running in the writing thread,
with its current task (as a demo's print() does in the window). What bypasses
it (``sys.stdout.buffer``, C code, a child process writing to the same file
descriptor) still reaches the window through the process's own pipes, untagged.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any, TextIO

from coroscope.control.output import TaskStream


class TaggedStream(io.TextIOBase):
    def __init__(
        self,
        stream: str,
        real: TextIO,
        loop_of_thread: Callable[[], Any],
        untagged: Callable[[str, str], None],
    ) -> None:
        super().__init__()
        self._stream = stream
        self._real = real
        self._loop_of_thread = loop_of_thread
        self._untagged = untagged  # (line, stream) for writes from outside any loop
        self._per_loop: dict[int, TaskStream] = {}
        self._partial = ""

    # What code may ask of sys.stdout besides write().
    @property
    def encoding(self) -> str:  # type: ignore[override]  # typeshed: writable; io: read-only
        return self._real.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._real.errors

    @property
    def buffer(self) -> Any:
        return self._real.buffer

    def fileno(self) -> int:
        return self._real.fileno()

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        loop = self._loop_of_thread()
        if loop is None:
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                self._untagged(line, self._stream)
            return len(text)
        key = id(loop)
        tagged = self._per_loop.get(key)
        if tagged is None:
            tagged = self._per_loop[key] = TaskStream(
                loop.events, loop.clock, loop.scheduler, self._stream
            )
        return tagged.write(text)

    def flush(self) -> None:
        for tagged in list(self._per_loop.values()):
            tagged.flush()
        if self._partial:
            line, self._partial = self._partial, ""
            self._untagged(line, self._stream)


def running_agent_loop(kind: type) -> Callable[[], Any]:
    """A function giving the loop of ``kind`` running in the calling thread, or None."""

    def loop_of_thread() -> Any:
        loop = asyncio._get_running_loop()
        return loop if isinstance(loop, kind) else None

    return loop_of_thread
