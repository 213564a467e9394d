"""The demo gallery: demos grouped by topic, with a plain-language explanation."""

from __future__ import annotations

import re

from coroscope import demos
from coroscope.widgets.paint.theme import MONO_FAMILY
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

_KEY = Qt.ItemDataRole.UserRole


def _code_span(match: re.Match[str]) -> str:
    # A long call (``loop.run_until_complete(asyncio.wait(coros))``) is one word to
    # Qt: it may break after a dot, an underscore or a bracket instead of widening
    # the gallery to fit it.
    code = re.sub(r"([._(])", "\\1\u200b", match.group(1))
    return f"<code style=\"font-family:'{MONO_FAMILY}'\">{code}</code>"


def docstring_html(text: str) -> str:
    """Docstring markup (``code``, *emphasis*) as the rich text a QLabel shows."""
    # As html.escape(quote=False) would, without importing html before the window shows.
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # Qt draws a bare <code> in whatever fontconfig makes of "Courier New", which
    # differs from machine to machine (and moved the whole gallery by 8 px).
    text = re.sub(r"``(.+?)``", _code_span, text)
    return re.sub(r"(?<![\w*])\*(\S[^*]*?)\*(?!\w)", r"<i>\1</i>", text)


class DemoGallery(QWidget):
    demoSelected = Signal(str)
    demoActivated = Signal(str)  # double-click or Enter: run it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        # Groups have no arrow to open them again, so nothing may close them.
        self.tree.setItemsExpandable(False)
        self.tree.setAccessibleName("Demo gallery")
        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.explanation.setMinimumHeight(110)
        self.explanation.setMargin(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 3)
        layout.addWidget(self.explanation, 2)
        self._items: dict[str, QTreeWidgetItem] = {}
        for group, members in demos.groups().items():
            parent = QTreeWidgetItem(self.tree, [group])
            parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = parent.font(0)
            font.setBold(True)
            parent.setFont(0, font)
            for demo in members:
                item = QTreeWidgetItem(parent, [demo.title])
                item.setData(0, _KEY, demo.key)
                item.setToolTip(
                    0, f"{demo.summary}\nDouble-click to run. (python -m {demo.module_name})"
                )
                self._items[demo.key] = item
            parent.setExpanded(True)
        self.tree.currentItemChanged.connect(self._changed)
        self.tree.itemActivated.connect(self._activated)

    def _changed(self, item: QTreeWidgetItem | None, _previous) -> None:
        key = item.data(0, _KEY) if item else None
        if key:
            self._explain(key)
            self.demoSelected.emit(key)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        key = item.data(0, _KEY)
        if key:
            self.demoActivated.emit(key)

    def _explain(self, key: str) -> None:
        demo = demos.find(key)
        if demo is None:
            return
        doc = (demo.load().__doc__ or "").strip()
        body = doc.split("\n\n", 1)[1] if "\n\n" in doc else ""
        first_para = " ".join(body.split("\n\n", 1)[0].split())
        self.explanation.setText(
            f"<b>{demo.title}</b><br>{demo.summary}<br><br>{docstring_html(first_para)}"
        )

    def select(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            self.tree.setCurrentItem(item)

    @property
    def current_key(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, _KEY) if item else None
