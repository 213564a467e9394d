"""Painted labels laid out once and reused: ``QStaticText`` for text drawn often.

The task lanes draw a handful of labels per row: a countdown on every frame for
each sleeping task, and the name, state, place and button of every row whose
look changes (all of them at once when a run starts or the view is resized).
Laid out afresh by ``drawText``, a label costs about 25 µs; a prepared
``QStaticText`` for it looks the same and costs about 9 µs.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QStaticText

_LABELS: dict[tuple[str, int], QStaticText] = {}
_MAX_LABELS = 2048  # countdowns ("12.3 s"...) and names are many: start afresh past this


def draw_static_text(
    p: QPainter,
    rect: QRect,
    text: str,
    font: QFont,
    colour: QColor,
    across: str = "left",
    down: str = "middle",
) -> None:
    """``text`` placed in ``rect`` as ``drawText`` would align it: ``across`` is
    "left", "centre" or "right" and ``down`` "middle" or "bottom" (plain strings,
    because combining PySide6's alignment flags costs more than drawing the text).
    ``font`` must be a kept font: labels are looked up by its identity."""
    key = (text, id(font))
    label = _LABELS.get(key)
    if label is None:
        if len(_LABELS) > _MAX_LABELS:
            _LABELS.clear()
        label = QStaticText(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.prepare(font=font)
        _LABELS[key] = label
    size = label.size()
    if across == "right":
        x = rect.right() + 1 - size.width()
    elif across == "centre":
        x = rect.left() + (rect.width() - size.width()) / 2
    else:
        x = rect.left()
    if down == "bottom":
        y = rect.bottom() + 1 - size.height()
    else:
        y = rect.top() + (rect.height() - size.height()) / 2
    p.setFont(font)
    p.setPen(colour)
    p.drawStaticText(QPointF(x, y), label)
