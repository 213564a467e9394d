"""Stage widgets: the demo's own picture, drawn from the task and stage models.

* ``RingsStage``: one ring per task counting down its sleep; click to cancel
  (or run a finished one again), right-click for every action.
* ``ClockStage``: an analog and digital clock showing the last time the demo's
  coroutine published; it moves only when the coroutine runs.
* ``ChainStage``: the main task's await chain as nested boxes, with the last
  value or exception that travelled back up.
"""

from __future__ import annotations

import datetime
import math

from coroscope.loop.clock import VirtualClock
from coroscope.loop.introspect import is_library_file
from coroscope.models.stage_model import StageModel
from coroscope.models.task_model import STATE_LABELS, TaskModel, TaskRow
from coroscope.widgets.paint import theme
from coroscope.widgets.paint.panel_sizes import STAGE_HINT, STAGE_MIN_HEIGHT
from coroscope.widgets.views.task_actions import task_actions
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QMenu, QStackedWidget, QWidget


class _Stage(QWidget):
    def __init__(self, tasks: TaskModel, stage: StageModel, clock: VirtualClock, parent=None):
        super().__init__(parent)
        self.tasks = tasks
        self.stage = stage
        self.clock = clock
        self._versions = (-1, -1)
        # Every stage fills its whole rect, so Qt need not repaint what is behind
        # it each frame.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def refresh(self) -> None:
        versions = (self.tasks.version, self.stage.version)
        if versions != self._versions or self.animating():
            self._versions = versions
            self.update()

    def animating(self) -> bool:
        return False

    def sizeHint(self) -> QSize:
        return QSize(*STAGE_HINT)

    def _background(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), theme.current().colour("base"))


class RingsStage(_Stage):
    cancelRequested = Signal(object)
    wakeRequested = Signal(object)
    delayRequested = Signal(object, float)
    remainingRequested = Signal(object, float)
    rerunRequested = Signal(object)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setMouseTracking(True)
        self.setAccessibleName("Countdown rings")

    def ring_rows(self) -> list[TaskRow]:
        rows = [r for r in self.tasks.rows() if r.name != "main" and r.coro not in ("main",)]
        return rows[-12:]

    def animating(self) -> bool:
        return any(r.state == "sleep" for r in self.ring_rows())

    def ring_rects(self) -> list[tuple[TaskRow, QRectF]]:
        rows = self.ring_rows()
        if not rows:
            return []
        t = theme.current()
        count = len(rows)
        gap = min(t.px(18), self.width() / (count * 6))
        size = min((self.width() - gap * (count + 1)) / count, self.height() - t.px(70))
        # Shrink to fit however narrow the stage is: a ring cut off would mislead.
        size = max(12.0, min(size, t.px(220)))
        total = len(rows) * size + (len(rows) - 1) * gap
        left = (self.width() - total) / 2
        top = (self.height() - size - t.px(40)) / 2
        return [
            (row, QRectF(left + i * (size + gap), top, size, size)) for i, row in enumerate(rows)
        ]

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._background(painter)
        rings = self.ring_rects()
        if not rings:
            theme.draw_placeholder(painter, self.rect(), "Press Run to start the countdown", 12)
            return
        now = self.clock.now()
        for row, rect in rings:
            self._paint_ring(painter, row, rect, now)

    def _paint_ring(self, p: QPainter, row: TaskRow, rect: QRectF, now: float) -> None:
        t = theme.current()
        width = max(t.px(6), rect.width() * 0.08)
        inner = rect.adjusted(width / 2, width / 2, -width / 2, -width / 2)
        colour = t.task_colour(row.colour)
        p.setPen(QPen(t.colour("grid"), width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(inner)
        fraction = row.sleep_fraction(now)
        if fraction is None:
            fraction = 1.0 if row.state in ("ready", "running", "task", "future") else 0.0
        if row.state == "done":
            # A finished ring turns the neutral "done" colour: red or orange here
            # would read as an error.
            fraction = 1.0
            colour = t.state_colour("done")
            colour.setAlpha(110)
        if fraction > 0:
            pen = QPen(colour, width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawArc(inner, 90 * 16, round(-360 * 16 * fraction))
        # centre text
        if row.state == "sleep":
            big = f"{row.remaining(now) or 0:.1f}"
            big_colour = t.colour("text")
        elif row.state == "done":
            big, big_colour = "✓", t.state_colour("done")
        elif row.state == "cancelled":
            big, big_colour = "✕", t.state_colour("cancelled")
        elif row.state == "failed":
            big, big_colour = "!", t.state_colour("failed")
        else:
            big, big_colour = "…", t.state_colour(row.state)
        p.setPen(big_colour)
        font = t.font(10, bold=True)
        font.setPixelSize(max(10, round(rect.height() * 0.26)))
        p.setFont(font)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, big)
        # caption
        caption = QRectF(rect.left() - 20, rect.bottom() + t.px(4), rect.width() + 40, t.px(22))
        p.setFont(t.font(11, bold=True))
        p.setPen(colour if row.live else t.colour("dim_text"))
        p.drawText(caption, Qt.AlignmentFlag.AlignCenter, row.name)
        sub = QRectF(caption.left(), caption.bottom(), caption.width(), t.px(18))
        p.setFont(t.font(9))
        p.setPen(t.state_colour(row.state))
        state = STATE_LABELS.get(row.state, row.state)
        if row.state == "cancelled":
            state = "CancelledError"
        p.drawText(sub, Qt.AlignmentFlag.AlignCenter, state)

    def ring_for(self, task_id: int) -> QRectF | None:
        for row, rect in self.ring_rects():
            if row.id == task_id:
                return rect
        return None

    def _row_at(self, pos: QPointF) -> TaskRow | None:
        for row, rect in self.ring_rects():
            centre = rect.center()
            if math.hypot(pos.x() - centre.x(), pos.y() - centre.y()) <= rect.width() / 2 + 6:
                return row
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row = self._row_at(event.position())
        if row is None:
            return
        if row.live:
            self.cancelRequested.emit(row.id)
        else:
            self.rerunRequested.emit(row.id)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        row = self._row_at(event.position())
        self.setCursor(Qt.CursorShape.PointingHandCursor if row else Qt.CursorShape.ArrowCursor)
        if row is None:
            self.setToolTip("")
        elif row.live:
            self.setToolTip(
                f"{row.name}: click to cancel; right-click to wake, delay or reschedule"
            )
        else:
            self.setToolTip(f"{row.name}: {row.outcome or row.state}; click to run it again")

    def wheelEvent(self, event) -> None:
        row = self._row_at(event.position())
        if row is None or row.state != "sleep":
            return
        # Wheel up adds half a second, down takes it away: a quick reschedule.
        step = 0.5 if event.angleDelta().y() > 0 else -0.5
        remaining = max(0.0, (row.remaining(self.clock.now()) or 0.0) + step)
        self.remainingRequested.emit(row.id, remaining)

    def contextMenuEvent(self, event) -> None:
        row = self._row_at(QPointF(event.pos()))
        if row is None:
            return
        menu = QMenu(self)
        for action in task_actions(self, row, self._ask_remaining):
            menu.addAction(action)
        menu.popup(event.globalPos())

    def _ask_remaining(self, task_id: int) -> None:
        # The lanes own the inline editor; ask the host window to open it there.
        self.remainingEditRequested.emit(task_id)

    remainingEditRequested = Signal(object)


class ClockStage(_Stage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setAccessibleName("Clock")

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._background(painter)
        now = self.stage.get("clock")
        size = min(self.height() - t.px(20), self.width() / 2 - t.px(20))
        face = QRectF(t.px(30), (self.height() - size) / 2, size, size)
        centre = face.center()
        radius = size / 2
        painter.setPen(QPen(t.colour("grid"), t.px(3)))
        painter.setBrush(t.colour("alt_base"))
        painter.drawEllipse(face)
        for tick in range(60):
            angle = math.radians(tick * 6)
            outer = radius * 0.95
            inner = radius * (0.82 if tick % 5 == 0 else 0.9)
            painter.setPen(
                QPen(
                    t.colour("text" if tick % 5 == 0 else "dim_text"),
                    t.px(3 if tick % 5 == 0 else 1),
                )
            )
            painter.drawLine(
                QPointF(centre.x() + inner * math.sin(angle), centre.y() - inner * math.cos(angle)),
                QPointF(centre.x() + outer * math.sin(angle), centre.y() - outer * math.cos(angle)),
            )
        text_rect = QRect(
            round(face.right() + t.px(30)),
            0,
            round(self.width() - face.right() - t.px(40)),
            self.height(),
        )
        if not isinstance(now, datetime.datetime):
            painter.setPen(t.colour("dim_text"))
            painter.setFont(t.font(12))
            painter.drawText(
                text_rect,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                "Waiting for the clock coroutine…",
            )
            return
        hands = (
            ((now.hour % 12 + now.minute / 60) * 30, radius * 0.5, t.px(7), t.colour("text")),
            ((now.minute + now.second / 60) * 6, radius * 0.72, t.px(5), t.colour("text")),
            (now.second * 6, radius * 0.85, t.px(2), t.state_colour("failed")),
        )
        for degrees, length, width, colour in hands:
            angle = math.radians(degrees)
            pen = QPen(colour, width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawLine(
                centre,
                QPointF(
                    centre.x() + length * math.sin(angle), centre.y() - length * math.cos(angle)
                ),
            )
        painter.setBrush(t.state_colour("failed"))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(centre, t.px(5), t.px(5))
        font = t.font(10, bold=True, mono=True)
        font.setPixelSize(max(14, round(min(text_rect.width() / 6, self.height() / 4))))
        painter.setFont(font)
        painter.setPen(t.colour("text"))
        painter.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            now.strftime("%H:%M:%S"),
        )
        painter.setFont(t.font(11))
        painter.setPen(t.colour("dim_text"))
        sub = text_rect.adjusted(0, font.pixelSize() + t.px(24), 0, 0)
        age = self.stage.age("clock")
        note = _date_that_fits(now, QFontMetrics(painter.font()), sub.width())
        if age is not None and age > 1.5:
            note += f"\nno tick for {age:.1f} s of loop time: the coroutine is not running"
        painter.drawText(
            sub,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
            note,
        )


class ChainStage(_Stage):
    """The await chain of the task named ``main`` (where print_sum and compute live)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setAccessibleName("Await chain")

    def animating(self) -> bool:
        age = self.stage.age("chain")
        return (age is not None and age < 3.0) or any(
            r.state == "sleep" for r in self.tasks.live_rows()
        )

    def levels(self) -> list[str]:
        row = self.tasks.by_name("main")
        if row is None or not row.live:
            return []
        names = []
        for file, _line, qualname in row.frames:
            if is_library_file(file):
                names.append(f"asyncio.{qualname.split('.')[-1]}")
                break
            names.append(qualname)
        if row.state == "sleep" and row.awaiting:
            # Show the sleep with its duration in place of asyncio's own level.
            if names and names[-1].startswith("asyncio."):
                names.pop()
            names.append(row.awaiting)
        return names

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._background(painter)
        levels = self.levels()
        message = self.stage.get("chain")
        age = self.stage.age("chain")
        recent = bool(message) and age is not None and age < 4.0
        row = self.tasks.by_name("main")
        colour = t.task_colour(row.colour) if row else t.colour("accent")
        if not levels and not recent:
            theme.draw_placeholder(
                painter, self.rect(), "The await chain appears here while main runs", 12
            )
            return
        # Levels sit left to right, outermost first, joined by "await" arrows, so
        # the chain fits the wide, short stage at any presentation scale.
        margin = t.px(20)
        arrow = t.px(52)
        count = max(1, len(levels))
        box_w = min(t.px(220), (self.width() - 2 * margin - (count - 1) * arrow) / count)
        box_h = t.px(48)
        top = max(margin, (self.height() - box_h - t.px(70)) / 2)
        font = t.font(11, bold=True, mono=True)
        painter.setFont(font)
        widest = max((painter.fontMetrics().horizontalAdvance(n) for n in levels), default=0)
        room = box_w - t.px(14)
        if widest > room:  # shrink the text before eliding it
            font.setPointSizeF(max(7.0, font.pointSizeF() * room / widest))
        for depth, name in enumerate(levels):
            rect = QRectF(margin + depth * (box_w + arrow), top, box_w, box_h)
            innermost = depth == len(levels) - 1
            fill = QColor(colour)
            fill.setAlpha(90 if innermost else 40)
            painter.setPen(QPen(colour, t.px(2)))
            painter.setBrush(fill)
            painter.drawRoundedRect(rect, t.px(8), t.px(8))
            painter.setPen(t.colour("text"))
            painter.setFont(font)
            label = painter.fontMetrics().elidedText(
                name, Qt.TextElideMode.ElideRight, round(box_w) - t.px(12)
            )
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
            if depth:
                y = rect.center().y()
                start = QPointF(rect.left() - arrow + t.px(6), y)
                end = QPointF(rect.left() - t.px(6), y)
                painter.setPen(QPen(t.colour("dim_text"), t.px(2)))
                painter.drawLine(start, end)
                painter.drawLine(end, end + QPointF(-t.px(7), -t.px(5)))
                painter.drawLine(end, end + QPointF(-t.px(7), t.px(5)))
                painter.setFont(t.font(9))
                painter.drawText(
                    QRectF(start.x(), y - t.px(22), arrow - t.px(12), t.px(18)),
                    Qt.AlignmentFlag.AlignCenter,
                    "await",
                )
        if recent:
            kind, where, value = message
            alpha = max(0, min(255, round(255 * (1 - max(0.0, age - 2.0) / 2.0))))
            tint = t.state_colour("done" if kind == "returned" else "failed")
            tint = QColor(tint.lighter(130)) if kind == "returned" else tint
            tint.setAlpha(alpha)
            painter.setPen(tint)
            painter.setFont(t.font(12, bold=True))
            area = QRectF(margin, top + box_h + t.px(16), self.width() - 2 * margin, t.px(60))
            painter.drawText(
                area,
                Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                f"↑ {where} {kind} {value}",
            )


class StageHost(QStackedWidget):
    """Shows the stage a demo asks for (or a plain caption when it has none)."""

    def __init__(self, tasks: TaskModel, stage: StageModel, clock: VirtualClock, parent=None):
        super().__init__(parent)
        self.rings = RingsStage(tasks, stage, clock)
        self.clock_face = ClockStage(tasks, stage, clock)
        self.chain = ChainStage(tasks, stage, clock)
        self.blank = _BlankStage(tasks, stage, clock)
        self._by_name = {"rings": self.rings, "clock": self.clock_face, "chain": self.chain}
        for widget in (self.blank, self.rings, self.clock_face, self.chain):
            self.addWidget(widget)
        self.setMinimumHeight(STAGE_MIN_HEIGHT)

    def show_stage(self, name: str | None) -> None:
        self.setCurrentWidget(self._by_name.get(name or "", self.blank))

    def has_picture(self) -> bool:
        """Whether the run shown has a picture of its own (else only the blank)."""
        return self.currentWidget() is not self.blank

    def refresh(self) -> None:
        widget = self.currentWidget()
        if isinstance(widget, _Stage):
            widget.refresh()


class _BlankStage(_Stage):
    def refresh(self) -> None:
        pass  # the same words whatever the tasks do: no repaint per frame

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        self._background(painter)
        theme.draw_placeholder(
            painter,
            self.rect(),
            "No picture for this run: watch the lanes, the code and the console.",
            12,
        )


# The date under the clock, longest first: the first that fits is shown whole.
_DATE_FORMATS = ("%A %d %B %Y", "%a %d %B %Y", "%a %d %b %Y", "%d %b %Y", "%d/%m/%y")


def _date_that_fits(now: datetime.datetime, metrics: QFontMetrics, width: int) -> str:
    for form in _DATE_FORMATS:
        text = now.strftime(form)
        if metrics.horizontalAdvance(text) <= width:
            return text
    return now.strftime(_DATE_FORMATS[-1])
