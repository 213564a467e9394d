"""The demo's source with each task's parked line marked in the task's colour.

Every level of a task's await chain that lies in this file is marked: the
innermost strongly (where the task is parked), outer levels faintly (the
``await`` calls it is inside). Task names sit in a margin right of the code.
A line where a problem was found (``set_problems``) gets a ⚠ in the line-number
gutter, with the problem in its tooltip, and a wavy underline.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QPainter,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

MAX_SOURCE_BYTES = 2_000_000
# A line holding more tasks than this gets one tag, "first +N more", so ten
# thousand tasks parked on one await cost one label (and a narrow margin).
MAX_TAGS_PER_LINE = 4
PROBLEM_MARK = "⚠"

Mark = tuple[QColor, str, bool]  # (task colour, task name, innermost level?)


class _Margin(QWidget):
    """A strip beside the text that the view paints (line numbers, task tags)."""

    def __init__(
        self,
        view: QPlainTextEdit,
        paint: Callable[[QWidget, QRect], None],
        tip: Callable[[QPoint], str] | None = None,
    ) -> None:
        super().__init__(view)
        self._paint = paint
        self._tip = tip
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills its rect

    def paintEvent(self, event) -> None:
        self._paint(self, event.rect())

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._tip is not None:
            text = self._tip(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)


class CodeView(QPlainTextEdit):
    def __init__(self, model: TaskModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.path: str | None = None
        self._version = -1
        self._marks: dict[int, list[Mark]] = {}
        self._found: dict[int, list[tuple[int, str, bool]]] | None = None
        self._tags_width = 0
        self._compact = False
        self._problems: dict[int, str] = {}  # line -> what was found wrong there
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._numbers = _Margin(self, self.paint_numbers, self._problem_tip)
        self._tags = _Margin(self, self.paint_tags)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._scroll_margins)
        self.setAccessibleName("Source code")
        self.apply_theme()

    def apply_theme(self) -> None:
        self.setFont(theme.current().font(10, mono=True))
        self._update_margins()
        self._version = -1

    # -- content ---------------------------------------------------------------
    def show_source(self, path: str | None, text: str | None = None) -> None:
        """Show ``path`` (or ``text`` if given); an unreadable file shows why instead."""
        self.path = str(Path(path).resolve()) if path else None
        if text is None and path:
            try:
                if Path(path).stat().st_size > MAX_SOURCE_BYTES:
                    text = f"# {Path(path).name} is too large to show here."
                else:
                    text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                text = f"# Cannot show {path}: {exc.strerror or exc}"
        self.setPlainText(text or "")
        self._version = -1
        self.refresh()

    def marks(self) -> dict[int, list[Mark]]:
        """Line number -> the task marks currently drawn on it."""
        return self._marks

    def set_problems(self, problems: dict[int, str]) -> None:
        """Mark these lines of the shown file (line -> what was found wrong there)."""
        if problems != self._problems:
            self._problems = problems
            self._version = -1  # lay the line marks out again on the next refresh
            self._numbers.update()

    def problems(self) -> dict[int, str]:
        return self._problems

    def show_line(self, line: int) -> bool:
        """Scroll to ``line`` and select it; False if the shown text has no such line."""
        block = self.document().findBlockByNumber(line - 1)
        if line < 1 or not block.isValid():
            return False
        # Selected from its end back to its start, so the view scrolls to where
        # the line begins rather than to its far end.
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
        cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.centerCursor()
        self.horizontalScrollBar().setValue(0)
        return True

    def _problem_tip(self, pos: QPoint) -> str:
        line = self.cursorForPosition(QPoint(0, pos.y())).blockNumber() + 1
        problem = self._problems.get(line)
        if not problem:
            return ""
        text = html.escape(problem).replace("\n", "<br>")
        return f"<b>{PROBLEM_MARK} line {line}</b><br>{text}"

    # -- frame tick ------------------------------------------------------------
    def refresh(self) -> None:
        if self.model.version == self._version:
            return
        redo = self._version == -1  # new text or theme: draw the marks again
        self._version = self.model.version
        t = theme.current()
        found: dict[int, list[tuple[int, str, bool]]] = {}
        path = self.path
        if path:
            for row in self.model.live_rows():
                levels = [f[1] for f in row.frames if f[0] == path and f[1] > 0]
                last = len(levels) - 1
                for depth, line in enumerate(levels):
                    found.setdefault(line, []).append((row.colour, row.name, depth == last))
        if found == self._found and not redo:
            # Tasks stepping on the same lines (a busy run, frame after frame):
            # nothing to lay out or repaint.
            return
        self._found = found
        marks: dict[int, list[Mark]] = {}
        for line, entries in found.items():
            # Colours are made only for the labels drawn: cheap with 10,000 tasks.
            if len(entries) <= MAX_TAGS_PER_LINE:
                marks[line] = [(t.task_colour(c), name, inner) for c, name, inner in entries]
            else:
                colour, name, _inner = entries[0]
                label = f"{name} +{len(entries) - 1:,} more"
                marks[line] = [(t.task_colour(colour), label, any(e[2] for e in entries))]
        self._marks = marks
        self._fit_tags()
        selections = []
        for line, entries in sorted(marks.items()):
            block = self.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            colour = QColor(entries[0][0])
            colour.setAlpha(70 if any(e[2] for e in entries) else 28)
            selection.format.setBackground(colour)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        selections.extend(self._problem_selections())
        self.setExtraSelections(selections)
        self._numbers.update()
        self._tags.update()

    def _problem_selections(self) -> list[QTextEdit.ExtraSelection]:
        """A wavy underline under the code of each line with a problem."""
        selections = []
        colour = theme.current().state_colour("cancelled")
        for line in sorted(self._problems):
            block = self.document().findBlockByNumber(line - 1)
            text = block.text() if block.isValid() else ""
            if not text.strip():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            selection.format.setUnderlineColor(colour)
            cursor = QTextCursor(block)
            cursor.setPosition(block.position() + len(text) - len(text.lstrip()))
            cursor.setPosition(
                block.position() + len(text.rstrip()), QTextCursor.MoveMode.KeepAnchor
            )
            selection.cursor = cursor
            selections.append(selection)
        return selections

    # -- margins -----------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return self.fontMetrics().horizontalAdvance("9") * (digits + 2) + theme.current().px(10)

    def _fit_tags(self) -> None:
        """Reserve a right margin wide enough for the busiest line's task names."""
        t = theme.current()
        metrics = QFontMetrics(t.font(9, bold=True))
        widest = 0
        busiest = 0
        for entries in self._marks.values():
            width = sum(
                metrics.horizontalAdvance(f"◀ {name}") + t.px(8) for _c, name, _i in entries
            )
            widest = max(widest, width)
            busiest = max(busiest, len(entries))
        # Names while they fit in under half the view; coloured dots beyond that.
        self._compact = widest > self.width() * 0.45
        if self._compact:
            widest = busiest * t.px(14)
        self._tags.setToolTip(
            "<br>".join(
                f"line {line}: " + ", ".join(name for _c, name, _i in entries)
                for line, entries in sorted(self._marks.items())
            )
        )
        width = widest + t.px(8) if widest else 0
        if width != self._tags_width:
            self._tags_width = width
            self._update_margins()

    def _update_margins(self, *_args) -> None:
        self.setViewportMargins(self.gutter_width(), 0, self._tags_width, 0)
        self._place_margins()

    def _scroll_margins(self, rect: QRect, dy: int) -> None:
        for margin in (self._numbers, self._tags):
            if dy:
                margin.scroll(0, dy)
            else:
                margin.update(0, rect.y(), margin.width(), rect.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_tags()  # names or dots depends on the width
        self._place_margins()

    def _place_margins(self) -> None:
        cr = self.contentsRect()
        self._numbers.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))
        # The viewport's right edge and height, worked out from the scroll bars rather
        # than read from viewport(): the first time PySide6 is handed a plain QWidget
        # that Qt made, it inspects every widget class (~30 ms of start-up).
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        right = cr.right() - (vbar.width() if vbar.isVisibleTo(self) else 0) - self._tags_width
        height = cr.height() - (hbar.height() if hbar.isVisibleTo(self) else 0)
        self._tags.setGeometry(QRect(right + 1, cr.top(), self._tags_width, height))

    def _visible_blocks(self, height: int):
        block = self.firstVisibleBlock()
        while block.isValid():
            geometry = self.blockBoundingGeometry(block).translated(self.contentOffset())
            if geometry.top() > height:
                break
            if block.isVisible():
                yield block, geometry
            block = block.next()

    def paint_numbers(self, margin: QWidget, rect: QRect) -> None:
        t = theme.current()
        painter = QPainter(margin)
        painter.fillRect(rect, t.colour("alt_base"))
        painter.setFont(self.font())
        for block, geometry in self._visible_blocks(margin.height()):
            number = block.blockNumber() + 1
            entries = self._marks.get(number)
            top, height = round(geometry.top()), round(geometry.height())
            if entries:
                painter.fillRect(0, top, t.px(4), height, entries[0][0])
            if number in self._problems:
                painter.setPen(t.state_colour("cancelled"))
                painter.drawText(
                    t.px(5),
                    top,
                    margin.width(),
                    height,
                    Qt.AlignmentFlag.AlignVCenter,
                    PROBLEM_MARK,
                )
            painter.setPen(t.colour("text") if entries else t.colour("dim_text"))
            painter.drawText(
                0,
                top,
                margin.width() - t.px(6),
                height,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                str(number),
            )

    def paint_tags(self, margin: QWidget, rect: QRect) -> None:
        t = theme.current()
        painter = QPainter(margin)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(rect, t.colour("alt_base"))
        if not self._marks:
            return
        painter.setFont(t.font(9, bold=True))
        metrics = painter.fontMetrics()
        for block, geometry in self._visible_blocks(margin.height()):
            entries = self._marks.get(block.blockNumber() + 1)
            if not entries:
                continue
            x = t.px(6)
            for colour, name, innermost in entries:
                if self._compact:
                    painter.setPen(Qt.PenStyle.NoPen)
                    painter.setBrush(colour if innermost else colour.darker(160))
                    centre_y = geometry.top() + geometry.height() / 2
                    painter.drawEllipse(QPointF(x + t.px(5), centre_y), t.px(5), t.px(5))
                    x += t.px(14)
                    continue
                label = f"◀ {name}" if innermost else f"· {name}"
                width = metrics.horizontalAdvance(label)
                painter.setPen(colour)
                painter.drawText(
                    QRect(x, round(geometry.top()), width + t.px(4), round(geometry.height())),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    label,
                )
                x += width + t.px(8)
