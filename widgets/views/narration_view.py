"""The narration: one plain sentence per loop event, newest at the bottom.

The newest line is drawn emphasised, so after each Step a class can read what
just happened; earlier lines fade to the dim text colour.
"""

from __future__ import annotations

from time import perf_counter

from coroscope.models.narration import Narrator
from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

_KIND_COLOURS = {"end": "done", "warning": "failed", "clock": "ready", "timer": "sleep"}


class NarrationView(QAbstractScrollArea):
    flood_interval = 0.2  # seconds between looks while lines pour in

    def __init__(self, narrator: Narrator, tasks: TaskModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.narrator = narrator
        self.tasks = tasks
        self._version = -1
        self._count = 0
        self._follow = True
        self.setAccessibleName("Narration")
        self.setToolTip(
            "What the loop just did, in plain words. Step (→) moves it one event at a time."
        )
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        # Off screen until its dock says otherwise (a tab behind the console, say):
        # nobody reads the lines meanwhile, so the narrator rests.
        self._on_screen = False
        self._painted_at = 0.0
        narrator.rest()

    @property
    def row_height(self) -> int:
        return theme.current().px(24)

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def _scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._follow = value >= bar.maximum() - self.row_height

    def set_on_screen(self, on_screen: bool) -> None:
        """Follow the dock: Qt keeps a tab behind another "visible", off screen."""
        self._on_screen = on_screen
        if on_screen:
            self.narrator.wake()
            self._version = -1
            self.refresh()
        else:
            self.narrator.rest()

    def refresh(self) -> None:
        if not self._on_screen:
            return  # its narrator rests meanwhile; asking for its lines would catch up
        version = self.narrator.version
        if version == self._version:
            return
        # A screenful of new lines every frame is more than anyone reads, and drawing
        # it costs the loop milliseconds a frame: then a few looks a second will do.
        now = perf_counter()
        flooding = version - self._version > self.viewport().height() // self.row_height
        if flooding and self._version >= 0 and now - self._painted_at < self.flood_interval:
            return
        self._painted_at = now
        self._version = version
        self._count = len(self.narrator)
        bar = self.verticalScrollBar()
        follow = self._follow
        bar.setRange(0, max(0, self._count * self.row_height - self.viewport().height()))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(self.row_height)
        if follow:
            bar.setValue(bar.maximum())
        self.viewport().update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._version = -1
        self.refresh()

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self.viewport())
        painter.fillRect(self.viewport().rect(), t.colour("base"))
        if not self._count:
            theme.draw_placeholder(
                painter, self.viewport().rect(), "The loop's story appears here", 10
            )
            return
        height = self.row_height
        offset = self.verticalScrollBar().value()
        first = offset // height
        count = self.viewport().height() // height + 2
        last_index = self._count - 1
        # Only the visible lines are formatted into sentences.
        visible = self.narrator.lines(first, first + count)
        for index, line in enumerate(visible, start=first):
            top = index * height - offset
            newest = index == last_index
            painter.setFont(t.font(10, bold=newest))
            painter.setPen(t.colour("dim_text"))
            painter.drawText(
                t.px(6), top, t.px(64), height, Qt.AlignmentFlag.AlignVCenter, f"{line.t:7.2f}"
            )
            row = self.tasks.get(line.task) if line.task is not None else None
            colour_name = _KIND_COLOURS.get(line.kind)
            if row is not None and line.kind == "task":
                colour = t.task_colour(row.colour)
            elif colour_name:
                colour = t.state_colour(colour_name)
            else:
                colour = t.colour("text")
            if not newest:
                colour.setAlpha(200)
            painter.setPen(colour)
            painter.drawText(
                t.px(74),
                top,
                self.viewport().width() - t.px(80),
                height,
                Qt.AlignmentFlag.AlignVCenter,
                line.text,
            )
