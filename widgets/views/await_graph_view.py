"""The await graph: each live task as a column of what it is awaiting.

A column stacks the task, the coroutines it awaits in-line and what it is
parked on; arrows between columns show one task waiting for another (through
``await task``, ``gather``, ``wait`` or a ``TaskGroup``). When an awaited task is
cancelled or fails, a dot runs back along the arrow to the awaiter.
"""

from __future__ import annotations

import math

from coroscope.loop.clock import VirtualClock
from coroscope.models.await_graph import AwaitGraph, Node
from coroscope.widgets.paint import theme
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

_COLUMN_W = 150
_NODE_H = 30
_GAP_X = 36
_GAP_Y = 18
_MAX_COLUMNS = 40


class AwaitGraphView(QWidget):
    def __init__(self, graph: AwaitGraph, clock: VirtualClock, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self.clock = clock
        self._rects: dict[str, QRectF] = {}
        self._hidden = 0
        self.setAccessibleName("Await graph")
        self.setToolTip(
            "Who awaits whom. Arrows point from the awaiting side to what it waits for."
        )
        self.setMinimumHeight(120)

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def refresh(self) -> None:
        self.update()

    def layout_nodes(self) -> dict[str, QRectF]:
        t = theme.current()
        columns: dict[int, list[Node]] = {}
        for node in self.graph.nodes():
            columns.setdefault(node.task, []).append(node)
        ordered = list(columns.items())
        self._hidden = max(0, len(ordered) - _MAX_COLUMNS)
        rects: dict[str, QRectF] = {}
        width = t.px(_COLUMN_W)
        for column, (_task, nodes) in enumerate(ordered[:_MAX_COLUMNS]):
            x = t.px(12) + column * (width + t.px(_GAP_X))
            for node in nodes:
                y = t.px(12) + node.depth * (t.px(_NODE_H) + t.px(_GAP_Y))
                rects[node.key] = QRectF(x, y, width, t.px(_NODE_H))
        self._rects = rects
        return rects

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), t.colour("base"))
        rects = self.layout_nodes()
        nodes = {n.key: n for n in self.graph.nodes()}
        if rects:
            # Shrink to fit rather than clip: a deep chain must stay readable whole.
            right = max(r.right() for r in rects.values()) + t.px(12)
            bottom = max(r.bottom() for r in rects.values()) + t.px(12)
            fit = min(1.0, self.width() / right, self.height() / bottom)
            if fit < 1.0:
                painter.scale(fit, fit)
        if not rects:
            theme.draw_placeholder(
                painter, self.rect(), "Live tasks and what they await appear here", 10
            )
            return
        colours = {}
        for row in self.graph.tasks.live_rows():
            colours[row.id] = t.task_colour(row.colour)
        for edge in self.graph.edges():
            if edge.src in rects and edge.dst in rects:
                self._paint_edge(painter, rects[edge.src], rects[edge.dst])
        for key, rect in rects.items():
            node = nodes[key]
            self._paint_node(painter, node, rect, colours.get(node.task, t.colour("accent")))
        now = self.clock.now()
        for pulse in self.graph.pulses(now):
            if pulse.src in rects and pulse.dst in rects:
                progress = min(1.0, (now - pulse.t) / self.graph.pulse_seconds)
                start, end = rects[pulse.src].center(), rects[pulse.dst].center()
                point = start + (end - start) * progress
                colour = t.state_colour(pulse.kind)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawEllipse(point, t.px(7), t.px(7))
                painter.setPen(colour)
                painter.setFont(t.font(9, bold=True))
                label = "CancelledError" if pulse.kind == "cancelled" else "exception"
                painter.drawText(point + QPointF(t.px(10), -t.px(6)), label)
        if self._hidden:
            painter.setPen(t.colour("dim_text"))
            painter.setFont(t.font(9))
            painter.drawText(
                self.rect().adjusted(0, 0, -t.px(8), -t.px(6)),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                f"+{self._hidden} more tasks",
            )

    def _paint_node(self, p: QPainter, node: Node, rect: QRectF, colour: QColor) -> None:
        t = theme.current()
        fill = QColor(colour)
        fill.setAlpha(90 if node.kind == "task" else 35)
        pen = QPen(colour, t.px(2))
        if node.kind == "wait":
            pen.setStyle(Qt.PenStyle.DashLine)
            fill = QColor(t.colour("alt_base"))
        p.setPen(pen)
        p.setBrush(fill)
        p.drawRoundedRect(rect, t.px(6), t.px(6))
        p.setPen(t.colour("text"))
        p.setFont(t.font(9.5, bold=node.kind == "task", mono=node.kind != "task"))
        label = p.fontMetrics().elidedText(
            node.label, Qt.TextElideMode.ElideRight, round(rect.width()) - t.px(12)
        )
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_edge(self, p: QPainter, src: QRectF, dst: QRectF) -> None:
        t = theme.current()
        pen = QPen(t.colour("dim_text"), t.px(1.5))
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if abs(src.center().x() - dst.center().x()) < 1:  # same column: straight down
            start = QPointF(src.center().x(), src.bottom())
            end = QPointF(dst.center().x(), dst.top())
            p.drawLine(start, end)
        else:
            start = QPointF(
                src.right() if dst.left() > src.left() else src.left(), src.center().y()
            )
            end = QPointF(dst.center().x(), dst.top())
            path = QPainterPath(start)
            path.cubicTo(QPointF(end.x(), start.y()), QPointF(end.x(), start.y()), end)
            p.drawPath(path)
            start = QPointF(end.x(), start.y())
        angle = math.atan2(end.y() - start.y(), end.x() - start.x())
        size = t.px(7)
        p.setBrush(t.colour("dim_text"))
        head = [
            end,
            QPointF(end.x() - size * math.cos(angle - 0.4), end.y() - size * math.sin(angle - 0.4)),
            QPointF(end.x() - size * math.cos(angle + 0.4), end.y() - size * math.sin(angle + 0.4)),
        ]
        p.drawPolygon(head)
