"""What the painted row lists (task lanes, the Loop panel's timers) share.

Both paint one row per item, hit-test named areas within a row, show a
tooltip and a context menu for the row under the pointer, and open a small
non-modal spin box over a row to type a time. The subclass supplies
``row_at``, ``row_rect``, ``_areas``, ``select``, ``actions_for`` and
``_tooltip``; this mixin does the rest the same way for both, including the
fonts and elided labels they paint with.
"""

from __future__ import annotations

from collections.abc import Callable

from coroscope.widgets.paint import theme
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QDoubleSpinBox, QMenu, QToolTip, QWidget

# Rows repaint on every frame while anything moves, asking for the same few fonts
# and labels each time: these are kept instead of rebuilt for every row.
_FONTS: dict[tuple, QFont] = {}
_METRICS: dict[int, QFontMetrics] = {}  # by id() of a font in _FONTS
_ELIDED: dict[tuple, str] = {}
_MAX_ELIDED = 4096


class _TimeEditor(QDoubleSpinBox):
    """A spin box that keeps the Enter that applies it: Qt's passes Enter on to its
    parent, the row list, where Enter opens the editor again."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class PaintedRows:
    _editor: QDoubleSpinBox | None = None
    _editing: int | None = None
    _on_commit: Callable[[int, float], None] | None = None

    def _font(self, size: float, bold: bool = False, mono: bool = False) -> QFont:
        """A shared font for painting rows; callers must not change it."""
        t = theme.current()
        key = (size, bold, mono, t.scale)
        font = _FONTS.get(key)
        if font is None:
            font = _FONTS[key] = t.font(size, bold=bold, mono=mono)
            _METRICS[id(font)] = QFontMetrics(font)
        return font

    def _elide(self, text: str, font: QFont, width: int) -> str:
        """``text`` cut to ``width`` in ``font`` (one from ``_font``)."""
        key = (text, id(font), width)
        shown = _ELIDED.get(key)
        if shown is None:
            if len(_ELIDED) > _MAX_ELIDED:  # a run that churns names: start afresh
                _ELIDED.clear()
            metrics = _METRICS[id(font)]
            shown = _ELIDED[key] = metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
        return shown

    def area_centre(self, item_id: int, area: str) -> QPoint:
        """Where to click for ``area`` of a row (tests and the click overlay use it)."""
        rect = self.row_rect(item_id)
        if rect is None:
            raise LookupError(f"no row for {item_id}")
        return self._areas(rect)[area].center()

    def _hit(self, row, pos: QPoint) -> str | None:
        """Name of the area of ``row`` under ``pos`` (``bar``, ``button``...)."""
        rect = self.row_rect(row.id)
        if rect is None:
            return None
        for name, area in self._areas(rect).items():
            if area.contains(pos):
                return name
        return None

    def contextMenuEvent(self, event) -> None:
        row = self.row_at(event.pos())
        if row is None:
            return
        self.select(row.id)
        menu = QMenu(self)
        for action in self.actions_for(row):
            menu.addAction(action)
        menu.popup(event.globalPos())

    def _show_tooltip(self, event) -> bool:
        row = self.row_at(event.pos())
        if row is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(
                event.globalPos(), self._tooltip(row, self._hit(row, event.pos())), self
            )
        return True

    # -- inline editor (non-modal: a modal dialog would stall the asyncio loop) ------------
    def _open_editor(
        self,
        item_id: int,
        parent: QWidget,
        geometry: QRect,
        value: float,
        tip: str,
        on_commit: Callable[[int, float], None],
        *,
        maximum: float = 3600.0,
        decimals: int = 1,
        prefix: str = "",
    ) -> QDoubleSpinBox:
        self._close_editor()
        editor = _TimeEditor(parent)
        editor.setRange(0.0, maximum)
        editor.setDecimals(decimals)
        editor.setSingleStep(0.5)
        editor.setPrefix(prefix)
        editor.setSuffix(" s")
        editor.setValue(value)
        editor.setToolTip(f"{tip}; Enter applies, Esc cancels")
        editor.setGeometry(geometry)
        editor.editingFinished.connect(self._commit_editor)
        editor.show()
        editor.setFocus()
        editor.selectAll()
        self._editor = editor
        self._editing = item_id
        self._on_commit = on_commit
        return editor

    def _commit_editor(self) -> None:
        editor, item_id, on_commit = self._editor, self._editing, self._on_commit
        if editor is None or item_id is None or on_commit is None:
            return
        value = editor.value()
        self._close_editor()
        on_commit(item_id, value)
        self.setFocus()

    def _close_editor(self) -> None:
        if self._editor is not None:
            editor = self._editor
            self._editor = None
            self._editing = None
            self._on_commit = None
            editor.hide()
            editor.deleteLater()
