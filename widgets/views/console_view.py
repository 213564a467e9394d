"""Console: what tasks printed, each line tagged with the task in its colour.

New lines are appended once per frame in one edit block, and the document keeps
a bounded number of blocks, so a script printing 100,000 lines stays responsive.
"""

from __future__ import annotations

from coroscope.models.console_model import ConsoleModel
from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

_KIND_COLOURS = {"stderr": "failed", "error": "failed", "warning": "ready", "session": "done"}


class ConsoleView(QPlainTextEdit):
    def __init__(self, console: ConsoleModel, tasks: TaskModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.console = console
        self.tasks = tasks
        self._seq = 0
        self.setReadOnly(True)
        self.setMaximumBlockCount(console.capacity)
        self.setUndoRedoEnabled(False)
        self.setPlaceholderText(
            "Output from print() appears here, tagged with the task that printed it."
        )
        self.setAccessibleName("Console")
        self.apply_theme()

    def apply_theme(self) -> None:
        self.setFont(theme.current().font(10, mono=True))

    def refresh(self) -> None:
        lines = self.console.since(self._seq)
        if not lines:
            return
        self._seq = lines[-1].seq
        t = theme.current()
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        tag_format = QTextCharFormat()
        text_format = QTextCharFormat()
        first = self.document().isEmpty()
        for line in lines:
            if not first:
                cursor.insertBlock()
            first = False
            row = self.tasks.get(line.task) if line.task is not None else None
            if row is not None:
                tag_format.setForeground(t.task_colour(row.colour))
                tag_format.setFontWeight(700)
                cursor.insertText(f"[{row.name}] ", tag_format)
            elif line.kind in ("stdout", "stderr"):
                tag_format.setForeground(t.colour("dim_text"))
                tag_format.setFontWeight(700)
                cursor.insertText("[loop] ", tag_format)
            colour_name = _KIND_COLOURS.get(line.kind)
            text_format.setForeground(
                t.state_colour(colour_name) if colour_name else t.colour("text")
            )
            cursor.insertText(line.text, text_format)
        cursor.endEditBlock()
        if at_bottom:
            bar.setValue(bar.maximum())

    def reset(self) -> None:
        self.clear()
        self._seq = self.console.last_seq
