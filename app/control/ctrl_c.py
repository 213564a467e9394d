"""Ctrl+C for headless commands: noted by a handler, acted on at a safe point.

Python raises KeyboardInterrupt wherever the main thread happens to be. Inside
a Qt paint during a frame grab that crashes Qt; inside a traced task step the
tracer treats it as the script's own doing and ends only that task. So the
handler only notes the request (and may stop the loop); the command raises
KeyboardInterrupt itself once it is safe, and a second Ctrl+C cannot cut the
clean-up short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


class CtrlC:
    def __init__(self, on_press: Callable[[], None] | None = None) -> None:
        self.pressed = False
        self._on_press = on_press
        # What signal.signal() gave back: the handler to restore.
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None

    def _note(self, _signum, _frame) -> None:
        self.pressed = True
        if self._on_press is not None:
            self._on_press()

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, *_exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
