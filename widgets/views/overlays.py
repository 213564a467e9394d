"""Overlays drawn over the main window: input echo for screencasts, shortcut help.

``InputOverlay`` shows a ripple where the mouse was pressed and a caption of the
key just pressed, so viewers of a recording can follow what the presenter did.
``HelpOverlay`` lists every action that has a shortcut; any key or click closes it.
Both ignore the mouse (clicks pass through to the app beneath).
"""

from __future__ import annotations

import time

from coroscope.widgets.paint import theme
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QPainter, QPen, QShortcutEvent
from PySide6.QtWidgets import QApplication, QWidget

_RIPPLE_SECONDS = 0.6
_CAPTION_SECONDS = 1.6
_MODIFIER_KEYS = {
    Qt.Key.Key_Control,
    Qt.Key.Key_Shift,
    Qt.Key.Key_Alt,
    Qt.Key.Key_Meta,
    Qt.Key.Key_AltGr,
}


class _Cover(QWidget):
    """A transparent child that always covers its parent window."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setGeometry(parent.rect())
        parent.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parent().rect())
        return False


class InputOverlay(_Cover):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._ripples: list[tuple[QPointF, float]] = []
        self._caption = ""
        self._caption_at = 0.0
        self._enabled = False
        self._timer = QTimer(self)
        self._timer.setObjectName("input-overlay-animation")
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._animate)
        self.hide()

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        app = QApplication.instance()
        if enabled:
            app.installEventFilter(self)
            self.raise_()
            self.show()
        else:
            app.removeEventFilter(self)
            self._timer.stop()
            self._ripples.clear()
            self._caption = ""
            self.hide()

    @property
    def caption(self) -> str:
        return self._caption

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        super().eventFilter(watched, event)
        kind = event.type()
        window = self.parent()
        if watched is window and kind in (QEvent.Type.Close, QEvent.Type.Hide):
            self._timer.stop()  # nothing to animate on a closed window
            return False
        if not self._enabled:
            return False
        if (
            kind == QEvent.Type.MouseButtonPress
            and isinstance(watched, QWidget)
            and watched.window() is window
        ):
            local = window.mapFromGlobal(event.globalPosition().toPoint())
            self._ripples.append((QPointF(local), time.monotonic()))
            self._start()
        elif (
            # A key bound to a shortcut never arrives as a KeyPress: Qt offers it
            # to the focus widget as a ShortcutOverride, then fires the action.
            kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride)
            and isinstance(event, QKeyEvent)
            and not event.isAutoRepeat()
            and event.key() not in _MODIFIER_KEYS
        ):
            combo = event.keyCombination().toCombined()
            self._echo(QKeySequence(combo).toString(QKeySequence.SequenceFormat.NativeText))
        elif kind == QEvent.Type.Shortcut and isinstance(event, QShortcutEvent):
            self._echo(event.key().toString(QKeySequence.SequenceFormat.NativeText))
        return False

    def _echo(self, text: str) -> None:
        # One key press reaches this filter once per widget it propagates through,
        # and a shortcut as an override and then as the shortcut itself: only a new
        # key (or the same one later) changes the caption.
        if (text and text != self._caption) or time.monotonic() - self._caption_at > 0.2:
            self._caption = text
            self._caption_at = time.monotonic()
            self._start()

    def _start(self) -> None:
        self.raise_()
        if not self._timer.isActive():
            self._timer.start()
        self.update()

    def _animate(self) -> None:
        now = time.monotonic()
        self._ripples = [(p, t0) for p, t0 in self._ripples if now - t0 < _RIPPLE_SECONDS]
        if self._caption and now - self._caption_at > _CAPTION_SECONDS:
            self._caption = ""
        if not self._ripples and not self._caption:
            self._timer.stop()
        self.update()

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        now = time.monotonic()
        accent = t.colour("accent")
        for point, t0 in self._ripples:
            progress = (now - t0) / _RIPPLE_SECONDS
            colour = QColor(accent)
            colour.setAlphaF(max(0.0, 0.9 * (1 - progress)))
            painter.setPen(QPen(colour, t.px(3)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            radius = t.px(10) + progress * t.px(26)
            painter.drawEllipse(point, radius, radius)
        if self._caption:
            font = t.font(16, bold=True)
            painter.setFont(font)
            width = painter.fontMetrics().horizontalAdvance(self._caption) + t.px(40)
            height = painter.fontMetrics().height() + t.px(20)
            box = QRectF(
                (self.width() - width) / 2, self.height() - height - t.px(50), width, height
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 190))
            painter.drawRoundedRect(box, t.px(10), t.px(10))
            painter.setPen(QColor("#FFFFFF"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self._caption)


class HelpOverlay(_Cover):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._entries: list[tuple[str, str]] = []
        self.hide()

    def show_shortcuts(self, entries: list[tuple[str, str]]) -> None:
        self._entries = entries
        QApplication.instance().installEventFilter(self)
        self.raise_()
        self.show()

    def close_overlay(self) -> None:
        QApplication.instance().removeEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        super().eventFilter(watched, event)
        if self.isVisible() and event.type() in (
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
        ):
            self.close_overlay()
            return True  # the closing key or click does nothing else
        return False

    def paintEvent(self, event) -> None:
        t = theme.current()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 150))
        title_font = t.font(15, bold=True)
        font = t.font(11)
        key_font = t.font(11, bold=True, mono=True)
        painter.setFont(font)
        row_h = painter.fontMetrics().height() + t.px(8)
        width = min(self.width() - t.px(40), t.px(640))
        height = min(self.height() - t.px(40), row_h * len(self._entries) + t.px(90))
        box = QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
        painter.setPen(QPen(t.colour("grid"), t.px(1)))
        painter.setBrush(t.colour("window"))
        painter.drawRoundedRect(box, t.px(12), t.px(12))
        painter.setFont(title_font)
        painter.setPen(t.colour("text"))
        painter.drawText(box.adjusted(t.px(24), t.px(16), 0, 0), "Keyboard shortcuts")
        y = box.top() + t.px(60)
        key_w = t.px(170)
        for keys, text in self._entries:
            if y + row_h > box.bottom() - t.px(10):
                break
            painter.setFont(key_font)
            painter.setPen(t.colour("accent"))
            painter.drawText(
                QRectF(box.left() + t.px(24), y, key_w, row_h), Qt.AlignmentFlag.AlignVCenter, keys
            )
            painter.setFont(font)
            painter.setPen(t.colour("text"))
            painter.drawText(
                QRectF(box.left() + t.px(24) + key_w, y, width - key_w - t.px(48), row_h),
                Qt.AlignmentFlag.AlignVCenter,
                text,
            )
            y += row_h
        painter.setFont(t.font(9))
        painter.setPen(t.colour("dim_text"))
        painter.drawText(
            box.adjusted(0, 0, -t.px(16), -t.px(8)),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
            "press any key to close",
        )
