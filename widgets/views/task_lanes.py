"""One lane per task: its state, what it waits for, and controls to steer it.

Rows are painted, not built from child widgets, and only the visible ones are
drawn, so ten thousand tasks scroll as smoothly as ten. The view reads a
``TaskModel`` on each frame tick and emits intents; it never touches the loop.

Mouse: click the ✕ to cancel (↻ runs a finished task again); drag along a
sleeping task's bar to set its remaining time, or double-click the bar to type
it; right-click for every action. Keys act on the selected lane: Delete cancels,
W wakes, D delays by a second, R runs again, Enter edits the remaining time.
A task with a problem found (``set_problems``) wears a ⚠ beside its name.
"""

from __future__ import annotations

import html
import math
from time import perf_counter

from coroscope.loop.clock import VirtualClock
from coroscope.models.task_model import STATE_LABELS, TaskModel, TaskRow
from coroscope.widgets.paint import theme
from coroscope.widgets.paint.painted_rows import PaintedRows
from coroscope.widgets.paint.panel_sizes import LANE_ROW_HEIGHT, LANES_HINT_ROWS, LANES_HINT_WIDTH
from coroscope.widgets.paint.stamps import draw_stamp
from coroscope.widgets.paint.static_text import draw_static_text
from coroscope.widgets.views.task_actions import task_actions
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDoubleSpinBox,
    QStyle,
    QWidget,
)

_NAME_W = 124
_STATE_W = 118
_INFO_W = 260
_BUTTON_W = 30
_NO_LOOKS: dict = {}
PROBLEM_BADGE = "⚠"


class TaskLanesView(PaintedRows, QAbstractScrollArea):
    cancelRequested = Signal(object)
    wakeRequested = Signal(object)
    delayRequested = Signal(object, float)
    remainingRequested = Signal(object, float)
    rerunRequested = Signal(object)
    taskSelected = Signal(object)

    def __init__(self, model: TaskModel, clock: VirtualClock, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.clock = clock
        self._rows: list[TaskRow] = []
        self._version = -1
        self._selected: int | None = None
        self._hover: int | None = None
        self._drag: tuple[int, float] | None = None  # (task id, span seconds)
        self._drag_remaining: float | None = None
        self._warm_size: QSize | None = None  # None: not yet (the window is still building)
        self._behind = False  # some lanes are not drawn as they now look
        # Each visible row's picture, by task id, with what it shows: a row that
        # looks the same as last frame is copied, not drawn again (only a sleeping
        # task's bar moves), which keeps frames cheap while timers fire.
        self._pictures: dict[int, dict[tuple, QPixmap]] = {}
        self._problems: dict[int, str] = {}  # task id -> what was found wrong with it
        # A viewport made here rather than by Qt: PySide6 spends ~30 ms the first
        # time it is handed a plain QWidget it did not create (it inspects every
        # widget class), and this would be the first one, delaying the window.
        self.setViewport(QWidget())
        # paintEvent fills the whole viewport: nothing behind it needs repainting.
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("")
        self.setAccessibleName("Task lanes")

    # -- geometry ------------------------------------------------------------
    @property
    def row_height(self) -> int:
        return theme.current().px(LANE_ROW_HEIGHT)

    def sizeHint(self) -> QSize:
        return QSize(LANES_HINT_WIDTH, self.row_height * LANES_HINT_ROWS)

    def _first_visible(self) -> int:
        return self.verticalScrollBar().value() // self.row_height

    def row_at(self, pos: QPoint) -> TaskRow | None:
        index = (pos.y() + self.verticalScrollBar().value()) // self.row_height
        if 0 <= index < len(self._rows):
            return self._rows[index]
        return None

    def row_rect(self, task_id: int) -> QRect | None:
        for index, row in enumerate(self._rows):
            if row.id == task_id:
                top = index * self.row_height - self.verticalScrollBar().value()
                return QRect(0, top, self.viewport().width(), self.row_height)
        return None

    def _areas(self, rect: QRect) -> dict[str, QRect]:
        t = theme.current()
        x = rect.left() + t.px(10)
        # Fixed columns shrink on narrow views (presentation mode) so the bar survives.
        name_w = min(t.px(_NAME_W), rect.width() // 5)
        # The pill fits its longest label ("awaits future") whole at any font
        # size, up to a quarter of the lane; the name column gives way first.
        state_w = min(max(t.px(_STATE_W), self._widest_state()), rect.width() // 4)
        name = QRect(x, rect.top(), name_w, rect.height())
        state = QRect(name.right() + t.px(6), rect.top(), state_w, rect.height())
        button = QRect(
            rect.right() - t.px(_BUTTON_W) - t.px(6), rect.top(), t.px(_BUTTON_W), rect.height()
        )
        # The bar keeps at least 40% of the free width; the info text gets the rest.
        free = max(0, button.left() - state.right() - t.px(26))
        info_w = min(t.px(_INFO_W), int(free * 0.65))
        if free - info_w < t.px(90):  # too narrow for both: the bar matters more
            info_w = 0
        info = QRect(button.left() - info_w - t.px(6), rect.top(), info_w, rect.height())
        bar = QRect(
            state.right() + t.px(10),
            rect.top(),
            info.left() - state.right() - t.px(20),
            rect.height(),
        )
        return {"name": name, "state": state, "bar": bar, "info": info, "button": button}

    def bar_point(self, task_id: int, fraction: float) -> QPoint:
        rect = self.row_rect(task_id)
        if rect is None:
            raise LookupError(f"no lane for task {task_id}")
        bar = self._areas(rect)["bar"]
        return QPoint(bar.left() + round(fraction * bar.width()), bar.center().y())

    # -- frame tick ----------------------------------------------------------
    def refresh(self) -> None:
        changed = self.model.version != self._version
        if changed:
            self._version = self.model.version
            self._rows = self.model.rows()
            total = len(self._rows) * self.row_height
            bar = self.verticalScrollBar()
            bar.setRange(0, max(0, total - self.viewport().height()))
            bar.setPageStep(self.viewport().height())
            bar.setSingleStep(self.row_height)
            # Qt shows or hides the scroll bar in a queued call: make it now, not
            # after this frame's paint, or a run's first frame draws every lane
            # at one width and the next frame draws them all again, narrower.
            self._settling = True  # the view narrowing for it is not asked for
            try:
                QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
            finally:
                self._settling = False
        warm = self._warm_size
        if not self._rows and warm is not None and warm != self.viewport().size():
            self.warm_up()
        animating = any(row.state == "sleep" for row in self._visible_rows())
        if changed or animating or self._behind or self._drag is not None:
            self.viewport().update()

    def set_problems(self, problems: dict[int, str]) -> None:
        """Badge the lanes of these tasks (id -> the titles of their problems)."""
        if problems != self._problems:
            self._problems = problems
            self.viewport().update()

    def problems(self) -> dict[int, str]:
        return self._problems

    def _visible_rows(self) -> list[TaskRow]:
        first = self._first_visible()
        count = self.viewport().height() // self.row_height + 2
        return self._rows[first : first + count]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._version = -1
        self._asked = self._asked or not self._settling
        self.refresh()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self._asked = True
        super().scrollContentsBy(dx, dy)

    # -- painting ------------------------------------------------------------
    def warm_up(self) -> None:
        """Draw a lane in every state once, off screen. The first frame of a run
        draws every visible lane at once while the run's first timers fall due;
        warmed up, it copies kept pieces and glyphs instead of making them
        (the first lane drawn in a fresh process costs about 6 ms, later ones 0.2).
        The window calls this once it is built, and the frame tick again while
        no lanes show, at each new size."""
        self._warm_size = self.viewport().size()
        width = self.viewport().width()
        if width <= 0:
            return
        ratio = self.viewport().devicePixelRatioF()
        # A run's lanes soon fill the view, and the scroll bar then narrows it.
        bar_width = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        for row_width in (width, max(1, width - bar_width)):
            rect = QRect(0, 0, row_width, self.row_height)
            areas = self._areas(rect)
            for index, state in enumerate(STATE_LABELS):
                moving = state == "sleep"
                row = TaskRow(
                    0,
                    "Task-0123456789",
                    None,
                    "main",
                    0.0,
                    state=state,
                    awaiting="sleep(1)",
                    due=1.0,
                    wait_started=0.0,
                )
                picture = self._picture(row, rect, areas, ratio, index, moving)
                if moving:
                    p = QPainter(picture)
                    try:
                        self._paint_fill(p, row, areas["bar"], 0.5)
                    finally:
                        p.end()

    def paintEvent(self, event) -> None:
        # Lanes scrolled or resized into view were asked for: they are drawn whole.
        budget = math.inf if self._asked else self.new_looks_budget
        self._asked = False
        t = theme.current()
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.viewport().rect(), t.colour("base"))
        if not self._rows:
            theme.draw_placeholder(
                painter, self.viewport().rect(), "No tasks yet. Pick a demo and press Run (F5).", 11
            )
            return
        now = self.clock.now()
        first = self._first_visible()
        offset = self.verticalScrollBar().value()
        height = self.row_height
        viewport = self.viewport()
        width = viewport.width()
        ratio = viewport.devicePixelRatioF()
        # What every row's look depends on, and where a row's bar is (worked out
        # once per frame, not per row: this runs thirty times a second).
        view_look = (t.name, t.scale, width, height, ratio, self.can_rerun)
        row_rect = QRect(0, 0, width, height)  # a row at the top: pictures are drawn so
        areas = self._areas(row_rect)
        bar = areas["bar"]
        selected, hover, hover_button = self._selected, self._hover, self._hover_button
        problems = self._problems
        dragged = self._drag[0] if self._drag is not None else None
        pictures = self._pictures
        shown: dict[int, dict[tuple, QPixmap]] = {}
        drawing = last_cost = 0.0  # seconds spent on new looks this frame, and the last
        self._behind = False
        rows = self._rows
        for index in range(first, min(len(rows), first + viewport.height() // height + 2)):
            row = rows[index]
            top = index * height - offset
            moving = row.state == "sleep" or row.id == dragged
            key = (
                view_look,
                index % 2,
                row.id == selected,
                row.id == hover,
                row.id == hover and hover_button,
                row.name,
                row.colour,
                # what the state pill and the info text are made from
                row.state,
                row.awaiting,
                row.frames,
                row.result,
                row.exception,
                problems.get(row.id),
                moving,
            )
            looks = pictures.get(row.id, _NO_LOOKS)
            picture = looks.get(key)
            if picture is None and drawing + last_cost > budget:
                # Many lanes changed at once (a run starting, a burst of timers):
                # this one keeps its last look, or shows only its shapes, until a
                # later frame, so that drawing them all does not stall the loop.
                self._behind = True
                last = next(iter(looks.items()), None)
                if last is not None and last[0][0] == view_look:
                    key, picture = last
                    moving = key[-1]
            elif picture is None:
                started = perf_counter()
                picture = self._picture(row, row_rect, areas, ratio, index, moving)
                last_cost = perf_counter() - started
                drawing += last_cost
            if picture is None:  # new, past the budget: its shapes only, kept for nothing
                painter.translate(0, top)
                self._paint_shapes(painter, row, row_rect, index, moving, areas)
                painter.translate(0, -top)
            else:
                # This look and the one before it: a task that a timer wakes goes
                # from "sleeping" to "ready" and back between frames, and each look
                # is then drawn once rather than on every change.
                kept = {key: picture}
                for other, other_picture in looks.items():
                    if other != key:
                        kept[other] = other_picture
                        break
                shown[row.id] = kept
                painter.drawPixmap(0, top, picture)
            if moving:
                self._paint_fill(painter, row, bar.translated(0, top), now)
        self._pictures = shown  # rows scrolled out of view let theirs go

    def _picture(
        self,
        row: TaskRow,
        rect: QRect,
        areas: dict[str, QRect],
        ratio: float,
        index: int,
        moving: bool,
    ) -> QPixmap:
        """The row as it looks apart from a moving bar's fill, drawn in ``rect`` (a
        row at the top of the view) whose ``areas`` are as ``_areas`` gives them."""
        picture = QPixmap(rect.size() * ratio)
        picture.setDevicePixelRatio(ratio)
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(rect, theme.current().colour("base"))
        try:
            self._paint_row(p, row, rect, index, moving, areas)
        finally:
            p.end()  # a pixmap freed while a painter is on it crashes Qt
        return picture

    def _paint_row(
        self, p: QPainter, row: TaskRow, rect: QRect, index: int, moving: bool, areas: dict
    ) -> None:
        t = theme.current()
        self._paint_shapes(p, row, rect, index, moving, areas)
        font = self._font(10.5, bold=True)
        name_area = areas["name"]
        if row.id in self._problems:
            badge = self._font(11, bold=True)
            width = t.px(18)
            name_area = name_area.adjusted(0, 0, -width, 0)
            spot = QRect(name_area.right() + 1, name_area.top(), width, name_area.height())
            draw_static_text(p, spot, PROBLEM_BADGE, badge, t.state_colour("cancelled"), "right")
        name = self._elide(row.name, font, name_area.width())
        pen = t.task_colour(row.colour) if row.live else t.colour("dim_text")
        draw_static_text(p, name_area, name, font, pen)
        # info: where it is parked, or how it ended
        font = self._font(9, mono=True)
        info = self._elide(self._info_text(row), font, areas["info"].width())
        draw_static_text(p, areas["info"], info, font, t.colour("dim_text"), "right")

    def _paint_shapes(
        self, p: QPainter, row: TaskRow, rect: QRect, index: int, moving: bool, areas: dict
    ) -> None:
        """The row without its text: a new lane's state, shown at once in a frame
        with no time left to draw the rest (see ``new_looks_budget``)."""
        t = theme.current()
        if row.id == self._selected:
            p.fillRect(
                rect, QColor(t.accent).darker(260) if t.name == "dark" else QColor("#DCE8F8")
            )
        elif index % 2:
            p.fillRect(rect, t.colour("alt_base"))
        if row.id == self._hover:
            hover = t.colour("text")
            hover.setAlpha(14)
            p.fillRect(rect, hover)
        p.fillRect(
            QRect(rect.left(), rect.top() + 3, t.px(5), rect.height() - 6),
            t.task_colour(row.colour),
        )
        # The pill, the bar and the button look alike in every lane in the same
        # state: they are copied from kept pieces (see coroscope.widgets.paint.stamps).
        look = (t.name, t.scale)
        pill = areas["state"].adjusted(0, t.px(7), 0, -t.px(7))
        draw_stamp(p, (*look, "pill", row.state), pill, self._draw_pill, row.state)
        still = None if moving else row.state  # a moving bar's fill is drawn per frame
        track = self._track(areas["bar"]).toRect()
        draw_stamp(p, (*look, "bar", still), track, self._draw_bar, still)
        button = areas["button"].adjusted(0, t.px(6), 0, -t.px(6))
        lit = row.id == self._hover and self._hover_button
        live = row.live
        if live or self.can_rerun:
            draw_stamp(p, (*look, "button", live, lit), button, self._draw_button, live, lit)

    _hover_button = False
    # False once nothing can run a finished task again (a script whose process has
    # ended): its lanes then offer no ↻.
    can_rerun = True
    # Seconds a frame may spend drawing lanes whose look changed; the rest wait
    # for later frames. A new look costs 0.2-0.5 ms, and when a run starts every
    # visible lane is new while the run's first timers fall due. (Scrolling and
    # resizing are exempt: the person asked for those lanes.)
    new_looks_budget = 0.0015
    _asked = False  # scrolled or resized since the last frame
    _settling = False  # showing or hiding the scroll bar for new lanes

    def _widest_state(self) -> int:
        """The pill width that shows every state's label without cutting it."""
        t = theme.current()
        font = self._font(9, bold=True)
        key = (id(font), t.scale)
        if self._widest_key != key:
            metrics = QFontMetrics(font)
            text = max(metrics.horizontalAdvance(label) for label in STATE_LABELS.values())
            self._widest_key, self._widest = key, text + t.px(8) + t.px(10)
        return self._widest

    _widest_key: tuple[int, float] | None = None
    _widest = 0

    def _draw_pill(self, p: QPainter, pill: QRect, state: str) -> None:
        t = theme.current()
        state_colour = t.state_colour(state)
        fill = QColor(state_colour)
        fill.setAlpha(48)
        p.setPen(QPen(state_colour, t.px(1)))
        p.setBrush(fill)
        p.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
        font = self._font(9, bold=True)
        label = self._elide(STATE_LABELS.get(state, state), font, pill.width() - t.px(8))
        draw_static_text(p, pill, label, font, state_colour, "centre")

    def _draw_bar(self, p: QPainter, track: QRect, state: str | None) -> None:
        """The empty track, filled as a task in ``state`` shows when it is not sleeping."""
        t = theme.current()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(t.colour("grid"))
        p.drawRoundedRect(QRectF(track), t.px(5), t.px(5))
        if state is not None:
            fraction, colour = self._still_fill(state)
            self._draw_fill(p, QRectF(track), fraction, colour)

    def _draw_button(self, p: QPainter, button: QRect, live: bool, lit: bool) -> None:
        """✕ cancels a live task, ↻ runs a finished one again; ``lit`` under the pointer."""
        t = theme.current()
        p.setPen(QPen(t.colour("grid"), t.px(1)))
        p.setBrush(t.colour("grid") if lit else Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(button, t.px(4), t.px(4))
        pen = t.state_colour("failed") if live else t.colour("text")
        draw_static_text(p, button, "✕" if live else "↻", self._font(10, bold=True), pen, "centre")

    @staticmethod
    def _track(bar: QRect) -> QRectF:
        t = theme.current()
        return QRectF(bar.left(), bar.center().y() - t.px(5), bar.width(), t.px(10))

    def _paint_fill(self, p: QPainter, row: TaskRow, bar: QRect, now: float) -> None:
        """How far the bar is filled (a sleeping task's remaining time, over ``now``)."""
        t = theme.current()
        track = self._track(bar)
        label = ""
        if row.state == "sleep" and row.due is not None:
            colour = t.state_colour("sleep")
            remaining = row.remaining(now) or 0.0
            span = max(1e-9, _sleep_span(row))
            if (
                self._drag is not None
                and self._drag[0] == row.id
                and self._drag_remaining is not None
            ):
                span = self._drag[1]
                remaining = self._drag_remaining
                colour = t.colour("accent")
            fraction = min(1.0, remaining / span)
            label = f"{remaining:.1f} s"
        else:
            fraction, colour = self._still_fill(row.state)
        self._draw_fill(p, track, fraction, colour)
        if label:
            text_rect = QRect(bar.left(), bar.top(), bar.width(), bar.height() // 2 - t.px(3))
            font = self._font(8.5, bold=True)
            draw_static_text(p, text_rect, label, font, t.colour("text"), "right", "bottom")

    @staticmethod
    def _still_fill(state: str) -> tuple[float, QColor]:
        """How much of the bar a task in ``state`` fills, and in what colour."""
        colour = theme.current().state_colour(state)
        if state in ("task", "future"):
            colour.setAlpha(110)
        elif state == "done":
            colour.setAlpha(70)
        elif state not in ("ready", "running"):
            return 0.0, colour
        return 1.0, colour

    @staticmethod
    def _draw_fill(p: QPainter, track: QRectF, fraction: float, colour: QColor) -> None:
        if fraction <= 0:
            return
        radius = theme.current().px(5)
        width = max(track.height(), track.width() * fraction)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        p.drawRoundedRect(QRectF(track.left(), track.top(), width, track.height()), radius, radius)

    @staticmethod
    def _info_text(row: TaskRow) -> str:
        if not row.live:
            return row.outcome
        line = row.line
        where = f"{line[0].rsplit('/', 1)[-1]}:{line[1]}" if line else ""
        if row.state == "sleep":
            return f"{row.awaiting} · {where}"
        if row.awaiting:
            return f"await {row.awaiting} · {where}"
        return where

    # -- mouse ---------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos)
        hover = row.id if row else None
        on_button = bool(row and self._hit(row, pos) == "button")
        if hover != self._hover or on_button != self._hover_button:
            self._hover = hover
            self._hover_button = on_button
            self.viewport().update()
        if self._drag is not None:
            self._drag_remaining = self._remaining_at(self._drag, pos)
            self.viewport().update()
        cursor = Qt.CursorShape.ArrowCursor
        if row and row.state == "sleep" and self._hit(row, pos) == "bar":
            cursor = Qt.CursorShape.SizeHorCursor
        elif on_button:
            cursor = Qt.CursorShape.PointingHandCursor
        self.viewport().setCursor(cursor)

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.viewport().update()
        super().leaveEvent(event)

    def _remaining_at(self, drag: tuple[int, float], pos: QPoint) -> float:
        rect = self.row_rect(drag[0])
        if rect is None:
            return 0.0
        bar = self._areas(rect)["bar"]
        fraction = (pos.x() - bar.left()) / max(1, bar.width())
        return round(max(0.0, min(1.0, fraction)) * drag[1], 2)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos)
        if row is None:
            return
        self._select(row.id)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(row, pos)
        if hit == "button":
            if row.live:
                self.cancelRequested.emit(row.id)
            elif self.can_rerun:
                self.rerunRequested.emit(row.id)
        elif hit == "bar" and row.state == "sleep" and row.due is not None:
            span = max(_sleep_span(row), row.remaining(self.clock.now()) or 0.0)
            self._drag = (row.id, max(span, 0.1))
            self._drag_remaining = self._remaining_at(self._drag, pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            task_id, _span = self._drag
            remaining = self._remaining_at(self._drag, event.position().toPoint())
            self._drag = None
            self._drag_remaining = None
            self.remainingRequested.emit(task_id, remaining)
            self.viewport().update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        row = self.row_at(event.position().toPoint())
        if row is not None and row.state == "sleep":
            self._drag = None
            self.edit_remaining(row.id)

    def _select(self, task_id: int) -> None:
        if task_id != self._selected:
            self._selected = task_id
            self.taskSelected.emit(task_id)
            self.viewport().update()

    @property
    def selected(self) -> int | None:
        return self._selected

    def select(self, task_id: int) -> None:
        self._select(task_id)

    def reveal(self, task_id: int) -> None:
        """Select ``task_id``'s lane and scroll it into view."""
        self._select(task_id)
        ids = [r.id for r in self._rows]
        if task_id in ids:
            self._ensure_visible(ids.index(task_id))

    # -- inline editor -------------------------------------------------------
    def edit_remaining(self, task_id: int) -> QDoubleSpinBox | None:
        row = self.model.get(task_id)
        rect = self.row_rect(task_id)
        if row is None or rect is None or row.state != "sleep":
            return None
        bar = self._areas(rect)["bar"]
        geometry = QRect(bar.left(), rect.top() + 2, theme.current().px(110), rect.height() - 4)
        return self._open_editor(
            task_id,
            self.viewport(),
            geometry,
            row.remaining(self.clock.now()) or 0.0,
            "New remaining sleep time",
            self.remainingRequested.emit,
        )

    # -- keyboard and menu -----------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._editor is not None:
            self._close_editor()
            return
        row = self.model.get(self._selected) if self._selected is not None else None
        key = event.key()
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self._rows:
            ids = [r.id for r in self._rows]
            index = ids.index(self._selected) if self._selected in ids else -1
            index = max(0, min(len(ids) - 1, index + (1 if key == Qt.Key.Key_Down else -1)))
            self._select(ids[index])
            self._ensure_visible(index)
            return
        if row is None:
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and row.live:
            self.cancelRequested.emit(row.id)
        elif key == Qt.Key.Key_W and row.state == "sleep":
            self.wakeRequested.emit(row.id)
        elif key == Qt.Key.Key_D and row.state == "sleep":
            self.delayRequested.emit(row.id, 1.0)
        elif key == Qt.Key.Key_R and not row.live and self.can_rerun:
            self.rerunRequested.emit(row.id)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and row.state == "sleep":
            self.edit_remaining(row.id)
        else:
            super().keyPressEvent(event)

    def _ensure_visible(self, index: int) -> None:
        bar = self.verticalScrollBar()
        top = index * self.row_height
        if top < bar.value():
            bar.setValue(top)
        elif top + self.row_height > bar.value() + self.viewport().height():
            bar.setValue(top + self.row_height - self.viewport().height())

    def actions_for(self, row: TaskRow) -> list[QAction]:
        return task_actions(self, row, self.edit_remaining)

    def viewportEvent(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            return self._show_tooltip(event)
        return super().viewportEvent(event)

    def _tooltip(self, row: TaskRow, area: str | None) -> str:
        lines = [f"<b>{row.name}</b> ({row.coro}) — {STATE_LABELS.get(row.state, row.state)}"]
        if row.awaiting:
            lines.append(f"awaiting {row.awaiting}")
        if row.line:
            lines.append(
                f"parked at {row.line[0].rsplit('/', 1)[-1]}:{row.line[1]} in {row.line[2]}"
            )
        if row.outcome:
            lines.append(row.outcome)
        raised = _raised_at(row.traceback) if row.state == "failed" else ""
        if raised:
            lines.append(raised)
        lines.append(f"resumed {row.resumes} times")
        problem = self._problems.get(row.id)
        if problem:
            colour = theme.current().state_colour("cancelled").name()
            lines.append(f"<span style='color:{colour}'>{PROBLEM_BADGE} {problem}</span>")
        if area == "bar" and row.state == "sleep":
            lines.append("<i>drag to set the remaining time; double-click to type it</i>")
        elif area == "button" and (row.live or self.can_rerun):
            lines.append("<i>click to cancel</i>" if row.live else "<i>click to run it again</i>")
        return "<br>".join(lines)


def _raised_at(traceback: str | None) -> str:
    """Where a failed task's exception was raised, from its traceback's last frame."""
    if not traceback:
        return ""
    frames = [line.strip() for line in traceback.splitlines() if line.strip().startswith("File ")]
    if not frames:
        return ""
    # 'File "/path/demo.py", line 9, in divide' -> 'raised at demo.py:9 in divide'
    parts = frames[-1].split(", ")
    if len(parts) < 3 or not parts[1].startswith("line "):
        return ""
    name = parts[0][len("File ") :].strip('"').rsplit("/", 1)[-1]
    return f"raised at {html.escape(name)}:{parts[1][5:]} {html.escape(parts[2])}"


def _sleep_span(row: TaskRow) -> float:
    """How long the row's current sleep lasts in all (a sleep may begin at loop time 0)."""
    if row.due is None or row.wait_started is None:
        return 0.0
    return row.due - row.wait_started
