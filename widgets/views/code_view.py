"""The demo's source with each task's parked line marked in the task's colour.

Every level of a task's await chain that lies in this file is marked: the
innermost strongly (where the task is parked), outer levels faintly (the
``await`` calls it is inside). Task names sit in a margin right of the code
only while the code does not need that room: otherwise the margin shrinks to a
dot per task, then to one dot split among the line's tasks, and the names are
in the tooltips (the line numbers' and the margin's). The view keeps the
innermost line of the selected task (``follow``), or of the first task parked
on something other than other tasks, in sight, horizontally too.
A line where a problem was found (``set_problems``) gets a ⚠ in the line-number
gutter, with the problem in its tooltip, and a wavy underline.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, Qt
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
# How the tag margin shows a line's tasks, from the widest to the narrowest.
NAMES, DOTS, PIE = "names", "dots", "pie"

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
        self._tag_mode = NAMES
        self._compact = False  # the margin shows dots, not names
        self._problems: dict[int, str] = {}  # line -> what was found wrong there
        self._follow: int | None = None  # the task chosen in the lanes
        self._key: tuple[int, int] | None = None  # (task, line) kept in sight
        self._following = True  # False once the user scrolls away by hand
        self._reveal_pending = False
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._numbers = _Margin(self, self.paint_numbers, self._gutter_tip)
        self._tags = _Margin(self, self.paint_tags)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._scroll_margins)
        for bar in (self.verticalScrollBar(), self.horizontalScrollBar()):
            # Only the user's scrolling (drag, click, wheel) triggers an action.
            bar.actionTriggered.connect(self._scrolled_by_hand)
        self.setAccessibleName("Source code")
        self.apply_theme()

    def apply_theme(self) -> None:
        self.setFont(theme.current().font(10, mono=True))
        self._update_margins()
        self._fit_tags()
        self._version = -1
        self._reveal_pending = True  # the lines moved: bring the followed one back

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
        self._key = None
        self._following = True
        self.refresh()

    def marks(self) -> dict[int, list[Mark]]:
        """Line number -> the task marks currently drawn on it."""
        return self._marks

    def set_problems(self, problems: dict[int, str]) -> None:
        """Mark these lines of the shown file (line -> what was found wrong there)."""
        if problems != self._problems:
            widen = bool(problems) != bool(self._problems)  # room for the ⚠ or not
            self._problems = problems
            self._version = -1  # lay the line marks out again on the next refresh
            if widen:
                self._update_margins()
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
        self._following = False  # shown on purpose: stay here
        return True

    def _gutter_tip(self, pos: QPoint) -> str:
        line = self.cursorForPosition(QPoint(0, pos.y())).blockNumber() + 1
        parts = []
        problem = self._problems.get(line)
        if problem:
            text = html.escape(problem).replace("\n", "<br>")
            parts.append(f"<b>{PROBLEM_MARK} line {line}</b><br>{text}")
        entries = self._marks.get(line)
        if entries:
            names = ", ".join(
                html.escape(name) + ("" if inner else " (inside)") for _c, name, inner in entries
            )
            parts.append(f"line {line}: {names}")
        return "<br>".join(parts)

    # -- following a task ----------------------------------------------------------
    def follow(self, task_id: int | None) -> None:
        """Keep ``task_id``'s innermost line here in sight (the task chosen in the lanes)."""
        self._follow = task_id
        self._following = True
        self._version = -1  # find its line on the next refresh

    def key_line(self) -> int | None:
        """The line kept in sight: where the followed (or first parked) task waits."""
        return self._key[1] if self._key is not None else None

    def _scrolled_by_hand(self, _action: int) -> None:
        self._following = False

    def _text_room(self) -> int:
        """The viewport's width if the tag margin took nothing."""
        vbar = self.verticalScrollBar()
        bar = vbar.width() if vbar.isVisibleTo(self) else 0
        return self.contentsRect().width() - self.gutter_width() - bar

    def _viewport_size(self) -> tuple[int, int]:
        # Worked out, not read from viewport() (see _place_margins).
        cr = self.contentsRect()
        hbar = self.horizontalScrollBar()
        height = cr.height() - (hbar.height() if hbar.isVisibleTo(self) else 0)
        return self._text_room() - self._tags_width, height

    def _line_width(self, block) -> float:
        """The width the line's text takes in the viewport, margins included."""
        layout = block.layout()
        if layout is not None and layout.lineCount():
            width = layout.lineAt(0).naturalTextWidth()
        else:
            width = self.fontMetrics().horizontalAdvance(block.text())
        return width + 2 * self.document().documentMargin()

    def _reveal(self) -> None:
        """Scroll the key line into sight: whole if it fits, else from its first word."""
        self._reveal_pending = False
        if self._key is None or not self._following:
            return
        block = self.document().findBlockByNumber(self._key[1] - 1)
        if not block.isValid():
            return
        width, height = self._viewport_size()
        if width <= 0 or height <= 0:
            return
        geometry = self.blockBoundingGeometry(block).translated(self.contentOffset())
        if geometry.top() < 0 or geometry.bottom() > height:
            lines = max(1, int(height // max(1.0, geometry.height())))
            self.verticalScrollBar().setValue(max(0, block.blockNumber() - (lines - 1) // 2))
        text = block.text()
        hbar = self.horizontalScrollBar()
        cursor = QTextCursor(block)
        cursor.setPosition(block.position() + len(text) - len(text.lstrip()))
        start = self.cursorRect(cursor).left() + hbar.value()  # in content coordinates
        cursor.setPosition(block.position() + len(text.rstrip()))
        end = self.cursorRect(cursor).left() + hbar.value()
        pad = theme.current().px(6)
        left = hbar.value()
        if end + pad <= width:
            hbar.setValue(0)  # the whole line, indentation and all (so the others too)
        elif not (left <= start and end + pad <= left + width):  # not already in sight
            hbar.setValue(max(0, start - pad))  # from its first word, as much as fits

    # -- frame tick ------------------------------------------------------------
    def refresh(self) -> None:
        if self.model.version != self._version:
            self._refresh_marks()
        if self._reveal_pending:
            self._reveal()

    def _refresh_marks(self) -> None:
        redo = self._version == -1  # new text or theme: draw the marks again
        self._version = self.model.version
        t = theme.current()
        found: dict[int, list[tuple[int, str, bool]]] = {}
        path = self.path
        followed = first = parked = None  # (task, innermost line) candidates for the key
        if path:
            for row in self.model.live_rows():
                levels = [f[1] for f in row.frames if f[0] == path and f[1] > 0]
                last = len(levels) - 1
                for depth, line in enumerate(levels):
                    found.setdefault(line, []).append((row.colour, row.name, depth == last))
                if levels:
                    here = (row.id, levels[-1])
                    if row.id == self._follow:
                        followed = here
                    if first is None:
                        first = here
                    if parked is None and row.state != "task" and not row.targets:
                        # Waits on a sleep, a future, I/O, not on other tasks: the
                        # line where the run is actually parked.
                        parked = here
        self._set_key(followed or parked or first)
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

    def _set_key(self, key: tuple[int, int] | None) -> None:
        if key == self._key:
            return
        if key is not None and (self._key is None or key[0] != self._key[0]):
            self._following = True  # another task to follow: back to following
        self._key = key
        self._reveal_pending = True

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
        t = theme.current()
        digits = len(str(max(1, self.blockCount())))
        metrics = self.fontMetrics()
        # The task strip, then (only if some line has a problem) the ⚠, then the number.
        left = t.px(8)
        if self._problems:
            left = t.px(5) + metrics.horizontalAdvance(PROBLEM_MARK) + t.px(4)
        return left + metrics.horizontalAdvance("9") * digits + t.px(8)

    def _fit_tags(self) -> None:
        """Size the right margin from what the code leaves over: the names if the
        marked lines still fit beside them, else a dot per task, else one dot."""
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
        room = self._text_room()
        document = self.document()
        need = 0.0  # the marked lines' text, each as far as it could ever fit
        for line in self._marks:
            block = document.findBlockByNumber(line - 1)
            if block.isValid():
                need = max(need, min(self._line_width(block) + t.px(6), room))
        self._tag_mode = NAMES
        if widest and room - (widest + t.px(8)) < need:
            self._tag_mode = DOTS
            widest = busiest * t.px(14)
            if room - (widest + t.px(8)) < need:
                self._tag_mode = PIE
                widest = t.px(6)  # with the margin's padding: one dot's room
        self._compact = self._tag_mode != NAMES
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
        self._reveal_pending = True  # on the next frame, once the layout has settled

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._reveal_pending = True

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
                # The strip shares the line's height among its tasks' colours.
                share = height / len(entries)
                for index, (colour, _name, _inner) in enumerate(entries):
                    y = top + round(index * share)
                    painter.fillRect(0, y, t.px(4), top + round((index + 1) * share) - y, colour)
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
            if self._tag_mode == PIE:
                self._paint_pie(painter, margin, geometry, entries)
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

    def _paint_pie(self, painter: QPainter, margin: QWidget, geometry, entries) -> None:
        """One dot for the line, split among its tasks' colours (the narrowest tags)."""
        t = theme.current()
        radius = min(t.px(5), (margin.width() - 2) / 2, geometry.height() / 2 - 1)
        if radius <= 0:
            return
        centre = QPointF(margin.width() / 2, geometry.top() + geometry.height() / 2)
        box = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)
        painter.setPen(Qt.PenStyle.NoPen)
        span = 360 * 16 // len(entries)
        for index, (colour, _name, innermost) in enumerate(entries):
            painter.setBrush(colour if innermost else colour.darker(160))
            if len(entries) == 1:
                painter.drawEllipse(box)
            else:
                painter.drawPie(box, 90 * 16 - index * span, -span)
