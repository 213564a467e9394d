"""A status-bar readout whose text changes every frame without resizing anything.

A QLabel asks its parent to redo the layout each time its text changes; in the
status bar that makes the main window lay out (and animate) its docks thirty
times a second while a demo runs. This widget paints its text and keeps the width
of a template string, so a new value costs one small repaint.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class StatusReadout(QWidget):
    def __init__(self, template: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._template = template  # the widest text expected
        self._text = ""
        self.setToolTip(tip)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # It paints its own background, so a new value repaints only this widget,
        # not the status bar and window behind it.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:
        return self.fontMetrics().size(0, self._template)  # as a QLabel measures its text

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(self.rect(), align, self._text)
