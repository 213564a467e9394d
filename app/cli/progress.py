"""A one-line progress bar on stderr for headless renders.

On a terminal the line redraws in place (at most ten times a second); when
stderr is a pipe or a file nothing is drawn, so logs get only the final summary.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_REDRAW = 0.1


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled if enabled is not None else bool(isatty and isatty())
        self._last = 0.0
        self._drawn = False

    def update(self, done: int, total: int | None, detail: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < _REDRAW and (total is None or done < total):
            return
        self._last = now
        self.stream.write("\r" + self.render(done, total, detail) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def render(self, done: int, total: int | None, detail: str = "") -> str:
        width = shutil.get_terminal_size((80, 20)).columns
        tail = f"  {detail}" if detail else ""
        if total:
            share = min(1.0, done / total)
            percent = f"{share * 100:3.0f}%"
            room = max(10, min(40, width - len(self.label) - len(percent) - len(tail) - 6))
            filled = round(share * room)
            bar = "█" * filled + "░" * (room - filled)
            line = f"{self.label} {bar} {percent}{tail}"
        else:
            line = f"{self.label}{tail}"
        return line[: max(10, width - 1)]

    def close(self) -> None:
        """Clear the bar so the summary line that follows starts clean."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
