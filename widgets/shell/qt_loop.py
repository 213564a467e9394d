"""The traced loop on top of qasync: Qt and asyncio as one loop.

qasync supplies the Qt integration (socket notifiers for I/O, ``run_forever`` as
``QApplication.exec``). Scheduling goes through ``TracingMixin``; a single precise
single-shot ``QTimer`` wakes the scheduler exactly when it has work, instead of one
coarse Qt timer per handle.

Where qasync departs from asyncio's ``BaseEventLoop``, ``TracingLoop`` behaves as
asyncio does (CPython's asyncio tests check it: ``bench/conformance.py --loop qt``):
errors go to asyncio's logger and exception handler; ``run_in_executor`` uses
asyncio's default executor and its future belongs to this loop, whatever the
current loop is; ``run_until_complete`` stops right after its future is done (no
extra round of Qt events); ``SystemExit`` and ``KeyboardInterrupt`` from a callback
come out of ``run_forever`` and ``run_until_complete``; ``call_soon_threadsafe``
queues in order with ``call_soon`` and returns the handle; a closed or nested run is
refused; async generators are finalized through asyncio's hooks; ``_run_once``
steps the loop by hand; a loop made on a thread other than the main one runs there
(only the main thread may run ``QApplication.exec()``).
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import threading
from collections.abc import Callable
from contextvars import Context
from typing import Any

# Tell qasync which binding to use; otherwise it first tries to import PyQt5,
# PyQt6 and PySide2, which costs start-up time on every launch.
os.environ.setdefault("QT_API", "pyside6")

import qasync
import shiboken6
from coroscope.loop.traced_loop import TracingMixin
from PySide6.QtCore import (
    QAbstractEventDispatcher,
    QCoreApplication,
    QEventLoop,
    Qt,
    QThread,
    QTimer,
)

_MAX_TIMER_MS = 2**31 - 1
# Stepping by hand (``_run_once``) never waits for Qt longer than this, as the
# headless loop never sleeps in select() longer.
_MAX_WAIT = 0.25

_base = asyncio.BaseEventLoop


class _AsAsyncio:
    """asyncio's own ``BaseEventLoop`` methods where qasync replaces them.

    It sits between ``TracingMixin`` and ``qasync.QEventLoop`` in the MRO, so the
    mixin's ``super()`` calls (``call_exception_handler``, ``run_in_executor``)
    land here and not in qasync.
    """

    # qasync keeps its handler apart (get_exception_handler() said None) and logs to
    # the "qasync" logger; asyncio logs to asyncio.base_events.logger.
    set_exception_handler = _base.set_exception_handler
    get_exception_handler = _base.get_exception_handler
    default_exception_handler = _base.default_exception_handler
    call_exception_handler = _base.call_exception_handler
    # qasync wraps its executor's future without loop=, so it needs a current event
    # loop, and its close() waits for its QThreadExecutor forever. asyncio's default
    # executor is a ThreadPoolExecutor that close() shuts down without waiting, and
    # that shutdown_default_executor() ends.
    run_in_executor = _base.run_in_executor
    set_default_executor = _base.set_default_executor
    # qasync runs one more round of Qt events after the future is done, and does
    # not refuse to run inside another running loop.
    run_until_complete = _base.run_until_complete


class TracingLoop(TracingMixin, _AsAsyncio, qasync.QEventLoop):
    def __init__(self, app=None, already_running: bool = False, **tracing: Any) -> None:
        self._init_tracing(**tracing)
        self._needs_wake = True
        # The thread the loop (and its driver timer) belongs to: calls from any
        # other thread wake it through the self-pipe.
        self._loop_thread = threading.get_ident()
        self._by_hand = False  # _run_once drives the scheduler itself
        self._in_exec = False  # inside run_forever's QApplication.exec()
        self._nested: QEventLoop | None = None  # run_forever's own Qt loop, if nested
        self._escaped: BaseException | None = None
        self._hooks_saved: tuple | None = None
        # Only the main thread may run QApplication.exec(): a loop made on another
        # thread (asyncio.run in a worker, as asyncio.to_thread(asyncio.run, ...)
        # does) runs a local QEventLoop. Making one here first gives the thread the
        # Qt event dispatcher that the driver timer and the socket notifiers need.
        self._thread_events: QEventLoop | None = None if QThread.isMainThread() else QEventLoop()
        self._driver = QTimer()
        self._driver.setObjectName("coroscope-loop-driver")
        self._driver.setTimerType(Qt.TimerType.PreciseTimer)
        self._driver.setSingleShot(True)
        self._driver.timeout.connect(self._tick)
        super().__init__(app, already_running=already_running)
        # The scheduler's ready queue is the loop's, as in the headless loop: code
        # that looks at asyncio's (``while loop._ready: ...``) sees what will run.
        self._ready = self.scheduler._ready
        if already_running:
            # Running from now on, as run_forever() would be: asyncio's checks and
            # async-generator hooks apply until close().
            self._thread_id = threading.get_ident()
            self._hooks_saved = self._install_asyncgen_hooks()

    def _external_io_pending(self) -> bool:
        notifiers = len(self._read_notifiers or ()) + len(self._write_notifiers or ())
        return self._external_jobs > 0 or notifiers > 1  # one is the self-pipe

    def _wake(self) -> None:
        # Not while stopped: arming reads the wait, and autojump would move loop
        # time on to the next timer while nothing runs. run_forever() arms.
        if self._needs_wake and self.is_running():
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
        # As asyncio, callbacks run only while the loop runs: not in a round of Qt
        # events after run_until_complete() returned, nor while _run_once() steps.
        # run_forever() arms the driver again when it starts.
        if self._by_hand or not self.is_running():
            return
        self._needs_wake = False
        try:
            self.scheduler.run_once()
        except (SystemExit, KeyboardInterrupt) as exc:
            # asyncio lets these out of run_forever(); from a Qt slot they would end
            # the process. Stop the run and raise them there. (A loop made "already
            # running" has no run_forever() to raise them from.)
            if not self._in_exec:
                raise
            self._escaped = exc
            self._halt()
        finally:
            self._needs_wake = True
            if self._stopping and self.is_running():
                # stop() was called before run_forever(): one iteration, then stop.
                self._stopping = False
                self._halt()
            if self.is_running() and not self.is_closed():
                self._arm()

    # -- running, as BaseEventLoop.run_forever does ------------------------------
    def run_forever(self) -> None:
        self._check_closed()  # (qasync's gives AttributeError once closed)
        self._check_running()  # also refuses to run inside another running loop
        self._set_coroutine_origin_tracking(self._debug)
        self._thread_id = threading.get_ident()
        saved_hooks = self._install_asyncgen_hooks()
        self._in_exec = True
        try:
            if self._stopping:
                self._driver.start(0)  # one iteration
            else:
                self._arm()
            if self._thread_events is None and QThread.currentThread().loopLevel() == 0:
                super().run_forever()  # qasync's: QApplication.exec()
            else:
                self._run_nested()
        finally:
            if not self.is_closed():
                self._driver.stop()  # stopped: nothing runs until the next run
            self._in_exec = False
            self._stopping = False
            self._thread_id = None
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*saved_hooks)
        escaped, self._escaped = self._escaped, None
        if escaped is not None:
            try:
                raise escaped
            finally:
                escaped = None

    def _install_asyncgen_hooks(self) -> tuple:
        saved = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )
        return saved

    def _run_nested(self) -> None:
        """Run where QApplication.exec() refuses to start: inside a Qt event loop
        that already runs on this thread (called from a Qt slot, or in a child
        forked from a running loop), or on a thread other than the main one. Run a
        local QEventLoop instead, as a modal dialog does. Quitting the app still
        ends it on the main thread."""
        if self._unsaid:
            self._say_unsaid()
        self._nested = QEventLoop()
        self._QEventLoop__is_running = True
        asyncio.events._set_running_loop(self)
        try:
            self._nested.exec()
        finally:
            asyncio.events._set_running_loop(None)
            self._QEventLoop__is_running = False
            self._nested = None

    def stop(self) -> None:
        if self.is_running():
            self._halt()
        else:
            # As asyncio: a stop() before run_forever() makes it run one iteration;
            # one called again after the run stopped is forgotten when it returns.
            self._stopping = True

    def _halt(self) -> None:
        """End the Qt loop that run_forever() runs (after the current batch)."""
        nested = self._nested
        if nested is None:
            super().stop()  # qasync's: QApplication.exit()
        else:
            self._QEventLoop__is_running = False
            nested.exit()  # only ours: QApplication.exit() would end the outer loops too

    def _run_once(self) -> None:
        """One iteration of the loop by hand, as ``BaseEventLoop._run_once``: wait
        for Qt (I/O, other threads) until the next timer is due, not at all if a
        callback is ready, then run what is ready. (Private asyncio API that tests
        and some libraries step a loop with.)"""
        if self.is_closed():
            return
        dispatcher = QAbstractEventDispatcher.instance()
        driver = self._driver
        self._by_hand = True
        try:
            wait = min(self._next_wait(), _MAX_WAIT)
            if dispatcher is not None:
                if wait > 0:
                    driver.start(math.ceil(wait * 1000))  # ends the wait at the latest
                    dispatcher.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
                else:
                    dispatcher.processEvents(QEventLoop.ProcessEventsFlag.AllEvents)
            if not self.clock.paused:  # paused: callbacks wait for resume or Step
                self.scheduler.run_once()
        finally:
            self._by_hand = False
            if not self.is_closed():
                driver.stop()
                if self.is_running():
                    self._arm()

    # -- threads ------------------------------------------------------------------
    def call_soon_threadsafe(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        """As asyncio's: the handle joins the ready queue at once (in order with
        call_soon), carries the calling thread's context (or ``context``), and is
        returned; another thread wakes the loop through the self-pipe."""
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
        handle = asyncio.Handle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]  # debug: ends at the caller
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        self._push_ready(handle)  # a deque append: safe from any thread
        if threading.get_ident() == self._loop_thread:
            if self._needs_wake:
                self._wake()
        else:
            # Qt timers belong to their thread: wake the loop's thread with a byte
            # on asyncio's self-pipe, whose Qt socket notifier runs there.
            self._write_to_self()
        return handle

    def close(self) -> None:
        if self.is_running():  # checked before our own teardown, as asyncio's loops do
            raise RuntimeError("Cannot close a running event loop")
        if self.is_closed():
            return
        saved, self._hooks_saved = self._hooks_saved, None
        if saved is not None:  # made "already running": its hooks end with it
            if sys.get_asyncgen_hooks().firstiter == self._asyncgen_firstiter_hook:
                sys.set_asyncgen_hooks(*saved)
            self._thread_id = None
        if QCoreApplication.instance() is None or not shiboken6.isValid(self._driver):
            # The garbage collector closing a forgotten loop at interpreter exit,
            # after Qt is gone: there is nothing of Qt's left to tidy up.
            asyncio.BaseEventLoop.close(self)
            return
        self._driver.stop()
        self.scheduler.clear()
        super().close()
