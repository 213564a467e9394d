"""What the view tests share: a loop clock set by hand, and a record of painted text.

The view tests build each view from a model fed hand-made events, with no
controller and no loop. ``HandClock`` stands in for the loop's clock, so a
countdown shows exactly what the test set. ``PaintRecorder`` notes every text a
``QPainter`` draws (``drawText`` and ``drawStaticText``), with the device it was
drawn on and where, so a test can ask what a row or a margin really shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from coroscope.loop.clock import VirtualClock
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF
from PySide6.QtGui import QPainter, QStaticText


class HandClock(VirtualClock):
    """Loop time that moves only when the test sets it."""

    def __init__(self, start: float = 0.0) -> None:
        self._at = 0.0
        super().__init__(source=lambda: self._at)
        self._at = start

    def set(self, t: float) -> None:
        self._at = t


@dataclass(frozen=True)
class Painted:
    device: object  # the widget or pixmap painted on
    text: str
    y: float  # the middle of the text's rect, or its baseline point, in the painter's frame


def _y_of(args: tuple) -> float:
    first = args[0]
    if isinstance(first, QRect | QRectF):
        return float(first.center().y())
    if isinstance(first, QPoint | QPointF):
        return float(first.y())
    if len(args) >= 6:  # x, y, width, height, flags, text
        return args[1] + args[3] / 2
    return float(args[1])  # x, y, text


class PaintRecorder:
    """Every text QPainter draws while installed (through ``monkeypatch``)."""

    def __init__(self, monkeypatch) -> None:
        self.items: list[Painted] = []
        draw_text, draw_static = QPainter.drawText, QPainter.drawStaticText

        def recording_text(painter, *args):
            text = next(a for a in args if isinstance(a, str))
            self.items.append(Painted(painter.device(), text, _y_of(args)))
            return draw_text(painter, *args)

        def recording_static(painter, *args):
            static = next(a for a in args if isinstance(a, QStaticText))
            self.items.append(Painted(painter.device(), static.text(), _y_of(args)))
            return draw_static(painter, *args)

        monkeypatch.setattr(QPainter, "drawText", recording_text)
        monkeypatch.setattr(QPainter, "drawStaticText", recording_static)

    def clear(self) -> None:
        self.items.clear()

    def texts(self, device: object | None = None) -> list[str]:
        """Texts in the order drawn (only those drawn on ``device``, if given)."""
        return [i.text for i in self.items if device is None or i.device is device]

    def rows(self, device: object, row_height: int) -> dict[int, list[str]]:
        """Texts drawn on ``device``, by row index (for views painted straight onto it)."""
        rows: dict[int, list[str]] = {}
        for item in self.items:
            if item.device is device:
                rows.setdefault(int(item.y // row_height), []).append(item.text)
        return rows


def shown(qtbot, view, width: int, height: int):
    """``view`` in a window of its own, at that size, exposed and ready to paint."""
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view
