"""Shared fixtures.

Widget tests drive the real traced qasync loop without blocking in
``run_forever``: the loop is created "already running" (asyncio sees it as the
running loop) and its single QTimer driver advances whenever Qt processes
events, which is exactly what ``qtbot.waitUntil`` does while it waits.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import tempfile
import threading
import time
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import shiboken6
from coroscope.control.controller import Controller
from coroscope.loop.traced_loop import HeadlessLoop
from PySide6.QtCore import QTimer

# -- a hard deadline -----------------------------------------------------------------
# pytest-timeout's alarm raises in whatever Python code runs next; inside a Qt
# slot PySide prints that exception and carries on, and a wait in C never runs
# Python at all, so a hang could outlive it and eat CI's whole budget. Past the
# test's own timeout plus a margin, faulthandler's C thread writes every
# thread's stack to HANG_LOG (.ci/run prints it) and ends the run.
HANG_LOG = Path(os.environ.get("COROSCOPE_HANG_LOG", Path(tempfile.gettempdir()) / "hang.txt"))
_HANG_MARGIN = 30.0


@pytest.fixture(autouse=True)
def hard_deadline(request):
    marker = request.node.get_closest_marker("timeout")
    limit = marker.args[0] if marker is not None and marker.args else None
    if limit is None:
        limit = request.config.getini("timeout") or 60
    with HANG_LOG.open("w") as log:
        log.write(f"{request.node.nodeid} passed its {limit} s timeout; every thread:\n")
        log.flush()
        faulthandler.dump_traceback_later(float(limit) + _HANG_MARGIN, exit=True, file=log)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    HANG_LOG.unlink(missing_ok=True)


# -- leak checks -------------------------------------------------------------------
# Every test must leave no running QTimer, no extra thread, no child process and
# no pending task behind: each would leak into later tests or hang CI.

_started_timers: weakref.WeakSet = weakref.WeakSet()
_original_start = QTimer.start


def _tracking_start(timer, *args):
    _started_timers.add(timer)
    return _original_start(timer, *args)


QTimer.start = _tracking_start


def _child_pids() -> set[int]:
    pids: set[int] = set()
    for task_dir in Path("/proc/self/task").glob("*"):
        try:
            pids.update(int(p) for p in (task_dir / "children").read_text().split())
        except OSError:
            continue
    return pids


def _running_timers() -> list[QTimer]:
    return [t for t in list(_started_timers) if shiboken6.isValid(t) and t.isActive()]


@pytest.fixture(autouse=True)
def no_leaks(request):
    threads_before = set(threading.enumerate())
    children_before = _child_pids()
    timers_before = set(map(id, _running_timers()))
    yield
    if request.node.get_closest_marker("allow_leaks"):
        return
    problems = []
    timers = [t for t in _running_timers() if id(t) not in timers_before]
    if timers:
        problems.append(
            f"{len(timers)} QTimer(s) still running: {[t.objectName() or t for t in timers]}"
        )
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        children = _child_pids() - children_before
        if not extra and not children:
            break
        time.sleep(0.02)
    if extra:
        problems.append(f"threads still alive: {[t.name for t in extra]}")
    if children:
        problems.append(f"child processes still running: {sorted(children)}")
    if problems:
        pytest.fail("test left things running: " + "; ".join(problems), pytrace=False)


def _drain_or_fail(loop, step) -> None:
    """Cancel what a test left and make sure it really finished."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    step(pending)
    stuck = [t.get_name() for t in pending if not t.done()]
    if stuck:
        pytest.fail(f"tasks ignored cancellation and are still pending: {stuck}", pytrace=False)


@pytest.fixture
def headless():
    """A Qt-free traced loop with autojump, so sleeps cost no real time."""
    loop = HeadlessLoop(autojump=True)
    yield loop
    _close_headless(loop)


def _close_headless(loop: HeadlessLoop) -> None:
    if loop.clock.paused:
        loop.clock.resume()

    def wait(pending):
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=5))

    _drain_or_fail(loop, wait)
    loop.close()


@pytest.fixture
def headless_controller(headless):
    controller = Controller(headless, capture_output=False)
    yield controller
    controller.close()


@pytest.fixture
def qloop(qapp):
    from coroscope.widgets.shell.qt_loop import TracingLoop

    loop = TracingLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    if loop.clock.paused:
        loop.resume()

    def wait(pending):
        deadline = time.monotonic() + 5
        while any(not t.done() for t in pending) and time.monotonic() < deadline:
            qapp.processEvents()

    _drain_or_fail(loop, wait)
    # qasync's stop() would call QApplication.exit(), which leaves the shared
    # test QApplication unable to fire timers for the next test; just mark the
    # "already running" loop as no longer running.
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def controller(qloop):
    controller = Controller(qloop, capture_output=True)
    yield controller
    controller.close()


@pytest.fixture
def window(qtbot, controller):
    from coroscope.widgets.paint import theme
    from coroscope.widgets.shell.main_window import MainWindow

    theme.apply_theme("dark")
    win = MainWindow(controller, settings=None)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.frame_timer.stop()
