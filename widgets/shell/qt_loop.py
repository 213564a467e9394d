"""The traced loop on top of qasync: Qt and asyncio as one loop.

qasync supplies the Qt integration (socket notifiers for I/O, thread-safe calls
through a Qt signal, ``run_forever`` as ``QApplication.exec``). Scheduling goes
through ``TracingMixin``; a single precise single-shot ``QTimer`` wakes the
scheduler exactly when it has work, instead of one coarse Qt timer per handle.
"""

from __future__ import annotations

import asyncio
import math
import os
from typing import Any

# Tell qasync which binding to use; otherwise it first tries to import PyQt5,
# PyQt6 and PySide2, which costs start-up time on every launch.
os.environ.setdefault("QT_API", "pyside6")

import qasync
import shiboken6
from coroscope.loop.traced_loop import TracingMixin
from PySide6.QtCore import QCoreApplication, Qt, QTimer

_MAX_TIMER_MS = 2**31 - 1


class TracingLoop(TracingMixin, qasync.QEventLoop):
    def __init__(self, app=None, already_running: bool = False, **tracing: Any) -> None:
        self._init_tracing(**tracing)
        self._needs_wake = True
        self._driver = QTimer()
        self._driver.setObjectName("coroscope-loop-driver")
        self._driver.setTimerType(Qt.TimerType.PreciseTimer)
        self._driver.setSingleShot(True)
        self._driver.timeout.connect(self._tick)
        super().__init__(app, already_running=already_running)

    def _external_io_pending(self) -> bool:
        notifiers = len(self._read_notifiers or ()) + len(self._write_notifiers or ())
        return self._external_jobs > 0 or notifiers > 1  # one is the self-pipe

    def _wake(self) -> None:
        if self._needs_wake:
            self._arm()

    def _arm(self) -> None:
        driver = self._driver
        wait = self._next_wait()
        if math.isinf(wait):
            driver.stop()
            return
        ms = min(_MAX_TIMER_MS, math.ceil(wait * 1000))
        if driver.isActive() and driver.remainingTime() <= ms:
            return
        driver.start(ms)

    def _tick(self) -> None:
        self._needs_wake = False
        try:
            self.scheduler.run_once()
        finally:
            self._needs_wake = True
            if not self.is_closed():
                self._arm()

    def close(self) -> None:
        if self.is_running():  # checked before our own teardown, as asyncio's loops do
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        if QCoreApplication.instance() is None or not shiboken6.isValid(self._driver):
            # The garbage collector closing a forgotten loop at interpreter exit,
            # after Qt is gone: there is nothing of Qt's left to tidy up.
            asyncio.BaseEventLoop.close(self)
            return
        self._driver.stop()
        self.scheduler.clear()
        super().close()
