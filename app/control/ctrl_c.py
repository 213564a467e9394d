"""Ctrl+C for headless commands: noted by a handler, acted on at a safe point.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
a Qt paint during a frame grab that crashes Qt; inside a traced task step the
tracer treats it as the script's own doing and ends only that task. So the
handler only notes the request (and may stop the loop); the command raises
KeyboardInterrupt itself once it is safe, and a second Ctrl+C cannot cut the
clean-up short. SIGTERM (a plain ``kill``, or a session ending) is taken the same
way, so it too leaves no partial file behind.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """The command was asked to end by SIGTERM rather than Ctrl+C."""


class CtrlC:
    def __init__(self, on_press: Callable[[], None] | None = None) -> None:
        self.pressed = False
        self.signal: int | None = None  # which one came first
        self._on_press = on_press
        # What signal.signal() gave back for each: the handlers to restore.
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum
        self.pressed = True
        if self._on_press is not None:
            self._on_press()

    def interruption(self) -> KeyboardInterrupt:
        """What the command raises once it is safe to stop."""
        return Terminated() if self.signal == signal.SIGTERM else KeyboardInterrupt()

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._note)
        return self

    def __exit__(self, *_exc) -> None:
        for signum, previous in self._previous.items():
            if previous is not None:
                signal.signal(signum, previous)
        self._previous = {}
