"""TimelineView on its own: a TimelineModel fed hand-made events, a clock set by hand.

No controller and no loop: each task gets a swimlane with its run slices in its
colour, its waits between them and a mark where it ended; hovering names what is
under the pointer; the view follows "now" until the wheel or a drag takes over.
"""

import pytest
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models.timeline import TimelineModel
from coroscope.widgets.paint import theme
from coroscope.widgets.views.timeline_view import TimelineView
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.view_helpers import HandClock, PaintRecorder, shown

pytestmark = pytest.mark.timeout(30)

DEMO = "/demos/timeline_demo.py"
ALPHA, BETA = 1, 2


def fed_model() -> TimelineModel:
    model = TimelineModel()
    model.apply(TaskCreated(0.0, ALPHA, "alpha", None, "alpha", (), 1))
    model.apply(TaskCreated(0.0, BETA, "beta", None, "beta", (), 1))
    # alpha runs 0.0-0.1, sleeps until 1.1, runs to 1.2 and is done
    model.apply(TaskStep(0.1, ALPHA, 0.0, 0.1, "sleep", "sleep(1)", 1.1, ((DEMO, 5, "alpha"),)))
    model.apply(TaskStep(1.2, ALPHA, 1.1, 0.1, "done", "", None, ((DEMO, 6, "alpha"),)))
    model.apply(TaskEnded(1.2, ALPHA, "done", "None", None, None))
    # beta runs 0.2-0.3 and then waits on a future, still
    model.apply(TaskStep(0.3, BETA, 0.2, 0.1, "future", "Future", None, ((DEMO, 9, "beta"),)))
    return model


@pytest.fixture
def clock():
    return HandClock(1.5)


@pytest.fixture
def timeline(qtbot, clock):
    view = TimelineView(fed_model(), clock)
    shown(qtbot, view, 700, 200)
    view.refresh()
    return view


def lane_y(view, index):
    return theme.current().px(22) + index * view.lane_height + view.lane_height // 2


def at(view, t, index):
    return QPoint(round(view.x_of(t)), lane_y(view, index))


def wheel(view, x, delta, modifiers=Qt.KeyboardModifier.NoModifier):
    pos = QPointF(x, lane_y(view, 0))
    event = QWheelEvent(
        pos,
        QPointF(view.viewport().mapToGlobal(pos.toPoint())),
        QPoint(),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def key(view, key, modifiers=Qt.KeyboardModifier.NoModifier):
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, key, modifiers))


def test_hovering_names_the_slice_or_the_wait_under_the_pointer(timeline):
    assert timeline.describe(at(timeline, 0.05, 0)) == (
        "<b>alpha</b> ran at t=0.0000 s for 100.000 ms<br>timeline_demo.py:5 in alpha"
    )
    assert timeline.describe(at(timeline, 0.6, 0)) == (
        "<b>alpha</b> sleep sleep(1)<br>from t=0.100 to 1.100"
    )
    assert timeline.describe(at(timeline, 1.0, 1)) == (
        "<b>beta</b> future Future<br>from t=0.300 to now"
    )
    assert timeline.describe(QPoint(20, lane_y(timeline, 0))) == ""  # the name column
    assert timeline.describe(QPoint(300, 5)) == ""  # the time axis
    assert timeline.lane_at(lane_y(timeline, 2)) is None  # below the last lane


def test_lanes_paint_slices_in_the_task_colour_waits_and_now(timeline, clock, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    image = timeline.viewport().grab().toImage()
    texts = recorder.texts(timeline.viewport())
    assert {"alpha", "beta", "0 s", "1 s"} <= set(texts)  # lane names and the axis
    t = theme.current()
    alpha, beta = timeline.model.lane(ALPHA), timeline.model.lane(BETA)
    slice_pixel = image.pixelColor(at(timeline, 0.05, 0))
    assert slice_pixel == t.task_colour(alpha.colour)
    assert image.pixelColor(at(timeline, 0.25, 1)) == t.task_colour(beta.colour)
    # a wait is a thin band in its state's colour: not the slice, not the background
    wait_pixel = image.pixelColor(at(timeline, 0.6, 0))
    assert wait_pixel not in (t.task_colour(alpha.colour), t.colour("base"), t.colour("alt_base"))
    assert image.pixelColor(at(timeline, 0.6, 0) + QPoint(0, 8)) in (
        t.colour("base"),
        t.colour("alt_base"),
    )
    # the now line, below the lanes where nothing else is drawn
    now_x = round(timeline.x_of(clock.now()))
    assert image.pixelColor(now_x, image.height() - 5) == t.state_colour("failed")
    assert image.pixelColor(now_x + 20, image.height() - 5) == t.colour("base")


def test_the_view_follows_now_until_the_wheel_zooms(timeline, clock):
    assert timeline.follow and timeline.t0 == 0.0  # the whole run still fits
    clock.set(100.0)
    timeline.refresh()
    label = timeline.x_of(timeline.t0)
    assert timeline.x_of(100.0) == pytest.approx(label + 0.85 * timeline.plot_width())
    x = 400
    under = timeline.t_of(x)
    scale = timeline.scale
    wheel(timeline, x, 120)
    assert timeline.scale == pytest.approx(scale * 1.25)
    assert timeline.t_of(x) == pytest.approx(under)  # zoomed around the pointer
    assert not timeline.follow
    clock.set(200.0)
    timeline.refresh()
    assert timeline.t_of(x) == pytest.approx(under)  # no longer following
    key(timeline, Qt.Key.Key_F)
    assert timeline.follow
    timeline.refresh()
    assert timeline.x_of(200.0) == pytest.approx(label + 0.85 * timeline.plot_width())


def test_dragging_pans_and_a_double_click_follows_again(qtbot, timeline):
    viewport = timeline.viewport()
    t0 = timeline.t0
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(400, 60))
    qtbot.mouseMove(viewport, QPoint(520, 60))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(520, 60))
    assert not timeline.follow
    assert timeline.t0 == pytest.approx(t0 - 120 / timeline.scale)  # a second back
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=QPoint(400, 60))
    assert timeline.follow


def test_shift_wheel_pans_and_ctrl_keys_zoom(timeline):
    t0, scale = timeline.t0, timeline.scale
    wheel(timeline, 400, -120, Qt.KeyboardModifier.ShiftModifier)
    assert timeline.scale == scale
    assert timeline.t0 == pytest.approx(t0 + 60 / scale)
    key(timeline, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert timeline.scale == pytest.approx(scale * 1.5)
    key(timeline, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert timeline.scale == pytest.approx(scale)


def test_an_empty_model_shows_the_placeholder(qtbot, clock, monkeypatch):
    view = TimelineView(TimelineModel(), clock)
    shown(qtbot, view, 600, 200)
    view.refresh()
    recorder = PaintRecorder(monkeypatch)
    view.viewport().grab()
    assert recorder.texts(view.viewport())[-1] == "Each task's history appears here"
    assert view.lane_at(100) is None
