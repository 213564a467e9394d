"""TimerListView on its own: a LoopModel and TaskModel fed hand-made events.

No controller and no loop: the list must show one row per live timer, soonest
first, saying whose it is and when it fires, count down with the clock, and turn
clicks, drags and keys into intents carrying the timer's id.
"""

import pytest
from coroscope.loop.events import (
    TaskCreated,
    TaskStep,
    TimerCancelled,
    TimerFired,
    TimerMoved,
    TimerScheduled,
)
from coroscope.models.loop_model import LoopModel
from coroscope.models.task_model import TaskModel
from coroscope.widgets.views.anatomy_timers import TimerListView, nice_horizon
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox

from tests.view_helpers import HandClock, PaintRecorder

pytestmark = pytest.mark.timeout(30)

MAIN, NAPPER = 1, 2
RING, NAP, LOOSE = 11, 12, 13


def fed_models():
    tasks = TaskModel()
    tasks.apply(TaskCreated(0.0, MAIN, "main", None, "main", (), 1))
    tasks.apply(TaskCreated(0.0, NAPPER, "napper", MAIN, "napper", (), 1))
    tasks.apply(TaskStep(0.0, NAPPER, 0.0, 0.0001, "sleep", "sleep(5)", 5.0, ()))
    loop = LoopModel()
    # main schedules ring('bell') for t=2; napper sleeps until t=5; a callback from
    # outside any task fires at t=3.5.
    loop.apply(TimerScheduled(0.0, RING, 2.0, "main.<locals>.ring", MAIN, None, 1, "'bell'"))
    loop.apply(TimerScheduled(0.0, NAP, 5.0, "_set_result_unless_cancelled", NAPPER, NAPPER, 1))
    loop.apply(TimerScheduled(0.5, LOOSE, 3.5, "tick", None, None, 1, "1, 2"))
    return loop, tasks


@pytest.fixture
def clock():
    return HandClock(1.0)


@pytest.fixture
def timers(qtbot, clock):
    loop, tasks = fed_models()
    view = TimerListView(loop, tasks, clock)
    qtbot.addWidget(view)
    view.resize(700, view.height())
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    return view


def shown(view, recorder):
    """Each row's painted texts, top to bottom, after one frame."""
    view.refresh()
    recorder.clear()
    view.grab()
    rows = recorder.rows(view, view.row_height)
    return [rows.get(index, []) for index in range(max(rows, default=-1) + 1)]


def click(qtbot, view, timer_id, area):
    pos = view.area_centre(timer_id, area)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)


def test_a_row_per_live_timer_soonest_first_with_owner_and_due_time(timers, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    assert [r.id for r in timers.rows()] == [RING, LOOSE, NAP]
    assert timers.height() == 3 * timers.row_height
    rows = shown(timers, recorder)
    assert len(rows) == 3
    assert rows[0] == ["ring('bell')", "scheduled by main", "in 1.00 s", "at t=2.00", "✕"]
    assert rows[1] == ["tick(1, 2)", "scheduled outside any task", "in 2.50 s", "at t=3.50", "✕"]
    assert rows[2] == ["sleep(5)", "sleep of napper", "in 4.00 s", "at t=5.00", "✕"]


def test_countdowns_follow_the_clock_and_share_one_axis(timers, clock, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    assert timers.horizon == nice_horizon(4.0) == 5.0  # the longest wait fits
    clock.set(1.75)
    rows = shown(timers, recorder)
    assert [row[2] for row in rows] == ["in 0.25 s", "in 1.75 s", "in 3.25 s"]
    assert timers.horizon == 5.0
    # Bars compare: the sooner timer's point for "now + its wait" lies further left.
    ring = timers.bar_point(RING, timers.rows()[0].remaining(clock.now()))
    nap = timers.bar_point(NAP, timers.rows()[2].remaining(clock.now()))
    assert ring.x() < nap.x()


def test_rows_leave_when_their_timers_fire_or_are_cancelled_and_move_when_moved(
    timers, monkeypatch
):
    recorder = PaintRecorder(monkeypatch)
    model = timers.model
    model.apply(TimerFired(2.0, RING, 0.0))
    model.apply(TimerMoved(2.0, NAP, 3.0, sleeper=NAPPER))
    rows = shown(timers, recorder)
    assert [r.id for r in timers.rows()] == [NAP, LOOSE]  # the moved sleep is now first
    assert rows[0][0] == "sleep(5)" and rows[0][3] == "at t=3.00"
    assert timers.height() == 2 * timers.row_height
    model.apply(TimerCancelled(2.1, NAP))
    model.apply(TimerCancelled(2.1, LOOSE))
    assert shown(timers, recorder) == [
        ["No timers. call_later, call_at and every sleep add one here."]
    ]


def test_more_timers_than_rows_are_summed_up(qtbot, clock, monkeypatch):
    loop, tasks = fed_models()
    for timer in range(20, 25):
        loop.apply(TimerScheduled(0.0, timer, 10.0 + timer, "later", None, None, 1))
    view = TimerListView(loop, tasks, clock, max_rows=3)
    qtbot.addWidget(view)
    view.resize(700, view.height())
    view.show()
    qtbot.waitExposed(view)
    recorder = PaintRecorder(monkeypatch)
    rows = shown(view, recorder)
    assert len(view.rows()) == 3
    assert rows[3] == ["… and 5 later timers"]
    assert view.height() == 4 * view.row_height


def test_clicking_the_cross_asks_to_cancel_that_timer(qtbot, timers):
    with (
        qtbot.assertNotEmitted(timers.moveRequested),
        qtbot.waitSignal(timers.cancelRequested, timeout=1000) as cancel,
    ):
        click(qtbot, timers, LOOSE, "button")
    assert cancel.args == [LOOSE]
    assert timers.selected == LOOSE


def test_clicking_the_label_only_selects(qtbot, timers):
    with qtbot.assertNotEmitted(timers.cancelRequested):
        click(qtbot, timers, NAP, "text")
    assert timers.selected == NAP


def test_dragging_a_bar_asks_to_move_the_timer(qtbot, timers, clock):
    start = timers.bar_point(NAP, 4.0)
    end = timers.bar_point(NAP, 1.0)
    with qtbot.waitSignal(timers.moveRequested, timeout=1000) as moved:
        qtbot.mousePress(timers, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(timers, end)
        qtbot.mouseRelease(timers, Qt.MouseButton.LeftButton, pos=end)
    timer, when = moved.args
    step = timers.horizon / timers._areas(timers.row_rect(NAP))["bar"].width()
    assert timer == NAP
    assert when == pytest.approx(clock.now() + 1.0, abs=step + 0.01)


def test_keys_act_on_the_selected_timer(qtbot, timers, clock):
    timers.select(RING)
    with qtbot.waitSignal(timers.moveRequested, timeout=1000) as fire:
        qtbot.keyClick(timers, Qt.Key.Key_F)
    assert fire.args == [RING, clock.now()]
    with qtbot.waitSignal(timers.moveRequested, timeout=1000) as later:
        qtbot.keyClick(timers, Qt.Key.Key_Plus)
    assert later.args == [RING, 3.0]
    with qtbot.waitSignal(timers.moveRequested, timeout=1000) as earlier:
        qtbot.keyClick(timers, Qt.Key.Key_Minus)
    assert earlier.args == [RING, clock.now()]  # a second earlier is already past: now
    qtbot.keyClick(timers, Qt.Key.Key_Down)
    assert timers.selected == LOOSE
    with qtbot.waitSignal(timers.cancelRequested, timeout=1000) as cancel:
        qtbot.keyClick(timers, Qt.Key.Key_Delete)
    assert cancel.args == [LOOSE]


def test_double_click_types_the_time_until_it_fires(qtbot, timers, clock):
    qtbot.mouseDClick(timers, Qt.MouseButton.LeftButton, pos=timers.area_centre(NAP, "text"))
    editor = timers._editor
    assert isinstance(editor, QDoubleSpinBox) and editor.isVisible()
    assert editor.parentWidget() is timers and not editor.isWindow()
    assert editor.value() == pytest.approx(4.0)
    editor.setValue(0.25)
    with qtbot.waitSignal(timers.moveRequested, timeout=1000) as typed:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert typed.args == [NAP, pytest.approx(clock.now() + 0.25)]
    assert timers._editor is None


def test_the_editor_closes_when_its_timer_fires(qtbot, timers):
    editor = timers.edit_due(RING)
    assert editor is not None and editor.isVisible()
    timers.model.apply(TimerFired(2.0, RING, 0.0))
    timers.refresh()
    assert timers._editor is None and not editor.isVisible()
