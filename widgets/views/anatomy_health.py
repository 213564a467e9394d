"""Loop health: a lag meter (how late timers fire) and the blocked-loop warning.

The sparkline plots every timer's lateness over the last ten seconds of loop
time on a square-root scale, so a 2 ms wobble and a 500 ms freeze both read;
the dashed line is the blocking threshold. Below it, a red banner names the
callback or task step that last held the loop too long and where
(``LoopBlocked``: file:line), fading to a quiet note after a few seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import LoopBlocked
from coroscope.models.loop_model import LoopModel
from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

RECENT_BLOCK = 5.0  # loop seconds a block warning stays red
_MIN_REPAINT = 0.1  # real seconds between repaints


def block_text(block: LoopBlocked) -> str:
    where = f"{block.file.rsplit('/', 1)[-1]}:{block.line}" if block.line else "an unknown line"
    return f"{block.what} held the loop for {block.wall * 1000:.0f} ms at {where}"


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


class LoopHealthView(QWidget):
    def __init__(
        self,
        model: LoopModel,
        tasks: TaskModel,
        clock: VirtualClock,
        threshold: Callable[[], float],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.tasks = tasks
        self.clock = clock
        self.threshold = threshold
        self._version = -1
        self._painted = 0.0
        # Paints every pixel itself: Qt need not repaint what lies beneath.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit()
        self.setAccessibleName("Loop health")

    def _fit(self) -> None:
        """Grow with the theme's scale: presentation mode paints everything larger."""
        height = theme.current().px(104)
        if height != self.height():
            self.setFixedHeight(height)

    def event(self, event) -> bool:
        if event.type() in (event.Type.FontChange, event.Type.ApplicationFontChange):
            self._fit()  # the theme changed scale (presentation mode)
        if event.type() == event.Type.ToolTip:
            # The banner may be elided: the tooltip carries it whole.
            _kind, banner = self.banner()
            QToolTip.showText(
                event.globalPos(),
                f"{banner}\n\nLag: how late timers fire (p50 / p99 / worst over the last\n"
                "10 s of loop time). A callback or task step that runs longer than the\n"
                "threshold freezes everything else; the banner names it and its line.",
                self,
            )
            return True
        return super().event(event)

    def sizeHint(self) -> QSize:
        return QSize(420, self.height())

    def refresh(self) -> None:
        # Samples scroll and age out, so repaint while the clock runs, but at most
        # ten times a second: a meter needs no more, and the loop it measures does.
        wall = time.monotonic()
        if wall - self._painted < _MIN_REPAINT:
            return
        if self.model.version != self._version or not self.clock.paused:
            self._version = self.model.version
            self._painted = wall
            self.update()

    def banner(self) -> tuple[str, str]:
        """(kind, text) of the line under the meter: ``blocked``, ``past`` or ``ok``."""
        block = self.model.last_block()
        limit = f"{self.threshold() * 1000:.0f} ms"
        if block is None:
            return "ok", f"✓ No callback or task step has held the loop longer than {limit}"
        count = len(self.model.blocks)
        times = f" ({count} times)" if count > 1 else ""
        if self.clock.now() - block.t < RECENT_BLOCK:
            return "blocked", f"⚠ {block_text(block)}{times}"
        return "past", f"Last block: {block_text(block)}{times}"

    def paintEvent(self, event) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), t.colour("base"))
        now = self.clock.now()
        stats = self.model.lag_stats(now)
        threshold = self.threshold()
        pad = t.px(12)
        top = QRect(pad, t.px(4), self.width() - 2 * pad, t.px(20))
        self._paint_lag_line(p, top, stats, threshold)
        spark = QRectF(pad, t.px(28), self.width() - 2 * pad, t.px(38))
        self._paint_sparkline(p, spark, now, threshold, stats.worst)
        self._paint_banner(p, QRect(pad, t.px(72), self.width() - 2 * pad, t.px(26)))

    def _paint_lag_line(self, p: QPainter, top: QRect, stats, threshold: float) -> None:
        """ "Lag", then p50 / p99 / worst (or why there are none), then the callback
        rate at the right: each only if it fits after what is already drawn, so
        nothing is drawn over anything else (the tooltip has it all)."""
        t = theme.current()
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        gap = t.px(12)
        p.setFont(t.font(9.5, bold=True))
        p.setPen(t.colour("text"))
        p.drawText(top, align, "Lag")
        x = top.left() + p.fontMetrics().horizontalAdvance("Lag") + t.px(10)
        p.setFont(t.font(9, mono=True))
        metrics = p.fontMetrics()
        if stats.count:
            parts = [("p50", stats.p50), ("p99", stats.p99), ("worst", stats.worst)]
            texts = [f"{name} {ms(value)}" for name, value in parts]
            room = top.right() - x
            if sum(metrics.horizontalAdvance(t) + gap for t in texts) - gap > room:
                # Narrow (presentation mode): the unit once, after the last value.
                texts = [text.removesuffix(" ms") for text in texts[:-1]] + texts[-1:]
            for (_name, value), text in zip(parts, texts, strict=True):
                width = metrics.horizontalAdvance(text)
                if x + width > top.right():
                    break
                p.setPen(self._lag_colour(value, threshold))
                p.drawText(QRect(x, top.top(), width, top.height()), align, text)
                x += width + gap
        else:
            p.setPen(t.colour("dim_text"))
            text = metrics.elidedText(
                "no timer fired in the last 10 s", Qt.TextElideMode.ElideRight, top.right() - x
            )
            width = metrics.horizontalAdvance(text)
            p.drawText(QRect(x, top.top(), width, top.height()), align, text)
            x += width + gap
        p.setPen(t.colour("dim_text"))
        p.setFont(t.font(8.5))
        rate = f"{self.model.callback_rate:,.0f} callbacks/s"
        if x + p.fontMetrics().horizontalAdvance(rate) <= top.right():  # only if it fits
            p.drawText(top, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, rate)

    def _lag_colour(self, value: float, threshold: float) -> QColor:
        t = theme.current()
        if value >= threshold:
            return t.state_colour("failed")
        if value >= min(0.010, threshold / 2):
            return t.state_colour("ready")
        return t.state_colour("running")

    def _paint_sparkline(
        self, p: QPainter, area: QRectF, now: float, threshold: float, worst: float
    ) -> None:
        t = theme.current()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(t.colour("alt_base"))
        p.drawRoundedRect(area, t.px(4), t.px(4))
        scale_top = max(threshold * 1.5, worst)
        window = self.model.lag_window

        def y_of(late: float) -> float:
            share = math.sqrt(max(0.0, late) / scale_top) if scale_top > 0 else 0.0
            return area.bottom() - min(1.0, share) * (area.height() - t.px(3))

        line_y = y_of(threshold)
        pen = QPen(t.state_colour("failed"), t.px(1), Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawLine(QPointF(area.left(), line_y), QPointF(area.right(), line_y))
        p.setFont(t.font(7.5))
        label_h = p.fontMetrics().height()
        # Above the line, or below it when the line runs along the meter's top.
        label_top = line_y - label_h - 1
        if label_top < area.top():
            label_top = line_y + 1
        p.drawText(
            QRectF(area.left() + t.px(4), label_top, area.width() - t.px(8), label_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            f"{threshold * 1000:.0f} ms",
        )
        # One drawLines call per colour: a busy loop fires hundreds of timers in 10 s.
        bands: dict[int, list[QLineF]] = {0: [], 1: [], 2: []}
        ok, slow = min(0.010, threshold / 2), threshold
        bottom = area.bottom() - 1
        for when, late in self.model.lag_samples(now):
            x = area.left() + (1 - (now - when) / window) * area.width()
            band = 2 if late >= slow else (1 if late >= ok else 0)
            bands[band].append(QLineF(x, bottom, x, min(bottom - 1, y_of(late))))
        bar_w = max(1.5, t.px(2))
        for band, state in ((0, "running"), (1, "ready"), (2, "failed")):
            if bands[band]:
                p.setPen(QPen(t.state_colour(state), bar_w))
                p.drawLines(bands[band])

    def _paint_banner(self, p: QPainter, rect: QRect) -> None:
        t = theme.current()
        kind, text = self.banner()
        if kind == "blocked":
            fill = QColor(t.state_colour("failed"))
            fill.setAlpha(200)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(fill)
            p.drawRoundedRect(QRectF(rect), t.px(5), t.px(5))
            p.setPen(QColor("#FFFFFF"))
            p.setFont(t.font(9, bold=True))
        else:
            p.setPen(t.colour("dim_text") if kind == "past" else t.state_colour("running"))
            p.setFont(t.font(9))
        inner = rect.adjusted(t.px(8), 0, -t.px(8), 0)
        shown = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle, inner.width())
        p.drawText(inner, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)
