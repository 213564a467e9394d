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
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPen,
    QShortcutEvent,
)
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
    """Every shortcut, laid out in as many columns as the window has room for.

    The rows shrink (down to ``_SMALLEST``) before anything is left out; a list
    that still does not fit scrolls with the wheel and Up / Down / Page Up / Page
    Down / Home / End. Any other key, or a click, closes it.
    """

    _SCALES = (1.0, 0.9, 0.8, 0.7)  # row text sizes tried, largest first
    _SMALLEST = _SCALES[-1]
    _SCROLL_KEYS = {
        Qt.Key.Key_Up: -1,
        Qt.Key.Key_Down: 1,
        Qt.Key.Key_PageUp: -10,
        Qt.Key.Key_PageDown: 10,
        Qt.Key.Key_Home: -(10**6),
        Qt.Key.Key_End: 10**6,
    }

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._entries: list[tuple[str, str]] = []
        self._scroll = 0  # rows scrolled past (only when the list cannot fit)
        self.hide()

    def show_shortcuts(self, entries: list[tuple[str, str]]) -> None:
        self._entries = entries
        self._scroll = 0
        QApplication.instance().installEventFilter(self)
        self.raise_()
        self.show()
        self.update()

    def close_overlay(self) -> None:
        QApplication.instance().removeEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        super().eventFilter(watched, event)
        if not self.isVisible():
            return False
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            dy = event.angleDelta().y()
            if dy:
                notches = max(1, round(abs(dy) / 120))
                self.scroll_by(-notches * 3 if dy > 0 else notches * 3)
            return True
        if kind == QEvent.Type.ShortcutOverride:
            # Every key is the overlay's while it shows: it arrives as a key press
            # (which scrolls or closes) instead of firing the window's shortcut.
            event.accept()
            return True
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            step = self._SCROLL_KEYS.get(Qt.Key(event.key()))
            if step is not None and self.max_scroll() > 0:
                self.scroll_by(step)
                return True
        if kind in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self.close_overlay()
            return True  # the closing key or click does nothing else
        return False

    # -- layout ---------------------------------------------------------------------------
    def _fonts(self, scale: float):
        t = theme.current()
        return t.font(11 * scale), t.font(11 * scale, bold=True, mono=True)

    def _plan(self) -> dict:
        """The box, the fonts and the grid of rows that fit this window best."""
        t = theme.current()
        margin = t.px(20)
        head, foot = t.px(56), t.px(30)  # title above the rows, hint below them
        pad = t.px(24)
        avail_w = max(1, self.width() - 2 * margin - 2 * pad)
        avail_h = max(1, self.height() - 2 * margin - head - foot)
        count = max(1, len(self._entries))
        plan = {}
        for scale in self._SCALES:
            font, key_font = self._fonts(scale)
            metrics, key_metrics = QFontMetrics(font), QFontMetrics(key_font)
            row_h = metrics.height() + t.px(8 * scale)
            key_w = max((key_metrics.horizontalAdvance(k) for k, _ in self._entries), default=0)
            key_w += t.px(16 * scale)
            text_w = max((metrics.horizontalAdvance(x) for _, x in self._entries), default=0)
            text_w = min(text_w, t.px(420)) + t.px(12)
            col_w = min(key_w + text_w, avail_w)
            gap = t.px(24)
            fit_cols = max(1, (avail_w + gap) // (col_w + gap))
            fit_rows = max(1, avail_h // row_h)
            cols = min(fit_cols, -(-count // fit_rows))
            rows = -(-count // cols)
            plan = {
                "scale": scale,
                "font": font,
                "key_font": key_font,
                "row_h": row_h,
                "key_w": min(key_w, col_w // 2),
                "col_w": col_w,
                "gap": gap,
                "cols": cols,
                "rows": rows,
                "shown_rows": min(rows, fit_rows),
            }
            if rows <= fit_rows:
                break
        width = plan["cols"] * plan["col_w"] + (plan["cols"] - 1) * plan["gap"] + 2 * pad
        height = plan["shown_rows"] * plan["row_h"] + head + foot
        plan["box"] = QRectF(
            (self.width() - width) / 2, (self.height() - height) / 2, width, height
        )
        plan["head"], plan["pad"] = head, pad
        return plan

    def max_scroll(self) -> int:
        plan = self._plan()
        return max(0, plan["rows"] - plan["shown_rows"])

    def scroll_by(self, rows: int) -> None:
        scroll = max(0, min(self.max_scroll(), self._scroll + rows))
        if scroll != self._scroll:
            self._scroll = scroll
            self.update()

    def scroll_to(self, index: int) -> None:
        """Scroll (if the list scrolls) so that entry ``index`` is shown."""
        plan = self._plan()
        row = index % plan["rows"]
        if row < self._scroll:
            self.scroll_by(row - self._scroll)
        elif row >= self._scroll + plan["shown_rows"]:
            self.scroll_by(row - self._scroll - plan["shown_rows"] + 1)

    def layout_entries(self) -> list[tuple[int, QRectF, QRectF]]:
        """(entry index, keys rect, text rect) of each entry shown now, in overlay
        coordinates: the entries go down the first column, then the next."""
        plan = self._plan()
        box = plan["box"]
        shown = []
        for index in range(len(self._entries)):
            col, row = divmod(index, plan["rows"])
            row -= self._scroll
            if not 0 <= row < plan["shown_rows"]:
                continue
            x = box.left() + plan["pad"] + col * (plan["col_w"] + plan["gap"])
            y = box.top() + plan["head"] + row * plan["row_h"]
            keys = QRectF(x, y, plan["key_w"], plan["row_h"])
            text = QRectF(x + plan["key_w"], y, plan["col_w"] - plan["key_w"], plan["row_h"])
            shown.append((index, keys, text))
        return shown

    def box(self) -> QRectF:
        return self._plan()["box"]

    def paintEvent(self, event) -> None:
        t = theme.current()
        plan = self._plan()
        box = plan["box"]
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 150))
        painter.setPen(QPen(t.colour("grid"), t.px(1)))
        painter.setBrush(t.colour("window"))
        painter.drawRoundedRect(box, t.px(12), t.px(12))
        painter.setFont(t.font(15, bold=True))
        painter.setPen(t.colour("text"))
        title_h = QFontMetrics(painter.font()).height()
        painter.drawText(
            QRectF(box.left() + plan["pad"], box.top() + t.px(12), box.width(), title_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            "Keyboard shortcuts",
        )
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        for index, key_rect, text_rect in self.layout_entries():
            keys, text = self._entries[index]
            painter.setFont(plan["key_font"])
            painter.setPen(t.colour("accent"))
            shown = painter.fontMetrics().elidedText(
                keys, Qt.TextElideMode.ElideRight, round(key_rect.width() - t.px(8))
            )
            painter.drawText(key_rect, align, shown)
            painter.setFont(plan["font"])
            painter.setPen(t.colour("text"))
            shown = painter.fontMetrics().elidedText(
                text, Qt.TextElideMode.ElideRight, round(text_rect.width() - t.px(4))
            )
            painter.drawText(text_rect, align, shown)
        painter.setFont(t.font(9))
        painter.setPen(t.colour("dim_text"))
        hint = "press any key to close"
        more = self.max_scroll()
        if more:
            first = self._scroll + 1
            last = self._scroll + plan["shown_rows"]
            hint = f"rows {first} to {last} of {plan['rows']} · wheel or ↑ ↓ to scroll · " + hint
        painter.drawText(
            box.adjusted(0, 0, -t.px(16), -t.px(8)),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
            hint,
        )
