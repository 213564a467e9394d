"""Pieces of a painted row that many rows share, drawn once and copied.

Every task lane has a state pill, a bar track and a button that look the same
as in any other lane in that state. Drawn with antialiasing, each rounded shape
and its label cost 30-90 µs; copying a kept piece costs about 2 µs. That matters
when a run starts and every visible lane is drawn for the first time in one
frame, stalling the loop being watched.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPixmap

# Antialiased outlines reach half a pen width outside their rect; a piece keeps
# that edge instead of clipping it.
_MARGIN = 2
_STAMPS: dict[tuple, QPixmap] = {}
_MAX_STAMPS = 256  # a few per state and theme; a resize makes new sizes


def draw_stamp(
    p: QPainter, key: tuple, rect: QRect, draw: Callable[..., None], *args: object
) -> None:
    """Copy the piece ``key`` names into ``rect``, drawing it first with
    ``draw(painter, rect, *args)`` if it is not kept yet. ``key`` must say
    everything the piece's look depends on apart from its size (state, theme...)."""
    width, height = rect.width(), rect.height()
    if width <= 0 or height <= 0:  # a view squeezed to nothing: no room for the piece
        return
    ratio = p.device().devicePixelRatioF()
    full = (key, width, height, ratio)
    stamp = _STAMPS.get(full)
    if stamp is None:
        if len(_STAMPS) >= _MAX_STAMPS:
            _STAMPS.clear()
        stamp = QPixmap(round((width + 2 * _MARGIN) * ratio), round((height + 2 * _MARGIN) * ratio))
        stamp.setDevicePixelRatio(ratio)
        stamp.fill(Qt.GlobalColor.transparent)
        painter = QPainter(stamp)
        painter.setRenderHints(p.renderHints())
        try:
            draw(painter, QRect(_MARGIN, _MARGIN, width, height), *args)
        finally:
            painter.end()  # a pixmap freed while a painter is on it crashes Qt
        _STAMPS[full] = stamp
    p.drawPixmap(rect.x() - _MARGIN, rect.y() - _MARGIN, stamp)
