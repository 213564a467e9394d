"""The await graph: each task as a column of what it is awaiting, awaited tasks below.

A column stacks the task, the coroutines it awaits in-line and what it is
parked on; the tasks it waits for (through ``await task``, ``gather``, ``wait`` or
a ``TaskGroup``) sit in the rows below, side by side (the model's ``layout``).
Arrows run in the gaps between rows and columns, never through a box. When a
task ends its node stays a moment in its end state's colour with its outcome,
and a dot carries that outcome back along the arrow to whoever awaited it.
"""

from __future__ import annotations

import math
from itertools import pairwise

from coroscope.loop.clock import VirtualClock
from coroscope.models.await_graph import AwaitGraph, Edge, Layout, Node, Pulse
from coroscope.widgets.paint import theme
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

_COLUMN_W = 150
_NODE_H = 30
_GAP_X = 36
_GAP_Y = 18
_MARGIN = 12
# The view shrinks the graph to fit down to this scale; tasks that would need it
# smaller are left out (and counted) rather than drawn too small to read.
_MIN_FIT = 0.6


def _along(route: list[QPointF], fraction: float) -> tuple[QPointF, int]:
    """The point ``fraction`` of the way along a polyline, and the segment it is on."""
    lengths = [math.dist((a.x(), a.y()), (b.x(), b.y())) for a, b in pairwise(route)]
    left = max(0.0, min(1.0, fraction)) * sum(lengths)
    for index, length in enumerate(lengths):
        if left <= length and length > 0:
            a, b = route[index], route[index + 1]
            return a + (b - a) * (left / length), index
        left -= length
    return QPointF(route[-1]), max(0, len(route) - 2)


class AwaitGraphView(QWidget):
    def __init__(self, graph: AwaitGraph, clock: VirtualClock, parent: QWidget | None = None):
        super().__init__(parent)
        self.graph = graph
        self.clock = clock
        # What the last frame drew, in the widget's own coordinates (tests, tooltips).
        self.drawn_rects: dict[str, QRectF] = {}
        self.drawn_edges: list[tuple[Edge, list[QPointF]]] = []
        self.drawn_pulses: list[tuple[Pulse, QPointF]] = []
        self.hidden = 0
        self.setAccessibleName("Await graph")
        self.setToolTip(
            "Who awaits whom. Arrows point from the awaiting side to what it waits for;"
            " when a task ends, a dot carries its outcome back to its awaiter."
        )
        self.setMinimumHeight(120)

    def sizeHint(self) -> QSize:
        return QSize(640, 240)

    def refresh(self) -> None:
        self.update()

    # -- geometry (unscaled pixels) --------------------------------------------------
    def room(self) -> tuple[int, int]:
        """The slots and rows that fit at the smallest scale the view allows."""
        t = theme.current()
        pitch_x = t.px(_COLUMN_W) + t.px(_GAP_X)
        pitch_y = t.px(_NODE_H) + t.px(_GAP_Y)
        width = self.width() / _MIN_FIT - 2 * t.px(_MARGIN) + t.px(_GAP_X)
        height = self.height() / _MIN_FIT - 2 * t.px(_MARGIN) + t.px(_GAP_Y)
        return max(1, int(width // pitch_x)), max(1, int(height // pitch_y))

    def layout(self, now: float | None = None) -> Layout:
        slots, rows = self.room()
        return self.graph.layout(slots, rows, now)

    def layout_nodes(self, layout: Layout | None = None) -> dict[str, QRectF]:
        t = theme.current()
        layout = layout if layout is not None else self.layout()
        width, height = t.px(_COLUMN_W), t.px(_NODE_H)
        pitch_x, pitch_y = width + t.px(_GAP_X), height + t.px(_GAP_Y)
        margin = t.px(_MARGIN)
        return {
            key: QRectF(margin + slot * pitch_x, margin + row * pitch_y, width, height)
            for key, (slot, row) in layout.cells.items()
        }

    @staticmethod
    def route(src: QRectF, dst: QRectF, entry: float = 0.0) -> list[QPointF]:
        """An arrow from ``src`` to ``dst`` through the gaps of the grid: out of the
        bottom of ``src``, along the gap under its row, down the gap beside ``dst``'s
        column if ``dst`` is not in the next row, along the gap over ``dst``'s row and
        into its top (``entry`` off its middle). Gaps hold no boxes, so the arrow
        crosses none."""
        t = theme.current()
        gap_x, gap_y = t.px(_GAP_X), t.px(_GAP_Y)
        start = QPointF(src.center().x(), src.bottom())
        end = QPointF(dst.center().x() + entry, dst.top())
        below, above = start.y() + gap_y / 2, end.y() - gap_y / 2
        if 0 < end.y() - start.y() <= gap_y + 1:  # the next row
            if abs(start.x() - end.x()) < 1:
                return [start, end]
            return [start, QPointF(start.x(), below), QPointF(end.x(), below), end]
        # Down the gap on the side of dst's column that faces src.
        channel = dst.left() - gap_x / 2 if end.x() > start.x() else dst.right() + gap_x / 2
        return [
            start,
            QPointF(start.x(), below),
            QPointF(channel, below),
            QPointF(channel, above),
            QPointF(end.x(), above),
            end,
        ]

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), t.colour("base"))
        now = self.graph.wall()
        layout = self.layout(now)
        rects = self.layout_nodes(layout)
        self.drawn_rects, self.drawn_edges, self.drawn_pulses = {}, [], []
        self.hidden = layout.hidden
        if not rects:
            theme.draw_placeholder(
                painter, self.rect(), "Live tasks and what they await appear here", 10
            )
            return
        routes = self._routes(layout.edges, rects)
        # Shrink to fit rather than clip: a deep chain must stay readable whole.
        margin = t.px(_MARGIN)
        right = max(r.right() for r in rects.values()) + margin
        right = max([right, *(p.x() + margin / 2 for r in routes.values() for p in r)])
        bottom = max(r.bottom() for r in rects.values()) + margin
        fit = min(1.0, self.width() / right, self.height() / bottom)
        painter.scale(fit, fit)
        nodes = {n.key: n for n in layout.nodes}

        for (src, dst), route in routes.items():
            fade = min(self._fade(nodes[src], now), self._fade(nodes[dst], now))
            painter.setOpacity(fade)
            self._paint_edge(painter, route)
            self.drawn_edges.append((Edge(src, dst), [p * fit for p in route]))
        for key, rect in rects.items():
            node = nodes[key]
            painter.setOpacity(self._fade(node, now))
            self._paint_node(painter, node, rect, self._colour(node))
            self.drawn_rects[key] = QRectF(rect.topLeft() * fit, rect.size() * fit)
        painter.setOpacity(1.0)
        for pulse in self.graph.pulses(now):
            if pulse.src not in rects or pulse.dst not in rects:
                continue
            route = routes.get((pulse.dst, pulse.src))
            if route is None:
                route = self.route(rects[pulse.dst], rects[pulse.src])
            point = self._paint_pulse(painter, pulse, route[::-1], self.width() / fit)
            self.drawn_pulses.append((pulse, point * fit))
        painter.resetTransform()
        if layout.hidden:
            painter.setPen(t.colour("dim_text"))
            painter.setFont(t.font(9))
            painter.drawText(
                self.rect().adjusted(0, 0, -t.px(8), -t.px(6)),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
                f"+{layout.hidden} more tasks",
            )

    def _routes(
        self, edges: list[Edge], rects: dict[str, QRectF]
    ) -> dict[tuple[str, str], list[QPointF]]:
        """Each edge's route; arrows into one box (a task awaited twice) enter its
        top side by side, in the order their awaiters stand, so none hides another."""
        t = theme.current()
        incoming: dict[str, list[str]] = {}
        for e in edges:
            if e.src in rects and e.dst in rects:
                incoming.setdefault(e.dst, []).append(e.src)
        routes = {}
        spacing = t.px(14)
        for dst, sources in incoming.items():
            middle = rects[dst].center().x()
            sources.sort(key=lambda key: rects[key].center().x())
            # The awaiter straight above keeps the middle; the others enter on their side.
            above = [
                i for i, key in enumerate(sources) if abs(rects[key].center().x() - middle) < 1
            ]
            anchor = above[0] if above else (len(sources) - 1) / 2
            reach = max(anchor, len(sources) - 1 - anchor, 1)
            spread = min(spacing, (rects[dst].width() / 2 - t.px(12)) / reach)
            for index, src in enumerate(sources):
                entry = (index - anchor) * spread
                routes[(src, dst)] = self.route(rects[src], rects[dst], entry)
        return routes

    def _fade(self, node: Node, now: float) -> float:
        return self.graph.fade(node.task, now) if node.ended else 1.0

    def _colour(self, node: Node) -> QColor:
        t = theme.current()
        if node.ended:
            return t.state_colour(node.ended)
        row = self.graph.tasks.get(node.task)
        return t.task_colour(row.colour) if row is not None else t.colour("accent")

    def _paint_node(self, p: QPainter, node: Node, rect: QRectF, colour: QColor) -> None:
        t = theme.current()
        fill = QColor(colour)
        fill.setAlpha(90 if node.kind == "task" else 35)
        pen = QPen(colour, t.px(2))
        if node.ended:  # a plain box ringed in the end state's colour, not a live task's fill
            fill = QColor(t.colour("alt_base"))
            pen.setWidthF(t.px(2.5))
        elif node.kind == "wait":
            pen.setStyle(Qt.PenStyle.DashLine)
            fill = QColor(t.colour("alt_base"))
        p.setPen(pen)
        p.setBrush(fill)
        p.drawRoundedRect(rect, t.px(6), t.px(6))
        inner = round(rect.width()) - t.px(12)
        if node.ended:  # the name over the outcome
            top = QRectF(rect.left(), rect.top() + t.px(1), rect.width(), rect.height() / 2)
            low = QRectF(rect.left(), rect.center().y() - t.px(1), rect.width(), rect.height() / 2)
            p.setPen(t.colour("text"))
            p.setFont(t.font(8, bold=True))
            name = p.fontMetrics().elidedText(node.label, Qt.TextElideMode.ElideRight, inner)
            p.drawText(top, Qt.AlignmentFlag.AlignCenter, name)
            p.setPen(colour)
            p.setFont(t.font(7.5, mono=True))
            outcome = p.fontMetrics().elidedText(node.outcome, Qt.TextElideMode.ElideRight, inner)
            p.drawText(low, Qt.AlignmentFlag.AlignCenter, outcome)
            return
        p.setPen(t.colour("text"))
        p.setFont(t.font(9.5, bold=node.kind == "task", mono=node.kind != "task"))
        label = p.fontMetrics().elidedText(node.label, Qt.TextElideMode.ElideRight, inner)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_edge(self, p: QPainter, route: list[QPointF]) -> None:
        t = theme.current()
        colour = t.colour("dim_text")
        p.setPen(QPen(colour, t.px(1.5)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline(route)
        end, before = route[-1], route[-2]
        angle = math.atan2(end.y() - before.y(), end.x() - before.x())
        size = t.px(7)
        p.setBrush(colour)
        head = [
            end,
            QPointF(end.x() - size * math.cos(angle - 0.4), end.y() - size * math.sin(angle - 0.4)),
            QPointF(end.x() - size * math.cos(angle + 0.4), end.y() - size * math.sin(angle + 0.4)),
        ]
        p.drawPolygon(head)

    def _paint_pulse(
        self, p: QPainter, pulse: Pulse, route: list[QPointF], right: float
    ) -> QPointF:
        """The dot ``pulse.progress`` of the way along ``route`` (ended task first),
        the path it has come lit in its colour, and the outcome it carries."""
        t = theme.current()
        colour = t.state_colour(pulse.kind)
        # Ease out: the news leaves quickly and settles into its receiver.
        point, segment = _along(route, 1 - (1 - pulse.progress) ** 2)
        trail = QColor(colour)
        trail.setAlpha(200)
        p.setPen(QPen(trail, t.px(2.5)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline([*route[: segment + 1], point])
        p.setPen(QPen(t.colour("base"), t.px(2)))
        p.setBrush(colour)
        p.drawEllipse(point, t.px(7), t.px(7))
        p.setFont(t.font(8.5, bold=True))
        metrics = p.fontMetrics()
        label = metrics.elidedText(pulse.label, Qt.TextElideMode.ElideRight, t.px(200))
        box = QRectF(metrics.boundingRect(label)).adjusted(-t.px(4), -t.px(1), t.px(4), t.px(1))
        box.moveTopLeft(point + QPointF(t.px(11), -box.height() / 2))
        if box.right() > right:  # no room on the right: the label goes before the dot
            box.moveRight(point.x() - t.px(11))
        backdrop = QColor(t.colour("base"))
        backdrop.setAlpha(220)
        p.setPen(QPen(colour, t.px(1)))
        p.setBrush(backdrop)
        p.drawRoundedRect(box, t.px(4), t.px(4))
        p.setPen(colour)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        return point
