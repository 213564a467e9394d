"""The loop's timer heap as a list you can steer: every live TimerHandle, soonest first.

Each row shows the callback with its arguments, who scheduled it (or which task
sleeps on it), a countdown bar and the due time. All bars share one time axis,
from now (left) to ``horizon`` seconds ahead (right), so their lengths compare.

Mouse: click ✕ to cancel the timer; drag along a bar to move its due time (the
real handle moves); double-click a row to type how long until it fires. Keys on
the selected row: Delete cancels, Enter edits, F fires it now, + / - move it a
second later / earlier. The view emits intents and never touches the loop.
"""

from __future__ import annotations

import math
import time

from coroscope.loop.clock import VirtualClock
from coroscope.models.loop_model import LoopModel, TimerRow
from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from coroscope.widgets.paint.painted_rows import PaintedRows
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QDoubleSpinBox, QSizePolicy, QWidget

_TEXT_W = 176
_DUE_W = 84
_BUTTON_W = 24
_COUNTDOWN_REPAINT = 1 / 15  # real seconds between countdown repaints
_NICE = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


def nice_horizon(seconds: float) -> float:
    """The smallest round span (1, 2, 5, 10 ... s) that holds ``seconds``."""
    for step in _NICE:
        if seconds <= step:
            return float(step)
    return float(math.ceil(seconds / 3600) * 3600)


# What keyPressEvent does with a selected timer.
_OWN_KEYS = frozenset(
    (
        Qt.Key.Key_Plus,
        Qt.Key.Key_Equal,
        Qt.Key.Key_Minus,
        Qt.Key.Key_Underscore,
        Qt.Key.Key_F,
        Qt.Key.Key_Delete,
        Qt.Key.Key_Backspace,
        Qt.Key.Key_Return,
        Qt.Key.Key_Enter,
    )
)


class TimerListView(PaintedRows, QWidget):
    cancelRequested = Signal(object)  # timer id
    moveRequested = Signal(object, float)  # timer id, new due time (loop seconds)

    def __init__(
        self,
        model: LoopModel,
        tasks: TaskModel,
        clock: VirtualClock,
        max_rows: int = 12,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.tasks = tasks
        self.clock = clock
        self.max_rows = max_rows
        self._rows: list[TimerRow] = []
        self._more = 0
        self._version = -1
        self._selected: int | None = None
        self._hover: tuple[int, str | None] | None = None
        self._drag: tuple[int, float] | None = None  # (timer id, horizon at drag start)
        self._drag_remaining: float | None = None
        self._horizon = 1.0
        self._editor: QDoubleSpinBox | None = None
        self._editing: int | None = None
        self._painted = 0.0
        self._texts: dict[tuple, QStaticText] = {}
        # Paints every pixel itself: Qt need not repaint what lies beneath.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Timers")
        self._fit()

    # -- geometry -------------------------------------------------------------------
    @property
    def row_height(self) -> int:
        return theme.current().px(36)

    @property
    def horizon(self) -> float:
        return self._horizon

    def sizeHint(self) -> QSize:
        return QSize(420, self.height())

    def _fit(self) -> None:
        rows = max(1, len(self._rows)) + (1 if self._more else 0)
        height = rows * self.row_height
        if height != self.height():
            self.setFixedHeight(height)

    def rows(self) -> list[TimerRow]:
        return list(self._rows)

    def row_rect(self, timer_id: int) -> QRect | None:
        for index, row in enumerate(self._rows):
            if row.id == timer_id:
                return QRect(0, index * self.row_height, self.width(), self.row_height)
        return None

    def row_at(self, pos: QPoint) -> TimerRow | None:
        index = pos.y() // self.row_height
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def _areas(self, rect: QRect) -> dict[str, QRect]:
        t = theme.current()
        # The label column gives way first on a narrow panel, so the bar stays usable.
        room = rect.width() - t.px(12 + _DUE_W + _BUTTON_W + 6 + 6 + 20)
        text_w = max(t.px(60), min(t.px(_TEXT_W), int(room * 0.55)))
        text = QRect(rect.left() + t.px(12), rect.top(), text_w, rect.height())
        button = QRect(
            rect.right() - t.px(_BUTTON_W) - t.px(6), rect.top(), t.px(_BUTTON_W), rect.height()
        )
        due = QRect(button.left() - t.px(_DUE_W) - t.px(6), rect.top(), t.px(_DUE_W), rect.height())
        bar = QRect(
            text.right() + t.px(10), rect.top(), due.left() - text.right() - t.px(20), rect.height()
        )
        return {"text": text, "bar": bar, "due": due, "button": button}

    def bar_point(self, timer_id: int, remaining: float) -> QPoint:
        """The point on a row's bar that stands for ``remaining`` seconds from now."""
        rect = self.row_rect(timer_id)
        if rect is None:
            raise LookupError(f"no row for timer {timer_id}")
        bar = self._areas(rect)["bar"]
        fraction = max(0.0, min(1.0, remaining / self._horizon))
        return QPoint(bar.left() + round(fraction * bar.width()), bar.center().y())

    # -- frame tick -------------------------------------------------------------------
    def refresh(self) -> None:
        changed = self.model.version != self._version
        if changed:
            self._version = self.model.version
            timers = self.model.live_timers()
            self._rows = timers[: self.max_rows]
            self._more = len(timers) - len(self._rows)
            if self._selected is not None and self.model.timer(self._selected) is None:
                self._selected = None
            if self._editing is not None and self.model.timer(self._editing) is None:
                self._close_editor()
            self._fit()
        if self._drag is None:
            now = self.clock.now()
            longest = max((r.remaining(now) for r in self._rows), default=0.0)
            self._horizon = nice_horizon(max(longest, 1.0))
        # Countdowns tick on between changes; 15 repaints a second look smooth and
        # leave the loop (which shares this thread) the rest. Mouse input repaints at once.
        wall = time.monotonic()
        if changed or (self._rows and wall - self._painted >= _COUNTDOWN_REPAINT):
            self._painted = wall
            self.update()

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), t.colour("base"))
        if not self._rows:
            p.setPen(t.colour("dim_text"))
            p.setFont(t.font(9))
            area = self.rect().adjusted(t.px(12), 0, -t.px(6), 0)
            text = p.fontMetrics().elidedText(
                "No timers. call_later, call_at and every sleep add one here.",
                Qt.TextElideMode.ElideRight,
                area.width(),
            )
            p.drawText(area, Qt.AlignmentFlag.AlignVCenter, text)
            return
        now = self.clock.now()
        for index, row in enumerate(self._rows):
            rect = QRect(0, index * self.row_height, self.width(), self.row_height)
            self._paint_row(p, row, rect, now, index)
        if self._more:
            p.setPen(t.colour("dim_text"))
            p.setFont(t.font(9))
            top = len(self._rows) * self.row_height
            p.drawText(
                QRect(t.px(12), top, self.width() - t.px(18), self.row_height),
                Qt.AlignmentFlag.AlignVCenter,
                f"… and {self._more} later timers",
            )

    def _owner(self, row: TimerRow) -> tuple[str, QColor | None]:
        task_id = row.sleeper if row.sleeper is not None else row.task
        task = self.tasks.get(task_id) if task_id is not None else None
        name = task.name if task is not None else (f"task #{task_id}" if task_id else "")
        colour = theme.current().task_colour(task.colour) if task is not None else None
        if row.sleeper is not None:
            return f"sleep of {name}", colour
        if name:
            return f"scheduled by {name}", colour
        return "scheduled outside any task", None

    def _static(self, text: str, font: QFont, width: int) -> QStaticText:
        """Laid-out text, elided to ``width``: labels repeat every frame, so lay out once."""
        key = (text, id(font), width)  # fonts come from _font and live as long
        static = self._texts.get(key)
        if static is None:
            if len(self._texts) > 512:
                self._texts.clear()
            static = self._texts[key] = QStaticText(self._elide(text, font, width))
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.prepare(QTransform(), font)
        return static

    def _draw(self, p: QPainter, x: int, y: int, text: str, font: QFont, width: int, right=False):
        static = self._static(text, font, width)
        size = static.size()
        left = x + width - size.width() if right else x
        p.setFont(font)
        p.drawStaticText(QPointF(left, y), static)

    def _paint_row(self, p: QPainter, row: TimerRow, rect: QRect, now: float, index: int) -> None:
        t = theme.current()
        if row.id == self._selected:
            p.fillRect(
                rect, QColor(t.accent).darker(260) if t.name == "dark" else QColor("#DCE8F8")
            )
        elif index % 2:
            p.fillRect(rect, t.colour("alt_base"))
        hovering = self._hover is not None and self._hover[0] == row.id
        if hovering:
            hover = t.colour("text")
            hover.setAlpha(14)
            p.fillRect(rect, hover)
        owner, colour = self._owner(row)
        if colour is not None:
            p.fillRect(
                QRect(rect.left() + t.px(3), rect.top() + 4, t.px(4), rect.height() - 8), colour
            )
        areas = self._areas(rect)
        text = areas["text"]
        half = rect.top() + rect.height() // 2
        line_top = rect.top() + t.px(3)
        line_bottom = half + t.px(1)
        p.setPen(t.colour("text"))
        self._draw(p, text.left(), line_top, row.label, self._font(9.5, True, True), text.width())
        p.setPen(colour if colour is not None else t.colour("dim_text"))
        self._draw(p, text.left(), line_bottom, owner, self._font(8.5), text.width())
        remaining = row.remaining(now)
        dragging = self._drag is not None and self._drag[0] == row.id
        if dragging and self._drag_remaining is not None:
            remaining = self._drag_remaining
        self._paint_bar(p, areas["bar"], remaining, dragging)
        due = areas["due"]
        # The countdown changes every frame: plain drawText, not the layout cache.
        p.setFont(self._font(9, bold=True))
        p.setPen(t.colour("accent") if dragging else t.colour("text"))
        p.drawText(
            QRect(due.left(), rect.top() + t.px(2), due.width(), half - rect.top() - t.px(2)),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
            f"in {remaining:.2f} s",
        )
        p.setPen(t.colour("dim_text"))
        when = now + remaining if dragging else row.when
        self._draw(
            p,
            due.left(),
            line_bottom,
            f"at t={self.clock.run_time(when):.2f}",
            self._font(8.5),
            due.width(),
            True,
        )
        button = areas["button"].adjusted(0, t.px(7), 0, -t.px(7))
        on_button = hovering and self._hover[1] == "button"
        p.setPen(QPen(t.colour("grid"), t.px(1)))
        p.setBrush(t.colour("grid") if on_button else Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(button, t.px(4), t.px(4))
        p.setPen(t.state_colour("failed"))
        cross = self._static("✕", self._font(9.5, bold=True), button.width())
        size = cross.size()
        p.setFont(self._font(9.5, bold=True))
        p.drawStaticText(
            QPointF(
                button.center().x() - size.width() / 2 + 1,
                button.center().y() - size.height() / 2 + 1,
            ),
            cross,
        )

    def _paint_bar(self, p: QPainter, bar: QRect, remaining: float, dragging: bool) -> None:
        t = theme.current()
        track = QRectF(bar.left(), bar.center().y() - t.px(4), bar.width(), t.px(8))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(t.colour("grid"))
        p.drawRoundedRect(track, t.px(4), t.px(4))
        fraction = max(0.0, min(1.0, remaining / self._horizon))
        colour = t.colour("accent") if dragging else t.state_colour("sleep")
        p.setBrush(colour)
        width = max(track.height(), track.width() * fraction)
        p.drawRoundedRect(
            QRectF(track.left(), track.top(), width, track.height()), t.px(4), t.px(4)
        )
        knob = QRectF(0, 0, t.px(10), t.px(14))
        knob.moveCenter(
            QRectF(track.left() + width - t.px(4), track.top(), 0, track.height()).center()
        )
        p.setBrush(t.colour("text") if dragging else colour.lighter(130))
        p.drawRoundedRect(knob, t.px(3), t.px(3))

    # -- mouse -----------------------------------------------------------------------------
    def _remaining_at(self, timer_id: int, horizon: float, pos: QPoint) -> float:
        rect = self.row_rect(timer_id)
        if rect is None:
            return 0.0
        bar = self._areas(rect)["bar"]
        fraction = (pos.x() - bar.left()) / max(1, bar.width())
        return round(max(0.0, min(1.0, fraction)) * horizon, 2)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos)
        hover = (row.id, self._hit(row, pos)) if row else None
        if hover != self._hover:
            self._hover = hover
            self.update()
        if self._drag is not None:
            self._drag_remaining = self._remaining_at(self._drag[0], self._drag[1], pos)
            self.update()
        cursor = Qt.CursorShape.ArrowCursor
        if hover and hover[1] == "bar":
            cursor = Qt.CursorShape.SizeHorCursor
        elif hover and hover[1] == "button":
            cursor = Qt.CursorShape.PointingHandCursor
        self.setCursor(cursor)

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos)
        if row is None:
            return
        self.select(row.id)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._hit(row, pos)
        if hit == "button":
            self.cancelRequested.emit(row.id)
        elif hit == "bar":
            self._drag = (row.id, self._horizon)
            self._drag_remaining = self._remaining_at(row.id, self._horizon, pos)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None:
            return
        timer_id, horizon = self._drag
        remaining = self._remaining_at(timer_id, horizon, event.position().toPoint())
        self._drag = None
        self._drag_remaining = None
        self.moveRequested.emit(timer_id, self.clock.now() + remaining)
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        row = self.row_at(pos)
        if row is not None and self._hit(row, pos) != "button":
            self._drag = None
            self.edit_due(row.id)

    # -- selection and keys ----------------------------------------------------------------
    @property
    def selected(self) -> int | None:
        return self._selected

    def select(self, timer_id: int | None) -> None:
        if timer_id != self._selected:
            self._selected = timer_id
            self.update()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self._editor is not None:
            self._close_editor()
            return
        ids = [r.id for r in self._rows]
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and ids:
            index = ids.index(self._selected) if self._selected in ids else -1
            index = max(0, min(len(ids) - 1, index + (1 if key == Qt.Key.Key_Down else -1)))
            self.select(ids[index])
            return
        row = self.model.timer(self._selected) if self._selected is not None else None
        if row is None:
            super().keyPressEvent(event)
            return
        now = self.clock.now()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.cancelRequested.emit(row.id)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_due(row.id)
        elif key == Qt.Key.Key_F:
            self.moveRequested.emit(row.id, now)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.moveRequested.emit(row.id, row.when + 1.0)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.moveRequested.emit(row.id, max(now, row.when - 1.0))
        else:
            super().keyPressEvent(event)

    def actions_for(self, row: TimerRow) -> list[QAction]:
        now = self.clock.now()
        specs = [
            ("Cancel timer", "Delete", lambda: self.cancelRequested.emit(row.id)),
            ("Fire now", "F", lambda: self.moveRequested.emit(row.id, self.clock.now())),
            ("Delay +1 s", "+", lambda: self.moveRequested.emit(row.id, row.when + 1.0)),
            ("Earlier -1 s", "-", lambda: self.moveRequested.emit(row.id, max(now, row.when - 1))),
            ("Set time until it fires…", "Enter", lambda: self.edit_due(row.id)),
        ]
        actions = []
        for text, key, slot in specs:
            action = QAction(f"{text}\t{key}", self)
            action.triggered.connect(slot)
            actions.append(action)
        return actions

    def event(self, event) -> bool:
        if event.type() in (event.Type.FontChange, event.Type.ApplicationFontChange):
            self._fit()  # rows are taller in presentation mode
            self._texts.clear()  # laid out for the old fonts
        if event.type() == event.Type.ToolTip:
            return self._show_tooltip(event)
        if (
            event.type() == event.Type.ShortcutOverride
            and event.key() in _OWN_KEYS
            and self._selected is not None
        ):
            # With a timer selected these keys are the timer's, not the window's
            # shortcuts (+ and - would change the loop's speed instead).
            event.accept()
            return True
        return super().event(event)

    def _tooltip(self, row: TimerRow, area: str | None) -> str:
        owner, _colour = self._owner(row)
        lines = [
            f"<b>{row.label}</b> — timer #{row.id}, {owner}",
            f"due at t = {self.clock.run_time(row.when):.3f} s",
        ]
        if row.sleeper is not None:
            lines.append(
                "cancelling a sleep's timer cancels the sleep: the task gets CancelledError"
            )
        if area == "bar":
            lines.append("<i>drag to move the real TimerHandle; double-click to type the time</i>")
        elif area == "button":
            lines.append("<i>click to cancel: the callback will never run</i>")
        else:
            lines.append("<i>Delete cancels · F fires now · +/- one second · Enter edits</i>")
        return "<br>".join(lines)

    # -- inline editor (non-modal) -------------------------------------------------------
    def edit_due(self, timer_id: int) -> QDoubleSpinBox | None:
        row = self.model.timer(timer_id)
        rect = self.row_rect(timer_id)
        if row is None or rect is None:
            return None
        t = theme.current()
        areas = self._areas(rect)
        width = min(areas["bar"].width() + areas["due"].width(), t.px(170))
        geometry = QRect(areas["bar"].left(), rect.top() + t.px(4), width, rect.height() - t.px(8))
        return self._open_editor(
            timer_id,
            self,
            geometry,
            row.remaining(self.clock.now()),
            "Seconds of loop time until this timer fires",
            lambda item, value: self.moveRequested.emit(item, self.clock.now() + value),
            maximum=86400.0,
            decimals=2,
            prefix="fires in ",
        )
