"""The real window at projector sizes, normal and in presentation mode.

At 1280x720 (the usual projector) and 1920x1080, with the countdown demo paused
after its first timer fired, every text the teacher points at must be whole:
the line the tasks are parked on shows in full in the Code view (the task tags
beside it take no room the code needs), no two labels of the Loop panel are
drawn over each other or cut by their widget's edge, the F1 list shows every
shortcut (or scrolls to it), and with the status bar hidden by presentation mode
the loop time and the paused state are still on screen.

What is painted is read back by recording every ``QPainter.drawText`` and
``drawStaticText`` with the rect the text really covers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from coroscope.models.task_model import STATE_LABELS
from coroscope.widgets.paint import theme
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QPainter, QStaticText, QTextCursor
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar, QWidget

pytestmark = pytest.mark.timeout(60)

SIZES = [(1280, 720), (1920, 1080)]
MODES = [False, True]  # presentation mode off / on


@dataclass(frozen=True)
class Drawn:
    device: object
    text: str
    covers: QRectF  # where the text's glyphs are, in the device's coordinates
    box: QRectF | None  # the rect it was drawn into (None: at a point)


class TextRecorder:
    """Every text painted while installed, with the rect it covers."""

    def __init__(self, monkeypatch) -> None:
        self.items: list[Drawn] = []
        draw_text, draw_static = QPainter.drawText, QPainter.drawStaticText

        def recording_text(painter, *args):
            self.items.append(self._text(painter, args))
            return draw_text(painter, *args)

        def recording_static(painter, *args):
            static = next(a for a in args if isinstance(a, QStaticText))
            first = args[0]
            point = QPointF(first) if isinstance(first, QPoint | QPointF) else QPointF(*args[:2])
            covers = painter.worldTransform().mapRect(QRectF(point, static.size()))
            self.items.append(Drawn(painter.device(), static.text(), covers, None))
            return draw_static(painter, *args)

        monkeypatch.setattr(QPainter, "drawText", recording_text)
        monkeypatch.setattr(QPainter, "drawStaticText", recording_static)

    @staticmethod
    def _text(painter: QPainter, args: tuple) -> Drawn:
        transform = painter.worldTransform()
        text = next(a for a in args if isinstance(a, str))
        first = args[0]
        if isinstance(first, QRect | QRectF) or len(args) >= 5:
            if isinstance(first, QRect | QRectF):
                box = QRectF(first)
                flags = args[1] if isinstance(args[1], int | Qt.AlignmentFlag) else 0
            else:
                box = QRectF(*args[:4])
                flags = args[4]
            covers = painter.boundingRect(box, int(flags), text)
            return Drawn(painter.device(), text, transform.mapRect(covers), transform.mapRect(box))
        point = QPointF(first) if isinstance(first, QPoint | QPointF) else QPointF(*args[:2])
        metrics = painter.fontMetrics()
        covers = QRectF(
            point.x(),
            point.y() - metrics.ascent(),
            metrics.horizontalAdvance(text),
            metrics.height(),
        )
        return Drawn(painter.device(), text, transform.mapRect(covers), None)

    def clear(self) -> None:
        self.items.clear()

    def within(self, root: QWidget) -> list[tuple[Drawn, QRectF]]:
        """What was drawn on ``root`` or its children, with rects in ``root``'s frame."""
        seen = set()
        found = []
        for item in self.items:
            device = item.device
            if not isinstance(device, QWidget) or not (device is root or root.isAncestorOf(device)):
                continue
            offset = device.mapTo(root, QPoint(0, 0))
            rect = item.covers.translated(offset.x(), offset.y())
            key = (id(device), item.text, rect.x(), rect.y(), rect.width(), rect.height())
            if key not in seen and item.text.strip():
                seen.add(key)
                found.append((item, rect))
        return found


def overlap(a: QRectF, b: QRectF) -> bool:
    both = a.intersected(b)
    return both.width() > 1 and both.height() > 1


def inside(inner: QRectF, outer: QRectF, slack: float = 1.0) -> bool:
    return outer.adjusted(-slack, -slack, slack, slack).contains(inner)


def settle(window, rounds: int = 4) -> None:
    for _ in range(rounds):
        QApplication.processEvents()
        window.tick()


@pytest.fixture(
    params=[(s, m) for s in SIZES for m in MODES],
    ids=lambda p: f"{p[0][0]}x{p[0][1]}-{'presenting' if p[1] else 'normal'}",
)
def shown(request, qtbot, window):
    """The window at a projector size, the countdown paused just after task3's timer."""
    (width, height), presenting = request.param
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.size().width() == width, timeout=2000)
    assert window.size().height() == height  # the offscreen screen does not cap it
    classroom = window.classroom
    classroom.presentation_action.setChecked(presenting)
    c = window.controller
    c.pause()
    window.run_demo("countdown")
    for _ in range(100):  # until task3, which sleeps 2 s, is done: one timer fired
        task3 = c.tasks.by_name("task3")
        if (task3 is not None and task3.state == "done") or c.step() == "idle":
            break
    settle(window)
    yield window, presenting
    classroom.help_overlay.close_overlay()
    classroom.presentation_action.setChecked(False)


def raise_dock(window, name: str) -> QDockWidget:
    dock = window.findChild(QDockWidget, name)
    dock.show()
    dock.raise_()
    settle(window)
    return dock


# -- the Code view ------------------------------------------------------------------


def test_the_parked_line_shows_in_full_and_the_tags_take_no_room_from_it(shown):
    window, _presenting = shown
    raise_dock(window, "code_dock")
    code = window.code
    lines = code.toPlainText().splitlines()
    sleep_line = next(i for i, t in enumerate(lines, 1) if "await asyncio.sleep(seconds)" in t)
    assert code.key_line() == sleep_line  # where task1 and task2 are parked
    assert sorted(n for _c, n, _i in code.marks()[sleep_line]) == ["task1", "task2"]
    block = code.document().findBlockByNumber(sleep_line - 1)
    text = block.text()
    stripped = text.strip()
    cursor = QTextCursor(block)
    cursor.setPosition(block.position() + len(text) - len(text.lstrip()))
    start = code.cursorRect(cursor)
    width = code.fontMetrics().horizontalAdvance(stripped)
    shown_text = QRectF(start.left(), start.top(), width, start.height())
    viewport = QRectF(code.viewport().rect())
    assert inside(shown_text, viewport, slack=0), (shown_text, viewport, code._tags.width())
    # Indentation and all, whenever the viewport is wide enough for the whole line.
    whole = code.fontMetrics().horizontalAdvance(text) + 2 * code.document().documentMargin()
    if whole <= viewport.width():
        cursor.setPosition(block.position())
        assert code.cursorRect(cursor).left() >= 0
    # The task markers take a sliver, not a quarter of the panel.
    assert code._tags.width() <= 0.08 * code.width()


def test_the_selected_task_s_line_is_brought_into_view(shown, qtbot):
    window, _presenting = shown
    raise_dock(window, "code_dock")
    code = window.code
    code.verticalScrollBar().setValue(code.verticalScrollBar().maximum())
    code.horizontalScrollBar().setValue(code.horizontalScrollBar().maximum())
    main = window.controller.tasks.by_name("main")
    window.lanes.select(main.id)
    settle(window)
    line = main.line[1]
    assert code.key_line() == line
    block = code.document().findBlockByNumber(line - 1)
    geometry = code.blockBoundingGeometry(block).translated(code.contentOffset())
    assert geometry.top() >= 0 and geometry.bottom() <= code.viewport().height()
    cursor = QTextCursor(block)
    text = block.text()
    cursor.setPosition(block.position() + len(text) - len(text.lstrip()))
    assert 0 <= code.cursorRect(cursor).left() < code.viewport().width()


# -- the Loop panel -----------------------------------------------------------------


def loop_panel_problems(window, monkeypatch) -> tuple[list[str], list[str]]:
    """The texts the Loop panel paints, and each one cut or drawn over another."""
    raise_dock(window, "loop_dock")
    panel = window.findChild(QDockWidget, "loop_dock").widget()
    body = panel.widget()
    settle(window)
    recorder = TextRecorder(monkeypatch)
    body.grab()
    drawn = recorder.within(body)
    problems = []
    for item, _rect in drawn:
        device_rect = QRectF(item.device.rect())
        local = item.covers
        if not inside(local, device_rect):
            problems.append(f"{item.text!r} cut by the edge of {item.device.accessibleName()}")
        elif item.box is not None and not inside(local, item.box):
            problems.append(f"{item.text!r} cut by its own rect")
    for index, (a, ra) in enumerate(drawn):
        for b, rb in drawn[index + 1 :]:
            if overlap(ra, rb):
                problems.append(f"{a.text!r} overlaps {b.text!r}")
    # The sections follow each other without covering one another.
    widgets = [w for w in body.findChildren(QWidget) if w.parent() is body and w.isVisible()]
    for index, a in enumerate(widgets):
        for b in widgets[index + 1 :]:
            if a.geometry().intersects(b.geometry()):
                problems.append(f"{a.accessibleName()} lies over {b.accessibleName()}")
    return [item.text for item, _r in drawn], problems


def test_every_state_pill_of_a_lane_shows_its_whole_label(shown):
    """The main task's pill reads "awaits future" in full, in both modes."""
    window, _presenting = shown
    lanes = window.lanes
    main = window.controller.tasks.by_name("main")
    assert main.state == "future"
    areas = lanes._areas(lanes.row_rect(main.id))
    font = lanes._font(9, bold=True)
    room = areas["state"].width() - theme.current().px(8)
    for label in STATE_LABELS.values():
        assert lanes._elide(label, font, room) == label, (label, room)
    # and the columns still do not overlap
    order = ["name", "state", "bar", "button"]
    for left, right in itertools.pairwise(order):
        assert areas[left].right() < areas[right].left(), (left, right, areas)


def test_no_tab_bar_is_left_over_a_panel_after_the_layout_changes(qtbot, window):
    """Switching theme and presentation mode lays the docks out again; Qt may keep
    the old tab bar of a tabbed group showing where the group was (over the
    Timeline, here), beside the new one. Only one may show per group."""
    window.resize(1280, 800)
    classroom = window.classroom
    for light, presenting in ((True, True), (False, False), (True, False), (False, True)):
        classroom.light_action.setChecked(light)
        classroom.presentation_action.setChecked(presenting)
        settle(window)
        seen: dict[tuple[str, ...], int] = {}
        for bar in window.findChildren(QTabBar):
            if bar.parent() is window and bar.isVisible():
                tabs = tuple(bar.tabText(i) for i in range(bar.count()))
                seen[tabs] = seen.get(tabs, 0) + 1
        assert all(count == 1 for count in seen.values()), (light, presenting, seen)
    classroom.presentation_action.setChecked(False)
    classroom.light_action.setChecked(False)


def test_no_two_labels_of_the_loop_panel_overlap_or_are_cut(shown, monkeypatch):
    window, _presenting = shown
    texts, problems = loop_panel_problems(window, monkeypatch)
    assert "Lag" in texts
    assert any(t.startswith("p50 ") for t in texts)  # task3's timer fired
    assert any(t.startswith("worst ") for t in texts)
    assert sum(1 for t in texts if t.startswith("sleep(")) == 2  # task1's and task2's
    assert not problems, problems


@pytest.mark.parametrize("presenting", MODES, ids=["normal", "presenting"])
def test_the_loop_panel_before_any_timer_fired(qtbot, window, monkeypatch, presenting):
    window.resize(1280, 720)
    window.classroom.presentation_action.setChecked(presenting)
    try:
        c = window.controller
        c.pause()
        window.run_demo("countdown")
        for _ in range(4):  # main and the three countdowns start; no timer is due yet
            c.step()
        texts, problems = loop_panel_problems(window, monkeypatch)
        assert "no timer fired in the last 10 s" in texts
        assert not problems, problems
    finally:
        window.classroom.presentation_action.setChecked(False)


# -- the F1 list ----------------------------------------------------------------------


def test_the_shortcut_list_shows_every_entry(shown, monkeypatch, qtbot):
    window, _presenting = shown
    classroom = window.classroom
    classroom.show_help()
    help_overlay = classroom.help_overlay
    entries = list(help_overlay._entries)
    assert len(entries) > 11
    recorder = TextRecorder(monkeypatch)
    painted: set[str] = set()
    for _ in range(len(entries)):  # scroll down until the last entry shows (if it must)
        recorder.clear()
        help_overlay.grab()
        drawn = recorder.within(help_overlay)
        painted |= {item.text for item, _r in drawn}
        overlay_rect = QRectF(help_overlay.rect())
        rows = [(item, rect) for item, rect in drawn]
        for item, rect in rows:
            assert inside(rect, overlay_rect), item.text
        for index, (a, ra) in enumerate(rows):
            for b, rb in rows[index + 1 :]:
                assert not overlap(ra, rb), (a.text, b.text)
        if all(keys in painted and text in painted for keys, text in entries):
            break
        qtbot.keyClick(window, Qt.Key.Key_PageDown)
        assert help_overlay.isVisible()  # scrolling keys do not close it
    missing = [(k, t) for k, t in entries if k not in painted or t not in painted]
    assert not missing
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not help_overlay.isVisible()


def test_a_list_too_long_for_the_window_scrolls_with_keys_and_wheel(qtbot, window):
    from PySide6.QtGui import QWheelEvent

    classroom = window.classroom
    classroom.presentation_action.setChecked(True)
    try:
        window.resize(1024, 600)
        qtbot.waitUntil(lambda: window.height() == 600, timeout=2000)
        entries = [(f"Ctrl+{i}", f"Shortcut number {i}") for i in range(120)]
        classroom.help_overlay.show_shortcuts(entries)
        overlay = classroom.help_overlay
        assert overlay.max_scroll() > 0
        first = [i for i, _k, _t in overlay.layout_entries()]
        qtbot.keyClick(window, Qt.Key.Key_Down)
        assert overlay.isVisible()
        after = [i for i, _k, _t in overlay.layout_entries()]
        assert after != first
        wheel = QWheelEvent(
            QPointF(10, 10),
            QPointF(window.mapToGlobal(QPoint(10, 10))),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(window, wheel)
        assert [i for i, _k, _t in overlay.layout_entries()] == first  # back up
        for index in range(len(entries)):
            overlay.scroll_to(index)
            shown_now = {i: (k, t) for i, k, t in overlay.layout_entries()}
            assert index in shown_now
            keys, text = shown_now[index]
            assert inside(keys, overlay.box()) and inside(text, overlay.box())
        qtbot.keyClick(window, Qt.Key.Key_Escape)
        assert not overlay.isVisible()
    finally:
        classroom.presentation_action.setChecked(False)


# -- the loop clock ---------------------------------------------------------------------


def test_the_loop_time_and_paused_state_stay_on_screen(shown, monkeypatch):
    window, presenting = shown
    c = window.controller
    assert c.clock.paused
    if not presenting:
        assert window.statusBar().isVisible()
        assert "paused" in window.time_label.text()
        return
    badge = window.classroom.clock_badge
    assert not window.statusBar().isVisible()  # presentation mode hides the chrome...
    assert badge.isVisible() and not badge.visibleRegion().isEmpty()  # ...not the clock
    top_left = badge.mapTo(window, QPoint(0, 0))
    assert QRect(top_left, badge.size()) == QRect(top_left, badge.size()).intersected(window.rect())
    assert badge.text() == f"t = {c.clock.run_time():.2f} s · paused"
    # Every toolbar button still fits beside it (none pushed into the overflow menu).
    for action in window.toolbar.actions():
        if action.isVisible() and not action.isSeparator():
            assert window.toolbar.widgetForAction(action).isVisible(), action.text()
    recorder = TextRecorder(monkeypatch)
    badge.grab()
    drawn = recorder.within(badge)
    assert [item.text for item, _r in drawn] == [f"t = {c.clock.run_time():.2f} s", "paused"]
    for item, rect in drawn:
        assert inside(rect, QRectF(badge.rect())), item.text
    # Large: at least the size of the lanes' text in presentation mode.
    assert badge.height() >= window.toolbar.iconSize().height() * 0.9
    c.resume()
    window.tick()
    assert badge.text().endswith("running")
    c.pause()
