"""The await graph shows an ending travel to whoever awaited it (issue 19, item 2).

An ended task's node lingers a moment in its end state with its outcome while a
pulse runs from it to each awaiter, then goes; and the graph is laid out so no
arrow crosses a box. The model's wall clock is injected, so nothing sleeps.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models import await_graph
from coroscope.models.await_graph import AwaitGraph, task_key
from coroscope.models.task_model import TaskModel
from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QColor

from tests.view_helpers import HandClock

MAIN, T1, T2, T3, T4 = 1, 2, 3, 4, 5


class Wall:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def created(task: int, name: str, parent: int | None = None) -> TaskCreated:
    return TaskCreated(0.0, task, name, parent, f"{name}()", (), run=1)


def step(task: int, waiting, awaiting: str = "", targets: tuple[int, ...] = ()) -> TaskStep:
    return TaskStep(0.0, task, 0.0, 0.0, waiting, awaiting, None, (), targets)


def ended(task: int, state, result: str | None = None, exception: str | None = None):
    return TaskEnded(1.0, task, state, result, exception, None)


class Fixture:
    """A task model and await graph fed in the app's order (graph first)."""

    def __init__(self) -> None:
        self.wall = Wall()
        self.tasks = TaskModel()
        try:
            self.graph = AwaitGraph(self.tasks, wall=self.wall)
        except TypeError:  # a graph without an injectable clock fails the asserts instead
            self.graph = AwaitGraph(self.tasks)

    def feed(self, *events) -> None:
        for event in events:
            self.graph.apply(event)
            self.tasks.apply(event)


def typical() -> Fixture:
    """main awaits gather(task1, task2, task3); task2 awaits task4; the rest sleep."""
    f = Fixture()
    f.feed(
        created(MAIN, "main"),
        created(T1, "task1", MAIN),
        created(T2, "task2", MAIN),
        created(T3, "task3", MAIN),
        created(T4, "task4", T2),
        step(MAIN, "future", "gather(3)", (T1, T2, T3)),
        step(T1, "sleep", "sleep(4)"),
        step(T2, "task", "task4", (T4,)),
        step(T3, "sleep", "sleep(2)"),
        step(T4, "sleep", "sleep(3)"),
    )
    return f


def node(graph: AwaitGraph, key: str):
    return next((n for n in graph.nodes() if n.key == key), None)


# -- the model -------------------------------------------------------------------------
def test_cancelled_task_lingers_and_pulses_to_its_awaiter_then_goes():
    f = typical()
    f.feed(ended(T3, "cancelled", exception="CancelledError"))

    lingering = node(f.graph, task_key(T3))
    assert lingering is not None
    assert lingering.ended == "cancelled"
    assert lingering.outcome == "CancelledError"
    assert ("gather(3)", "task3") in f.graph.labelled_edges()
    pulses = f.graph.pulses()
    assert [(p.src, p.dst, p.kind, p.label) for p in pulses] == [
        (task_key(T3), f"{task_key(MAIN)}/wait", "cancelled", "CancelledError")
    ]
    assert pulses[0].progress == 0.0

    f.wall.now += 0.5
    (pulse,) = f.graph.pulses()
    assert 0.0 < pulse.progress < 1.0
    assert f.graph.fade(T3) == 1.0

    f.wall.now += f.graph.pulse_seconds  # the dot has arrived; the node still fades
    assert f.graph.pulses() == []
    assert node(f.graph, task_key(T3)) is not None
    assert 0.0 < f.graph.fade(T3) < 1.0

    f.wall.now += f.graph.linger_seconds
    assert node(f.graph, task_key(T3)) is None
    assert f.graph.ended(T3) is None
    assert f.graph.pulses() == []
    assert ("gather(3)", "task3") not in f.graph.labelled_edges()


def test_failed_and_returned_outcomes_travel_in_their_own_kind():
    f = typical()
    f.feed(ended(T4, "failed", exception="ValueError: boom"))
    f.feed(ended(T1, "done", result="3"))

    assert node(f.graph, task_key(T4)).outcome == "ValueError: boom"
    assert node(f.graph, task_key(T1)).outcome == "returned 3"
    got = {(p.src, p.dst, p.kind, p.label) for p in f.graph.pulses()}
    assert got == {
        (task_key(T4), task_key(T2), "failed", "ValueError: boom"),
        (task_key(T1), f"{task_key(MAIN)}/wait", "done", "returned 3"),
    }


def test_pulse_finds_an_awaiter_that_moved_on():
    f = typical()
    f.feed(ended(T4, "failed", exception="ValueError: boom"))
    f.feed(step(T2, "sleep", "sleep(1)"))  # task2 caught it and sleeps now
    (pulse,) = f.graph.pulses()
    assert pulse.dst == f"{task_key(T2)}/wait"
    assert ("sleep(1)", "task4") in f.graph.labelled_edges()


def test_an_ending_nobody_awaited_lingers_without_a_pulse():
    f = Fixture()
    f.feed(created(MAIN, "main"), step(MAIN, "sleep", "sleep(1)"))
    f.feed(ended(MAIN, "done", result="None"))
    assert node(f.graph, task_key(MAIN)).ended == "done"
    assert f.graph.pulses() == []
    f.wall.now += 10
    assert f.graph.nodes() == []


def test_cycles_and_thousands_of_tasks_stay_bounded():
    f = Fixture()
    f.feed(created(1, "a"), created(2, "b"), step(1, "task", "b", (2,)), step(2, "task", "a", (1,)))
    assert {n.key for n in f.graph.nodes()} == {task_key(1), task_key(2)}
    assert ("a", "b") in f.graph.labelled_edges() and ("b", "a") in f.graph.labelled_edges()

    f = Fixture()
    many = range(2, 1002)
    f.feed(created(1, "main"), *(created(i, f"w{i}", 1) for i in many))
    f.feed(
        step(1, "future", "gather(1000)", tuple(many)),
        *(step(i, "sleep", "sleep(1)") for i in many),
    )
    layout = f.graph.layout(max_slots=4, max_rows=6)
    tasks = {n.task for n in layout.nodes}
    assert len(tasks) <= 5 and layout.slots == 4
    assert layout.hidden == 1001 - len(tasks)
    assert len(f.graph.layout().nodes) <= 2 * await_graph.MAX_TASKS
    # No two boxes share a cell.
    assert len(set(layout.cells.values())) == len(layout.cells)


# -- the view --------------------------------------------------------------------------
@pytest.fixture
def view(qtbot):
    from coroscope.widgets.paint import theme
    from coroscope.widgets.views.await_graph_view import AwaitGraphView

    theme.apply_theme("dark")

    def make(f: Fixture, width: int = 420, height: int = 300) -> AwaitGraphView:
        widget = AwaitGraphView(f.graph, HandClock())
        qtbot.addWidget(widget)
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        return widget

    return make


def _close(a: QColor, b: QColor, tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a.getRgb()[:3], b.getRgb()[:3], strict=True))


def test_view_paints_the_pulse_on_its_way_to_the_awaiter(view):
    from coroscope.widgets.paint import theme

    f = typical()
    widget = view(f)
    f.feed(ended(T3, "cancelled", exception="CancelledError"))
    f.wall.now += 0.3
    widget.refresh()
    image = widget.grab().toImage()

    (drawn,) = widget.drawn_pulses
    pulse, point = drawn
    assert pulse.kind == "cancelled" and pulse.src == task_key(T3)
    src = widget.drawn_rects[task_key(T3)]
    dst = widget.drawn_rects[f"{task_key(MAIN)}/wait"]
    # On its way: above the ended node, below the awaiter, off both boxes.
    assert dst.bottom() <= point.y() <= src.top()
    assert not src.contains(point) and not dst.contains(point)
    ratio = image.devicePixelRatio()
    pixel = image.pixelColor(round(point.x() * ratio), round(point.y() * ratio))
    assert _close(pixel, theme.current().state_colour("cancelled")), pixel.name()
    # The ended node itself is drawn, ringed in its end state's colour.
    ring = [
        image.pixelColor(round((src.left() + dx) * ratio), round(src.center().y() * ratio))
        for dx in (-1, 0, 1, 2)
    ]
    assert any(_close(c, theme.current().state_colour("cancelled")) for c in ring), ring

    f.wall.now += 0.4
    widget.refresh()
    widget.grab()
    (later,) = widget.drawn_pulses
    target = QPointF(dst.center().x(), dst.bottom())
    assert QLineF(later[1], target).length() < QLineF(point, target).length()  # nearer

    f.wall.now += f.graph.linger_seconds
    widget.grab()
    assert widget.drawn_pulses == []
    assert task_key(T3) not in widget.drawn_rects


def diamond() -> Fixture:
    """A task awaited twice: main gathers a and b, and both await shared."""
    f = Fixture()
    f.feed(
        created(1, "main"),
        created(2, "a", 1),
        created(3, "b", 1),
        created(4, "shared", 1),
        step(1, "future", "gather(2)", (2, 3)),
        step(2, "task", "shared", (4,)),
        step(3, "task", "shared", (4,)),
        step(4, "sleep", "sleep(5)"),
    )
    return f


def _crosses(line: QLineF, box: QRectF) -> bool:
    inner = box.adjusted(1, 1, -1, -1)
    steps = max(2, round(line.length() * 2))
    return any(inner.contains(line.pointAt(i / steps)) for i in range(steps + 1))


@pytest.mark.parametrize("size", [(420, 300), (1280, 800)])
@pytest.mark.parametrize("make", [typical, diamond])
def test_no_arrow_passes_through_a_box(view, size, make):
    f = make()
    widget = view(f, *size)
    widget.grab()
    rects = widget.drawn_rects
    assert {n.key for n in f.graph.nodes()} == set(rects)
    assert widget.hidden == 0
    area = QRectF(widget.rect())
    assert all(area.contains(r) for r in rects.values()), "a box is clipped"
    assert len(widget.drawn_edges) == len(f.graph.edges())
    for edge, route in widget.drawn_edges:
        assert len(route) >= 2
        for a, b in pairwise(route):
            for key, box in rects.items():
                if key not in (edge.src, edge.dst):
                    assert not _crosses(QLineF(a, b), box), (edge, key)
        # Each arrow leaves its awaiter and reaches what it awaits.
        assert rects[edge.src].adjusted(-1, -1, 1, 1).contains(route[0])
        assert rects[edge.dst].adjusted(-1, -1, 1, 1).contains(route[-1])
    # Readable: boxes not shrunk below the view's smallest scale.
    assert min(r.width() for r in rects.values()) >= 150 * 0.6 - 1


def test_view_counts_what_does_not_fit(view):
    f = Fixture()
    many = range(2, 1002)
    f.feed(created(1, "main"), *(created(i, f"w{i}", 1) for i in many))
    f.feed(
        step(1, "future", "gather(1000)", tuple(many)),
        *(step(i, "sleep", "sleep(1)") for i in many),
    )
    widget = view(f)
    widget.grab()
    assert 0 < len(widget.drawn_rects) <= 2 * await_graph.MAX_TASKS
    assert widget.hidden == 1001 - len({k.split("/")[0] for k in widget.drawn_rects})
