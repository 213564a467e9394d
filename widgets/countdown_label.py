"""Drawing the label that changes on every frame: a sleeping task's countdown.

The rest of a row is kept as a picture, but the countdown ("1.4 s") changes as
the bar shrinks. Laid out afresh by ``drawText``, each label costs about 25 µs
per row per frame, while timers fire in the gaps between frames; a prepared
``QStaticText`` for each label looks the same and costs a third of that.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QStaticText

_LABELS: dict[tuple[str, int], QStaticText] = {}
_MAX_LABELS = 512  # countdowns are many ("12.3 s"...): start afresh past this


def draw_label(p: QPainter, rect: QRect, text: str, font: QFont, colour: QColor) -> None:
    """``text`` in the bottom right corner of ``rect``, as ``drawText`` with
    ``AlignRight | AlignBottom`` puts it (``font`` must be a kept font)."""
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
    p.setFont(font)
    p.setPen(colour)
    p.drawStaticText(
        QPointF(rect.right() + 1 - size.width(), rect.bottom() + 1 - size.height()), label
    )
