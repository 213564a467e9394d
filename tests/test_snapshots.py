"""Key screens compared with approved images, so visual regressions are caught.

Each screen is rendered offscreen with the loop clock frozen at a chosen time,
so rings, bars and labels are the same on every run. To re-approve after an
intended change, run:  COROSCOPE_APPROVE=1 pytest tests/test_snapshots.py
and look at the new PNGs in tests/snapshots/ before committing them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from coroscope.control.controller import Controller
from coroscope.loop.clock import VirtualClock
from coroscope.widgets.paint import theme
from coroscope.widgets.shell.qt_loop import TracingLoop
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
APPROVE = os.environ.get("COROSCOPE_APPROVE") == "1"
SIZE = (1280, 800)
# A pixel "differs" when a channel moves by more than this; a screen differs
# when more than MAX_DIFFERING of its pixels do (antialiasing noise stays below).
CHANNEL_TOLERANCE = 48
MAX_DIFFERING = 0.004


class FrozenSource:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def frozen_window(qtbot, qapp):
    from coroscope.widgets.shell.main_window import MainWindow

    loop = TracingLoop(qapp, already_running=True, clock=VirtualClock(FrozenSource()))
    asyncio.set_event_loop(loop)
    controller = Controller(loop, capture_output=True)
    theme.apply_theme("dark")
    window = MainWindow(controller, settings=None)
    window.frame_timer.stop()  # frames are ticked by hand: nothing animates on its own
    qtbot.addWidget(window)
    window.resize(*SIZE)
    window.show()
    qtbot.waitExposed(window)
    yield window
    controller.pause()
    for task in asyncio.all_tasks(loop):
        task.cancel()
    for _ in range(1000):
        if loop.step() == "idle":
            break
    controller.close()
    window.close()
    loop._QEventLoop__is_running = False
    asyncio.events._set_running_loop(None)
    loop.close()
    asyncio.set_event_loop(None)
    theme.apply_theme("dark")


def run_to(window, key: str, loop_time: float, dock: str | None = None) -> None:
    c = window.controller
    c.pause()
    window.run_demo(key)
    while c.clock.now() < loop_time:
        if c.step() == "idle":
            break
    c.clock.advance_to(loop_time)
    if dock:
        from PySide6.QtWidgets import QDockWidget

        window.findChild(QDockWidget, dock).raise_()
    window.tick()
    for _ in range(3):  # let layouts settle after theme or dock changes
        QApplication.processEvents()
        window.tick()


def differing_fraction(a: QImage, b: QImage) -> float:
    if a.size() != b.size():
        return 1.0
    a = a.convertToFormat(QImage.Format.Format_RGB32)
    b = b.convertToFormat(QImage.Format.Format_RGB32)
    differing = 0
    step = 2  # every other pixel in each direction is plenty to catch a regression
    total = 0
    for y in range(0, a.height(), step):
        for x in range(0, a.width(), step):
            pa, pb = a.pixel(x, y), b.pixel(x, y)
            total += 1
            if pa != pb and any(
                abs(((pa >> shift) & 0xFF) - ((pb >> shift) & 0xFF)) > CHANNEL_TOLERANCE
                for shift in (0, 8, 16)
            ):
                differing += 1
    return differing / total


def check(window, name: str, tmp_path: Path) -> None:
    image = window.grab().toImage()
    approved = SNAPSHOTS / f"{name}.png"
    if APPROVE:
        SNAPSHOTS.mkdir(exist_ok=True)
        image.save(str(approved))
        pytest.skip(f"approved {approved.name}")
    assert approved.exists(), f"no approved image {approved.name}: run with COROSCOPE_APPROVE=1"
    fraction = differing_fraction(image, QImage(str(approved)))
    if fraction > MAX_DIFFERING:
        actual = tmp_path / f"{name}-actual.png"
        image.save(str(actual))
        pytest.fail(
            f"{name} differs from the approved image in {fraction:.2%} of pixels; see {actual}"
        )


def test_countdown_mid_run(frozen_window, tmp_path):
    run_to(frozen_window, "countdown", 1.5, dock="narration_dock")
    check(frozen_window, "countdown-mid-run", tmp_path)


def test_chained_with_await_graph(frozen_window, tmp_path):
    run_to(frozen_window, "chained", 0.5, dock="graph_dock")
    check(frozen_window, "chained-await-graph", tmp_path)


def test_countdown_presentation_light(frozen_window, tmp_path):
    classroom = frozen_window.classroom
    classroom.light_action.setChecked(True)
    classroom.presentation_action.setChecked(True)
    run_to(frozen_window, "countdown", 2.5, dock="timeline_dock")
    check(frozen_window, "countdown-presentation-light", tmp_path)


def test_snapshot_check_detects_a_change(frozen_window, tmp_path):
    """The comparison itself must be able to fail."""
    run_to(frozen_window, "countdown", 1.5)
    before = frozen_window.grab().toImage()
    frozen_window.controller.clock.advance_to(3.5)  # task2 finishes: rings change
    frozen_window.controller.step()
    frozen_window.tick()
    after = frozen_window.grab().toImage()
    assert differing_fraction(before, before.copy()) == 0.0
    assert differing_fraction(before, after) > MAX_DIFFERING
