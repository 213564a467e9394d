"""The stage widgets on their own: models fed hand-made events and published values.

No controller and no loop: the rings count down each task's sleep and turn clicks
and the wheel into intents; the clock shows the last time its coroutine published
(and says when it stopped); the chain shows main's await chain and what came back.
"""

import asyncio
import datetime
import itertools
import os

import pytest
from coroscope.demos import stage as demo_stage
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models.stage_model import StageModel
from coroscope.models.task_model import TaskModel
from coroscope.widgets.views.stages import ChainStage, ClockStage, RingsStage, StageHost
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.view_helpers import HandClock, PaintRecorder

pytestmark = pytest.mark.timeout(30)

DEMO = "/demos/stage_demo.py"
ASYNCIO_SLEEP = (os.path.join(os.path.dirname(asyncio.__file__), "tasks.py"), 600, "sleep")
MAIN, FOUR, THREE, GONE, DONE = 1, 2, 3, 4, 5


def created(model, task, name):
    model.apply(TaskCreated(0.0, task, name, None, name, (), 1))


def sleeping(model, task, seconds, t=0.5):
    frames = ((DEMO, 10, "countdown"), ASYNCIO_SLEEP)
    model.apply(TaskStep(t, task, t, 0.0001, "sleep", f"sleep({seconds})", t + seconds, frames))


def countdown_tasks() -> TaskModel:
    model = TaskModel()
    for task, name in ((MAIN, "main"), (FOUR, "four"), (THREE, "three"), (GONE, "gone")):
        created(model, task, name)
    model.apply(TaskStep(0.0, MAIN, 0.0, 0.0001, "task", "gather(3)", None, ()))
    sleeping(model, FOUR, 4)
    sleeping(model, THREE, 3)
    sleeping(model, GONE, 2)
    model.apply(TaskEnded(0.8, GONE, "cancelled", None, "CancelledError", None))
    return model


@pytest.fixture
def clock():
    return HandClock(1.5)


@pytest.fixture
def stage_model(clock):
    model = StageModel(clock.now)
    yield model
    model.close()


def shown(qtbot, widget, size=(900, 320)):
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def painted(widget, recorder):
    widget.refresh()
    recorder.clear()
    widget.grab()
    return recorder.texts(widget)


@pytest.fixture
def rings(qtbot, clock, stage_model):
    return shown(qtbot, RingsStage(countdown_tasks(), stage_model, clock))


def test_a_ring_per_task_but_main_each_showing_its_countdown(rings, clock, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    assert [row.name for row, _rect in rings.ring_rects()] == ["four", "three", "gone"]
    texts = painted(rings, recorder)
    # centre, caption, state under it, ring by ring
    assert texts == [
        *("3.0", "four", "sleeping"),
        *("2.0", "three", "sleeping"),
        *("✕", "gone", "CancelledError"),
    ]
    clock.set(3.0)
    assert painted(rings, recorder)[0::3] == ["1.5", "0.5", "✕"]
    # Rings side by side, left to right, none cut off.
    rects = [rect for _row, rect in rings.ring_rects()]
    assert all(a.right() < b.left() for a, b in itertools.pairwise(rects))
    assert all(rings.rect().contains(rect.toRect()) for rect in rects)


def test_a_finished_ring_shows_a_tick_and_its_outcome_in_the_tooltip(qtbot, rings, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    created(rings.tasks, DONE, "done")
    rings.tasks.apply(TaskEnded(1.0, DONE, "done", "7", None, None))
    texts = painted(rings, recorder)
    assert texts[-3:] == ["✓", "done", "done"]
    centre = rings.ring_for(DONE).center().toPoint()
    qtbot.mouseMove(rings, centre)
    assert rings.toolTip() == "done: returned 7; click to run it again"


def test_rings_animate_only_while_something_sleeps(rings):
    assert rings.animating()
    for task in (FOUR, THREE):
        rings.tasks.apply(TaskEnded(2.0, task, "done", "None", None, None))
    assert not rings.animating()


def test_clicking_a_sleeping_ring_asks_to_cancel_its_task(qtbot, rings):
    centre = rings.ring_for(THREE).center().toPoint()
    with (
        qtbot.assertNotEmitted(rings.rerunRequested),
        qtbot.waitSignal(rings.cancelRequested, timeout=1000) as cancel,
    ):
        qtbot.mouseClick(rings, Qt.MouseButton.LeftButton, pos=centre)
    assert cancel.args == [THREE]


def test_clicking_a_cancelled_ring_asks_to_run_it_again(qtbot, rings):
    centre = rings.ring_for(GONE).center().toPoint()
    with (
        qtbot.assertNotEmitted(rings.cancelRequested),
        qtbot.waitSignal(rings.rerunRequested, timeout=1000) as rerun,
    ):
        qtbot.mouseClick(rings, Qt.MouseButton.LeftButton, pos=centre)
    assert rerun.args == [GONE]


def test_clicking_between_rings_asks_nothing(qtbot, rings):
    gap = QPoint(3, 3)  # the stage's corner, outside every ring
    with (
        qtbot.assertNotEmitted(rings.cancelRequested),
        qtbot.assertNotEmitted(rings.rerunRequested),
    ):
        qtbot.mouseClick(rings, Qt.MouseButton.LeftButton, pos=gap)


def test_the_wheel_over_a_sleeping_ring_asks_for_half_a_second_more(qtbot, rings):
    centre = rings.ring_for(FOUR).center()
    event = QWheelEvent(
        centre,
        QPointF(rings.mapToGlobal(centre.toPoint())),
        QPoint(),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    with qtbot.waitSignal(rings.remainingRequested, timeout=1000) as more:
        QApplication.sendEvent(rings, event)
    assert more.args == [FOUR, pytest.approx(3.0 + 0.5)]


def test_the_clock_shows_what_its_coroutine_published_and_when_it_stopped(
    qtbot, clock, stage_model, monkeypatch
):
    face = shown(qtbot, ClockStage(TaskModel(), stage_model, clock))
    recorder = PaintRecorder(monkeypatch)
    assert painted(face, recorder) == ["Waiting for the clock coroutine…"]
    now = datetime.datetime(2024, 5, 17, 9, 41, 7)
    demo_stage.publish("clock", now)
    texts = painted(face, recorder)
    assert texts == ["09:41:07", now.strftime("%A %d %B %Y")]  # in the user's language
    clock.set(clock.now() + 3.0)  # three seconds of loop time and no new tick
    texts = painted(face, recorder)
    assert texts[0] == "09:41:07"  # it moves only when the coroutine runs
    assert texts[1].endswith("no tick for 3.0 s of loop time: the coroutine is not running")


def test_the_chain_shows_mains_awaits_and_what_travelled_back(
    qtbot, clock, stage_model, monkeypatch
):
    tasks = TaskModel()
    created(tasks, MAIN, "main")
    frames = (
        (DEMO, 30, "main"),
        (DEMO, 20, "print_sum"),
        (DEMO, 10, "compute"),
        ASYNCIO_SLEEP,
    )
    tasks.apply(TaskStep(0.0, MAIN, 0.0, 0.0001, "sleep", "sleep(1)", 1.0, frames))
    chain = shown(qtbot, ChainStage(tasks, stage_model, clock), size=(1100, 320))
    assert chain.levels() == ["main", "print_sum", "compute", "sleep(1)"]
    recorder = PaintRecorder(monkeypatch)
    texts = painted(chain, recorder)
    assert [t for t in texts if t != "await"] == ["main", "print_sum", "compute", "sleep(1)"]
    assert texts.count("await") == 3  # an arrow between each level and the next
    demo_stage.publish("chain", ("returned", "compute", 3))
    assert painted(chain, recorder)[-1] == "↑ compute returned 3"
    clock.set(clock.now() + 5.0)  # the message fades after four seconds
    assert "↑ compute returned 3" not in painted(chain, recorder)
    tasks.apply(TaskEnded(clock.now(), MAIN, "done", "None", None, None))
    assert chain.levels() == []
    assert painted(chain, recorder) == ["The await chain appears here while main runs"]


def test_the_host_shows_the_stage_a_demo_asks_for(qtbot, clock, stage_model):
    host = shown(qtbot, StageHost(countdown_tasks(), stage_model, clock))
    host.show_stage("rings")
    assert host.currentWidget() is host.rings
    host.show_stage("clock")
    assert host.currentWidget() is host.clock_face
    host.show_stage(None)
    assert host.currentWidget() is host.blank
    host.show_stage("no such stage")
    assert host.currentWidget() is host.blank


def test_the_clocks_date_is_never_cut(qapp):
    """The longest date that fits is drawn whole ("Wednesday 02 December 20" was
    cut off at the default size)."""
    import datetime

    from coroscope.widgets.views.stages import _date_that_fits
    from PySide6.QtGui import QFont, QFontMetrics

    metrics = QFontMetrics(QFont("DejaVu Sans", 11))
    day = datetime.datetime(2026, 12, 2, 20, 37, 5)
    roomy = _date_that_fits(day, metrics, 1000)
    assert roomy == "Wednesday 02 December 2026"
    narrow = metrics.horizontalAdvance(roomy) - 10
    shorter = _date_that_fits(day, metrics, narrow)
    assert shorter != roomy and metrics.horizontalAdvance(shorter) <= narrow
    assert shorter.endswith("2026")
