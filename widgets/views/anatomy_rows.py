"""A small painted table for the loop anatomy panel's read-only sections.

Each section (ready queue, I/O, threads, subprocesses) hands it a list of
``Line``s once per frame; the table paints them in fixed columns, grows to fit
up to ``max_rows`` and says how many more there are, so the panel stays
compact however busy the loop gets. Nothing here knows about the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from coroscope.widgets.paint import theme
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


@dataclass(frozen=True)
class Column:
    width: int  # pixels at scale 1; 0 takes the remaining width
    align: str = "left"  # "left" | "right"
    mono: bool = False
    bold: bool = False


@dataclass(frozen=True)
class Line:
    cells: tuple[str, ...]
    colours: tuple[QColor | None, ...] = ()  # per cell; None: the normal text colour
    tooltip: str = ""
    glow: float = 0.0  # 0..1: a fading highlight, e.g. bytes just arrived
    dim: bool = False  # finished or internal: drawn quieter
    accent: QColor | None = None  # a strip at the left edge (a task's colour)


class RowTable(QWidget):
    def __init__(
        self,
        columns: list[Column],
        empty_text: str,
        max_rows: int = 8,
        name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = columns
        self.empty_text = empty_text
        self.max_rows = max_rows
        self._lines: list[Line] = []
        self._more = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(name)
        # Paints every pixel itself: Qt need not repaint what lies beneath.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self._fit()

    @property
    def row_height(self) -> int:
        return theme.current().px(22)

    def sizeHint(self) -> QSize:
        return QSize(360, self.height())

    def lines(self) -> list[Line]:
        return list(self._lines)

    def texts(self) -> list[str]:
        """Each shown row as one string (for tests and accessibility)."""
        return [" | ".join(line.cells) for line in self._lines]

    def set_lines(self, lines: list[Line]) -> None:
        shown = lines[: self.max_rows]
        more = len(lines) - len(shown)
        if shown == self._lines and more == self._more:
            return
        self._lines = shown
        self._more = more
        self._fit()
        self.update()

    def _fit(self) -> None:
        rows = max(1, len(self._lines)) + (1 if self._more else 0)
        height = rows * self.row_height + theme.current().px(4)
        if height != self.height():
            self.setFixedHeight(height)

    def _cells(self, top: int) -> list[QRect]:
        """One rect per column, all inside the table: on a narrow panel (or in
        presentation mode) the fixed columns shrink with the rest, and texts elide."""
        t = theme.current()
        fixed = sum(t.px(c.width) for c in self.columns if c.width)
        gaps = t.px(8) * (len(self.columns) - 1)
        left = t.px(12)
        room = max(0, self.width() - left - t.px(6) - gaps)
        stretchy = any(not c.width for c in self.columns)
        least = t.px(40) if stretchy else 0
        shrink = min(1.0, (room - least) / fixed) if fixed and fixed + least > room else 1.0
        shrink = max(0.0, shrink)
        widths = [int(t.px(c.width) * shrink) if c.width else 0 for c in self.columns]
        stretch = max(0, room - sum(widths))
        rects = []
        x = left
        for column, width in zip(self.columns, widths, strict=True):
            rects.append(QRect(x, top, width if column.width else stretch, self.row_height))
            x += rects[-1].width() + t.px(8)
        return rects

    def paintEvent(self, event) -> None:
        t = theme.current()
        p = QPainter(self)
        p.fillRect(self.rect(), t.colour("base"))
        if not self._lines:
            p.setPen(t.colour("dim_text"))
            p.setFont(t.font(9))
            area = self.rect().adjusted(t.px(12), 0, -t.px(6), 0)
            text = p.fontMetrics().elidedText(
                self.empty_text, Qt.TextElideMode.ElideRight, area.width()
            )
            p.drawText(area, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
            return
        height = self.row_height
        for index, line in enumerate(self._lines):
            top = t.px(2) + index * height
            row = QRect(0, top, self.width(), height)
            if index % 2:
                p.fillRect(row, t.colour("alt_base"))
            if line.glow > 0:
                glow = QColor(t.accent)
                glow.setAlpha(round(55 * min(1.0, line.glow)))
                p.fillRect(row, glow)
            if line.accent is not None:
                p.fillRect(QRect(t.px(3), top + 3, t.px(4), height - 6), line.accent)
            for column, rect, text, colour in zip(
                self.columns,
                self._cells(top),
                line.cells,
                line.colours or (None,) * len(line.cells),
                strict=False,
            ):
                p.setFont(t.font(9, bold=column.bold, mono=column.mono))
                if colour is not None:
                    p.setPen(colour)
                else:
                    p.setPen(t.colour("dim_text" if line.dim else "text"))
                align = (
                    Qt.AlignmentFlag.AlignRight
                    if column.align == "right"
                    else Qt.AlignmentFlag.AlignLeft
                )
                shown = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
                p.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, shown)
        if self._more:
            top = t.px(2) + len(self._lines) * height
            p.setPen(t.colour("dim_text"))
            p.setFont(t.font(9))
            p.drawText(
                QRect(t.px(12), top, self.width() - t.px(18), height),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                f"… and {self._more} more",
            )

    def event(self, event) -> bool:
        if event.type() in (event.Type.FontChange, event.Type.ApplicationFontChange):
            self._fit()  # rows are taller in presentation mode
        if event.type() == event.Type.ToolTip:
            index = (event.pos().y() - theme.current().px(2)) // self.row_height
            if 0 <= index < len(self._lines) and self._lines[index].tooltip:
                QToolTip.showText(event.globalPos(), self._lines[index].tooltip, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
