"""Timeline: one swimlane per task, run slices over waits, with a now-line.

Wheel zooms around the pointer, drag (or Shift+wheel) pans, and the view
follows "now" until you pan back; press F or double-click to follow again.
Hover a slice or a wait to see the line of code and the times.
"""

from __future__ import annotations

import math

from coroscope.loop.clock import VirtualClock
from coroscope.models.timeline import Lane, TimelineModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

_LABEL_W = 110
_AXIS_H = 22
_MIN_SCALE = 2.0  # pixels per second
_MAX_SCALE = 2_000_000.0


class TimelineView(QAbstractScrollArea):
    def __init__(self, model: TimelineModel, clock: VirtualClock, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.clock = clock
        self.scale = 120.0  # pixels per second of loop time
        self.t0 = 0.0  # loop time at the left edge of the plot
        self.follow = True
        self._drag: tuple[int, float] | None = None
        self._lanes: list[Lane] = []
        self._version = -1
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Timeline")
        self.setToolTip("")

    # -- geometry --------------------------------------------------------------
    @property
    def lane_height(self) -> int:
        return theme.current().px(22)

    def sizeHint(self) -> QSize:
        return QSize(640, 220)

    def plot_width(self) -> float:
        return max(1.0, self.viewport().width() - theme.current().px(_LABEL_W))

    def x_of(self, t: float) -> float:
        return theme.current().px(_LABEL_W) + (t - self.t0) * self.scale

    def t_of(self, x: float) -> float:
        return self.t0 + (x - theme.current().px(_LABEL_W)) / self.scale

    def lane_at(self, y: int) -> Lane | None:
        t = theme.current()
        index = (y - t.px(_AXIS_H) + self.verticalScrollBar().value()) // self.lane_height
        if y < t.px(_AXIS_H) or not 0 <= index < len(self._lanes):
            return None
        return self._lanes[index]

    # -- frame tick ------------------------------------------------------------
    def refresh(self) -> None:
        if self.model.version != self._version:
            self._version = self.model.version
            self._lanes = self.model.lanes()
            bar = self.verticalScrollBar()
            visible = self.viewport().height() - theme.current().px(_AXIS_H)
            bar.setRange(0, max(0, len(self._lanes) * self.lane_height - visible))
            bar.setPageStep(max(1, visible))
            bar.setSingleStep(self.lane_height)
        if self.follow:
            now = self.clock.now()
            width = self.plot_width()
            # Keep "now" at 85% of the width once the run is longer than the view.
            self.t0 = max(self.model.start, now - width * 0.85 / self.scale)
        self.viewport().update()

    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        anchor_x = anchor_x if anchor_x is not None else self.x_of(self.clock.now())
        anchor_t = self.t_of(anchor_x)
        self.scale = min(_MAX_SCALE, max(_MIN_SCALE, self.scale * factor))
        self.t0 = anchor_t - (anchor_x - theme.current().px(_LABEL_W)) / self.scale
        self.viewport().update()

    def pan(self, seconds: float) -> None:
        self.follow = False
        self.t0 += seconds
        self.viewport().update()

    # -- painting --------------------------------------------------------------
    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self.viewport())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.fillRect(self.viewport().rect(), t.colour("base"))
        self._paint_axis(painter)
        if not self._lanes:
            theme.draw_placeholder(
                painter, self.viewport().rect(), "Each task's history appears here", 10
            )
            return
        t_left, t_right = self.t0, self.t_of(self.viewport().width())
        offset = self.verticalScrollBar().value()
        height = self.lane_height
        first = offset // height
        count = self.viewport().height() // height + 2
        painter.setClipRect(0, t.px(_AXIS_H), self.viewport().width(), self.viewport().height())
        for index in range(first, min(len(self._lanes), first + count)):
            lane = self._lanes[index]
            top = t.px(_AXIS_H) + index * height - offset
            self._paint_lane(painter, lane, top, height, t_left, t_right, index)
        now_x = self.x_of(self.clock.now())
        painter.setPen(QPen(t.state_colour("failed"), t.px(2)))
        painter.drawLine(round(now_x), t.px(_AXIS_H), round(now_x), self.viewport().height())

    def _paint_axis(self, p: QPainter) -> None:
        t = theme.current()
        p.fillRect(0, 0, self.viewport().width(), t.px(_AXIS_H), t.colour("alt_base"))
        step = _nice_step(80 / self.scale)
        # Ticks and labels count from the start of the run.
        origin = self.clock.origin
        first = math.floor((self.t0 - origin) / step) * step + origin
        p.setFont(t.font(8))
        tick = first
        right = self.t_of(self.viewport().width())
        while tick <= right:
            x = self.x_of(tick)
            if x >= t.px(_LABEL_W):
                p.setPen(t.colour("grid"))
                p.drawLine(round(x), t.px(_AXIS_H) - t.px(5), round(x), self.viewport().height())
                p.setPen(t.colour("dim_text"))
                p.drawText(
                    round(x) + 3,
                    0,
                    t.px(80),
                    t.px(_AXIS_H),
                    Qt.AlignmentFlag.AlignVCenter,
                    _format_time(tick - origin, step),
                )
            tick += step

    def _paint_lane(
        self, p: QPainter, lane: Lane, top: int, height: int, t0: float, t1: float, index: int
    ) -> None:
        t = theme.current()
        label_w = t.px(_LABEL_W)
        if index % 2:
            p.fillRect(0, top, self.viewport().width(), height, t.colour("alt_base"))
        colour = t.task_colour(lane.colour)
        p.setFont(t.font(9, bold=True))
        p.setPen(colour if lane.ended is None else t.colour("dim_text"))
        name = p.fontMetrics().elidedText(
            lane.name, Qt.TextElideMode.ElideRight, label_w - t.px(10)
        )
        p.drawText(t.px(6), top, label_w - t.px(8), height, Qt.AlignmentFlag.AlignVCenter, name)
        p.save()
        p.setClipRect(label_w, top, self.viewport().width() - label_w, height)
        mid = top + height / 2
        now = self.clock.now()
        for wait in self.model.waits_between(lane, t0, t1):
            end = wait.end if wait.end is not None else now
            x0, x1 = self.x_of(wait.start), self.x_of(end)
            wait_colour = QColor(t.state_colour(wait.kind))
            wait_colour.setAlpha(120)
            p.fillRect(QRectF(x0, mid - t.px(2), max(1.0, x1 - x0), t.px(4)), wait_colour)
        for i in lane.slices_between(t0, t1):
            x0, x1 = self.x_of(lane.starts[i]), self.x_of(lane.ends[i])
            p.fillRect(
                QRectF(x0, top + t.px(4), max(float(t.px(2)), x1 - x0), height - t.px(8)), colour
            )
        if lane.ended is not None:
            x = self.x_of(lane.ended)
            p.setPen(QPen(t.state_colour(lane.state), t.px(2)))
            p.drawLine(round(x), top + t.px(3), round(x), top + height - t.px(3))
        p.restore()

    # -- interaction -----------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pan(-delta / 120 * 60 / self.scale)
        else:
            self.follow = False
            self.zoom(1.25 if delta > 0 else 0.8, event.position().x())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = (event.position().toPoint().x(), self.t0)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._drag is not None:
            start_x, start_t0 = self._drag
            self.follow = False
            self.t0 = start_t0 - (pos.x() - start_x) / self.scale
            self.viewport().update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.follow = True

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_F:
            self.follow = True
        elif (
            key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.zoom(1.5)
        elif key == Qt.Key.Key_Minus and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1 / 1.5)
        else:
            super().keyPressEvent(event)

    def viewportEvent(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            text = self.describe(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def describe(self, pos: QPoint) -> str:
        """What the pointer is over: a run slice (with its line) or a wait."""
        lane = self.lane_at(pos.y())
        if lane is None or pos.x() < theme.current().px(_LABEL_W):
            return ""
        at = self.t_of(pos.x())
        found = self.model.slice_at(lane.id, at, tolerance=4 / self.scale)
        if found is not None:
            start, end, line = found
            where = f"<br>{line[0].rsplit('/', 1)[-1]}:{line[1]} in {line[2]}" if line else ""
            took = (end - start) * 1000
            at = self.clock.run_time(start)
            return f"<b>{lane.name}</b> ran at t={at:.4f} s for {took:.3f} ms{where}"
        wait = self.model.wait_at(lane.id, at)
        if wait is not None:
            run_time = self.clock.run_time
            until = f"{run_time(wait.end):.3f}" if wait.end is not None else "now"
            label = f" {wait.label}" if wait.label else ""
            since = run_time(wait.start)
            return f"<b>{lane.name}</b> {wait.kind}{label}<br>from t={since:.3f} to {until}"
        return f"<b>{lane.name}</b>"


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(max(raw, 1e-9)))
    base = 10**exponent
    for multiple in (1, 2, 5, 10):
        if multiple * base >= raw:
            return multiple * base
    return 10 * base


def _format_time(t: float, step: float) -> str:
    if step >= 1:
        return f"{t:g} s"
    if step >= 0.001:
        return f"{t:.{max(0, -math.floor(math.log10(step)))}f}"
    return f"{t * 1000:.3f} ms"
