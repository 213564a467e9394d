"""Widget grabs as fixed-size BGRA frames for the encoder.

Every frame of a take must have the same size, but the widget being recorded
may not: a window cannot shrink below its minimum size, the user may resize a
panel mid-take, and a HiDPI screen grabs at twice the logical size. A grab that
already has the take's size is used as it is; one that is at most a pixel larger
(an odd width rounded down for H.264) is cropped; anything else is scaled to fit,
keeping its aspect ratio, and centred on the theme's window colour.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget


def even_size(size: QSize) -> tuple[int, int]:
    """The largest even width and height that fit in ``size`` (H.264 needs even sides)."""
    return max(2, size.width() - size.width() % 2), max(2, size.height() - size.height() % 2)


class FrameGrabber:
    def __init__(
        self, widget: QWidget, size: tuple[int, int] | None = None, background: str = "#000000"
    ) -> None:
        self.widget = widget
        self.background = QColor(background)
        if size is None:
            image = self._grab()
            size = even_size(image.size())
        self.size = size

    def _grab(self) -> QImage:
        image = self.widget.grab().toImage()
        # Sizes below are in device pixels: a HiDPI grab keeps its full detail
        # when the take was sized from it.
        image.setDevicePixelRatio(1.0)
        return image

    def grab(self) -> np.ndarray:
        """The widget as it looks now: a (height, width, 4) uint8 BGRA array."""
        return to_array(self.fit(self._grab()))

    def fit(self, image: QImage) -> QImage:
        width, height = self.size
        if image.width() == width and image.height() == height:
            fitted = image
        elif 0 <= image.width() - width <= 1 and 0 <= image.height() - height <= 1:
            fitted = image.copy(0, 0, width, height)
        else:
            fitted = QImage(width, height, QImage.Format.Format_RGB32)
            fitted.fill(self.background)
            scaled = image.scaled(
                width,
                height,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            painter = QPainter(fitted)
            corner = QPoint((width - scaled.width()) // 2, (height - scaled.height()) // 2)
            painter.drawImage(QRect(corner, scaled.size()), scaled)
            painter.end()
        if fitted.format() != QImage.Format.Format_RGB32:
            fitted = fitted.convertToFormat(QImage.Format.Format_RGB32)
        return fitted


def to_array(image: QImage) -> np.ndarray:
    """Copy an RGB32 image into a contiguous (height, width, 4) BGRA array."""
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = rows.reshape(height, image.bytesPerLine() // 4, 4)
    # Copy: the image's buffer goes away with it, the frame travels to another thread.
    return rows[:, :width].copy()
