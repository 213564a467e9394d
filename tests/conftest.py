"""Shared fixtures.

Widget tests drive the real traced qasync loop without blocking in
``run_forever``: the loop is created "already running" (asyncio sees it as the
running loop) and its single QTimer driver advances whenever Qt processes
events, which is exactly what ``qtbot.waitUntil`` does while it waits.
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from app.controller import Controller
from app.traced_loop import HeadlessLoop


@pytest.fixture
def headless():
    """A Qt-free traced loop with autojump, so sleeps cost no real time."""
    loop = HeadlessLoop(autojump=True)
    yield loop
    _close_headless(loop)


def _close_headless(loop: HeadlessLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending))
    loop.close()


@pytest.fixture
def headless_controller(headless):
    controller = Controller(headless, capture_output=False)
    yield controller
    controller.close()


@pytest.fixture
def qloop(qapp):
    from app.qt_loop import TracingLoop

    loop = TracingLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if loop.clock.paused:
        loop.resume()
    deadline = loop.clock.now() + 5
    while any(not t.done() for t in pending) and loop.clock.now() < deadline:
        qapp.processEvents()
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
    from app.main_window import MainWindow
    from widgets import theme

    theme.apply_theme("dark")
    win = MainWindow(controller, settings=None)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.frame_timer.stop()
