"""TaskLanesView on its own: a TaskModel fed hand-made events, a clock set by hand.

No controller and no loop: the lanes must show what the model says (one lane per
task, its state, where it is parked or how it ended, a sleeping task's countdown)
and turn clicks and keys into intents carrying the right task id.
"""

import math

import pytest
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models.task_model import TaskModel, TaskRow
from coroscope.widgets.paint import stamps, theme
from coroscope.widgets.views.task_lanes import TaskLanesView
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox

from tests.view_helpers import HandClock, PaintRecorder, shown

pytestmark = pytest.mark.timeout(30)

DEMO = "/demos/lanes_demo.py"
MAIN, SLEEPER, WORKER, QUICK, DOOMED, FRESH = 1, 2, 3, 4, 5, 6


def created(task, name, line, t=0.0):
    return TaskCreated(t, task, name, None, name, ((DEMO, line, name),), 1)


def step(task, waiting, awaiting="", due=None, line=0, t=0.0, name="f"):
    frames = ((DEMO, line, name),) if line else ()
    return TaskStep(t, task, t, 0.0001, waiting, awaiting, due, frames)


def fed_model() -> TaskModel:
    """Six tasks, each in a different state."""
    model = TaskModel()
    for task, name, line in (
        (MAIN, "main", 30),
        (SLEEPER, "sleeper", 10),
        (WORKER, "worker", 15),
        (QUICK, "quick", 20),
        (DOOMED, "doomed", 25),
        (FRESH, "fresh", 40),
    ):
        model.apply(created(task, name, line))
    model.apply(step(MAIN, "task", "gather(2)", line=31, name="main"))
    model.apply(step(SLEEPER, "sleep", "sleep(4)", due=4.5, line=12, name="sleeper", t=0.5))
    model.apply(step(WORKER, "future", "Future", line=16, name="worker"))
    model.apply(step(QUICK, "done"))
    model.apply(TaskEnded(0.5, QUICK, "done", "42", None, None))
    model.apply(step(DOOMED, "sleep", "sleep(9)", due=9.0, line=26, name="doomed"))
    model.apply(TaskEnded(0.6, DOOMED, "cancelled", None, "CancelledError", "Traceback ..."))
    return model


class LaneTexts:
    """The text painted for each lane, by task id.

    A lane is drawn into its own picture (and a sleeping lane's countdown over it):
    texts are credited to the task whose picture or bar was being painted. The
    shared pieces (state pills, buttons) are kept across views, so they are
    forgotten first to be drawn, and seen, again.
    """

    def __init__(self, view: TaskLanesView, monkeypatch) -> None:
        self.recorder = PaintRecorder(monkeypatch)
        self.by_task: dict[int, list[str]] = {}
        monkeypatch.setattr(stamps, "_STAMPS", {})
        for name in ("_picture", "_paint_fill"):
            monkeypatch.setattr(view, name, self._crediting(getattr(view, name)))

    def _crediting(self, paint):
        def call(*args):
            row = next(a for a in args if isinstance(a, TaskRow))
            start = len(self.recorder.items)
            try:
                return paint(*args)
            finally:
                self.by_task.setdefault(row.id, []).extend(self.recorder.texts()[start:])

        return call

    def clear(self) -> None:
        self.by_task.clear()
        self.recorder.clear()


@pytest.fixture
def clock():
    return HandClock(1.0)


@pytest.fixture
def lanes(qtbot, clock):
    view = TaskLanesView(fed_model(), clock)
    shown(qtbot, view, 1100, 420)
    view.new_looks_budget = math.inf  # every lane in the frame it changes
    view.refresh()
    return view


def paint(view):
    """One frame: the tick, then the paint (into a grab, which always paints)."""
    view.refresh()
    return view.viewport().grab().toImage()


def click(qtbot, view, task_id, area, button=Qt.MouseButton.LeftButton):
    pos = view.area_centre(task_id, area)
    qtbot.mouseClick(view.viewport(), button, Qt.KeyboardModifier.NoModifier, pos)


def test_each_task_gets_a_lane_with_its_name_state_and_whereabouts(lanes, monkeypatch):
    texts = LaneTexts(lanes, monkeypatch)
    lanes._pictures.clear()
    paint(lanes)
    assert sorted(texts.by_task) == [MAIN, SLEEPER, WORKER, QUICK, DOOMED, FRESH]
    expected = {
        MAIN: ["main", "awaits task", "await gather(2) · lanes_demo.py:31"],
        SLEEPER: ["sleeper", "sleeping", "sleep(4) · lanes_demo.py:12", "3.5 s"],
        WORKER: ["worker", "awaits future", "await Future · lanes_demo.py:16"],
        QUICK: ["quick", "done", "returned 42"],
        DOOMED: ["doomed", "cancelled", "CancelledError"],
        FRESH: ["fresh", "ready", "lanes_demo.py:40"],
    }
    for task, words in expected.items():
        assert set(words) <= set(texts.by_task[task]), (task, texts.by_task[task])
    # Live lanes offer ✕ (cancel), finished ones ↻ (run again).
    assert "✕" in texts.recorder.texts() and "↻" in texts.recorder.texts()
    # Lanes are stacked in the model's order, one row each.
    tops = [lanes.row_rect(task).top() for task in (MAIN, SLEEPER, WORKER, QUICK, DOOMED, FRESH)]
    assert tops == [i * lanes.row_height for i in range(6)]


def test_a_sleeping_lane_counts_down_with_the_loop_clock(lanes, clock, monkeypatch):
    texts = LaneTexts(lanes, monkeypatch)
    paint(lanes)
    assert "3.5 s" in texts.by_task[SLEEPER]
    texts.clear()
    clock.set(2.5)
    paint(lanes)  # the model is unchanged: only the bar's countdown is drawn again
    assert texts.by_task[SLEEPER] == ["2.0 s"]  # the lane's picture was kept


def test_lanes_follow_the_model_when_a_task_ends(lanes, monkeypatch):
    texts = LaneTexts(lanes, monkeypatch)
    lanes.model.apply(TaskEnded(1.2, SLEEPER, "failed", None, "ValueError: boom", "Traceback"))
    paint(lanes)
    assert {"failed", "ValueError: boom"} <= set(texts.by_task[SLEEPER])
    assert not any(text.endswith(" s") for text in texts.by_task[SLEEPER])  # no countdown


def test_only_the_lanes_in_view_are_drawn(qtbot, clock, monkeypatch):
    model = TaskModel()
    for task in range(1, 201):
        model.apply(created(task, f"t{task}", 5))
    view = TaskLanesView(model, clock)
    shown(qtbot, view, 900, 300)
    view.new_looks_budget = math.inf
    texts = LaneTexts(view, monkeypatch)
    view._pictures.clear()  # forget what the first paint, on show, kept
    paint(view)
    drawn = len(texts.by_task)
    assert 0 < drawn < 20  # a screenful, not two hundred
    assert sorted(texts.by_task) == list(range(1, drawn + 1))
    texts.clear()
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum())
    paint(view)
    assert 200 in texts.by_task and 1 not in texts.by_task


def test_an_empty_model_shows_the_placeholder(qtbot, clock, monkeypatch):
    view = TaskLanesView(TaskModel(), clock)
    shown(qtbot, view, 600, 200)
    recorder = PaintRecorder(monkeypatch)
    paint(view)
    assert recorder.texts() == ["No tasks yet. Pick a demo and press Run (F5)."]


def test_clicking_the_cross_asks_to_cancel_that_task(qtbot, lanes):
    with (
        qtbot.assertNotEmitted(lanes.rerunRequested),
        qtbot.waitSignal(lanes.cancelRequested, timeout=1000) as cancel,
    ):
        click(qtbot, lanes, WORKER, "button")
    assert cancel.args == [WORKER]
    assert lanes.selected == WORKER


def test_clicking_a_finished_lanes_button_asks_to_run_it_again(qtbot, lanes):
    with (
        qtbot.assertNotEmitted(lanes.cancelRequested),
        qtbot.waitSignal(lanes.rerunRequested, timeout=1000) as rerun,
    ):
        click(qtbot, lanes, QUICK, "button")
    assert rerun.args == [QUICK]


def test_clicking_a_lane_selects_it_without_an_intent(qtbot, lanes):
    with (
        qtbot.assertNotEmitted(lanes.cancelRequested),
        qtbot.waitSignal(lanes.taskSelected, timeout=1000) as selected,
    ):
        click(qtbot, lanes, SLEEPER, "name")
    assert selected.args == [SLEEPER]
    assert lanes.selected == SLEEPER


def test_keys_act_on_the_selected_lane(qtbot, lanes):
    lanes.select(SLEEPER)
    with qtbot.waitSignal(lanes.wakeRequested, timeout=1000) as wake:
        qtbot.keyClick(lanes, Qt.Key.Key_W)
    assert wake.args == [SLEEPER]
    with qtbot.waitSignal(lanes.delayRequested, timeout=1000) as delay:
        qtbot.keyClick(lanes, Qt.Key.Key_D)
    assert delay.args == [SLEEPER, 1.0]
    with qtbot.waitSignal(lanes.cancelRequested, timeout=1000) as cancel:
        qtbot.keyClick(lanes, Qt.Key.Key_Delete)
    assert cancel.args == [SLEEPER]
    # Down moves the selection to the next lane; W there (not sleeping) asks nothing.
    qtbot.keyClick(lanes, Qt.Key.Key_Down)
    assert lanes.selected == WORKER
    with qtbot.assertNotEmitted(lanes.wakeRequested):
        qtbot.keyClick(lanes, Qt.Key.Key_W)
    lanes.select(QUICK)
    with qtbot.waitSignal(lanes.rerunRequested, timeout=1000) as rerun:
        qtbot.keyClick(lanes, Qt.Key.Key_R)
    assert rerun.args == [QUICK]


def test_dragging_a_sleeping_bar_asks_for_that_remaining_time(qtbot, lanes):
    viewport = lanes.viewport()
    start, end = lanes.bar_point(SLEEPER, 0.75), lanes.bar_point(SLEEPER, 0.25)
    with qtbot.waitSignal(lanes.remainingRequested, timeout=1000) as moved:
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(viewport, end)
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    task, remaining = moved.args
    bar = lanes._areas(lanes.row_rect(SLEEPER))["bar"]
    assert task == SLEEPER
    # the bar spans the whole 4 s sleep: a quarter of it is one second
    assert remaining == pytest.approx(1.0, abs=4 / bar.width() + 0.01)


def test_double_clicking_a_sleeping_lane_opens_an_inline_editor(qtbot, lanes):
    qtbot.mouseDClick(
        lanes.viewport(), Qt.MouseButton.LeftButton, pos=lanes.area_centre(SLEEPER, "bar")
    )
    editor = lanes._editor
    assert isinstance(editor, QDoubleSpinBox) and editor.isVisible()
    assert editor.parentWidget() is lanes.viewport()  # over the lane, not a dialog
    assert editor.value() == pytest.approx(3.5)  # what is left of the sleep at t=1
    editor.setValue(0.5)
    with qtbot.waitSignal(lanes.remainingRequested, timeout=1000) as typed:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert typed.args == [SLEEPER, 0.5]
    assert lanes._editor is None


def test_a_lane_in_the_light_theme_is_drawn_in_its_colours(qtbot, lanes):
    try:
        theme.apply_theme("light")
        image = paint(lanes)
        rect = lanes.row_rect(MAIN)
        # the colour strip at the lane's left edge is the task's colour
        strip = image.pixelColor(rect.left() + 2, rect.center().y())
        assert strip == theme.current().task_colour(lanes.model.get(MAIN).colour)
    finally:
        theme.apply_theme("dark")


def test_a_sleep_that_began_at_loop_time_zero_spans_the_whole_bar(qtbot, clock):
    model = TaskModel()
    model.apply(created(SLEEPER, "sleeper", 10))
    model.apply(step(SLEEPER, "sleep", "sleep(4)", due=4.0, line=12, name="sleeper", t=0.0))
    view = TaskLanesView(model, clock)
    shown(qtbot, view, 1100, 200)
    view.refresh()
    start, end = view.bar_point(SLEEPER, 0.75), view.bar_point(SLEEPER, 0.25)
    with qtbot.waitSignal(view.remainingRequested, timeout=1000) as moved:
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view.viewport(), end)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    assert moved.args[1] == pytest.approx(1.0, abs=0.02)


def test_enter_in_the_editor_applies_once_and_leaves_it_closed(qtbot, lanes):
    lanes.select(SLEEPER)
    qtbot.keyClick(lanes, Qt.Key.Key_Return)
    editor = lanes._editor
    assert editor is not None and editor.isVisible()
    editor.setValue(0.5)
    with qtbot.waitSignal(lanes.remainingRequested, timeout=1000) as typed:
        qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert typed.args == [SLEEPER, 0.5]
    assert lanes._editor is None  # the Enter that applied it did not open it again
