"""Port numbers and process ids as a take shows them: the same in every take.

The OS hands out a new port for ``port 0`` and a new pid for every child
process, so a take of the TCP echo or the child-process demo would differ from
the last one in every frame that shows them. In a take, each distinct port (and
pid) is shown instead by its place in the order of first appearance, counted
from a round number (``:50001``, ``:50002``, ...; pid ``10001``, ...), so the
conversation reads the same and every take is frame-identical. Only what is
shown changes: the program still uses its real ports and pids.
"""

from __future__ import annotations

import re

from coroscope.loop.events import (
    Event,
    EventLog,
    IoChannel,
    IoData,
    IoWatch,
    Output,
    SessionEvent,
    Subprocess,
)

FIRST_PORT = 50001
FIRST_PID = 10001

# A port after an IPv4 address, "localhost" or a bracketed IPv6 one, or after a
# colon that starts a word (":54321"): never a line number ("demo.py:1234").
_PORT = re.compile(r"((?:\d{1,3}\.){3}\d{1,3}|localhost|\]|(?<![\w.]))(:)(\d{2,5})\b")
_PID = re.compile(r"\b(pid )(\d+)\b")


class SteadyText:
    def __init__(self) -> None:
        self._ports: dict[str, str] = {}
        self._pids: dict[str, str] = {}

    def port(self, number: str) -> str:
        return self._ports.setdefault(number, str(FIRST_PORT + len(self._ports)))

    def pid(self, number: str | int) -> str:
        key = str(number)
        return self._pids.setdefault(key, str(FIRST_PID + len(self._pids)))

    def __call__(self, text: str) -> str:
        if ":" in text:
            text = _PORT.sub(lambda m: f"{m[1]}{m[2]}{self.port(m[3])}", text)
        if "pid " in text:
            text = _PID.sub(lambda m: f"{m[1]}{self.pid(m[2])}", text)
        return text


class SteadyLog(EventLog):
    """An event log whose events show steady ports and pids (see the module)."""

    def __init__(self, capacity: int = 100_000) -> None:
        super().__init__(capacity)
        self.steady = SteadyText()

    def emit(self, event: Event) -> None:
        if type(event) in _STEADIED:  # one lookup for the many events that show neither
            steady = self.steady
            if isinstance(event, (Output, SessionEvent)):
                event = event._replace(text=steady(event.text))
            elif isinstance(event, (IoWatch, IoChannel)):
                event = event._replace(label=steady(event.label))
            elif isinstance(event, IoData):
                event = event._replace(preview=steady(event.preview))
            elif isinstance(event, Subprocess):
                pid = int(steady.pid(event.pid))
                event = event._replace(command=steady(event.command), pid=pid)
        super().emit(event)


# The kinds of event whose text can show a port or a pid.
_STEADIED = frozenset({Output, SessionEvent, IoWatch, IoChannel, IoData, Subprocess})
