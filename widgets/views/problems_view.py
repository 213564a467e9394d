"""The Problems list: each mistake Coroscope noticed in the run, with its fix.

It renders a ``FindingsModel``: one entry per finding, newest last, each with a
mark in its kind's colour, the title, where it happened (file:line), the task,
the loop time and the sentence that says what to write instead (wrapped, with
the whole text in the entry's tooltip). An empty list says so quietly. Clicking
an entry, or Enter on it, emits ``findingActivated``; what that shows (the task's
lane, the line in the code view) is the feature's business. The list looks at
the model on the frame tick and changes only when its ``version`` does.
"""

from __future__ import annotations

import html

from coroscope.models.findings import Finding, FindingsModel
from coroscope.widgets.paint import theme
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

PLACEHOLDER = "No problems found"
FINDING_ROLE = Qt.ItemDataRole.UserRole + 1

# Each kind's mark: the state colour it borrows from the theme, and a glyph the
# UI font has. Red: the run cannot be right; amber: the loop was held; yellow:
# code that silently did not run (or ran on unwatched).
KIND_MARKS: dict[str, tuple[str, str]] = {
    "deadlock": ("failed", "⇄"),
    "never retrieved": ("failed", "!"),
    "not awaitable": ("failed", "?"),
    "other loop": ("failed", "↯"),
    "blocking call": ("cancelled", "◔"),
    "busy loop": ("cancelled", "⟳"),
    "never awaited": ("ready", "⊘"),
    "task dropped": ("ready", "∅"),
    "left pending": ("ready", "◌"),
}


_OTHER_MARK = ("cancelled", "⚠")  # a kind the core names later


def kind_colour(kind: str) -> QColor:
    state, _glyph = KIND_MARKS.get(kind, _OTHER_MARK)
    return theme.current().state_colour(state)


def details(finding: Finding) -> str:
    """The second line of an entry: where, in which task, when."""
    parts = [finding.where(), finding.task_name, f"t = {finding.run_time:.2f} s"]
    return " · ".join(p for p in parts if p)


def headline(finding: Finding) -> str:
    return f"{finding.title} · {finding.count} times" if finding.count > 1 else finding.title


def tooltip(finding: Finding) -> str:
    """The whole entry, for its tooltip (rich text, so it wraps)."""
    e = html.escape
    lines = [f"<b>{e(headline(finding))}</b>"]
    if finding.where():
        lines.append(
            f"at {e(finding.where())}"
            + (f" in {e(finding.task_name)}" if finding.task_name else "")
        )
    elif finding.task_name:
        lines.append(f"in {e(finding.task_name)}")
    lines.append(f"first seen at t = {finding.run_time:.2f} s (loop time)")
    lines.append(e(finding.message))
    lines.append("<i>click or press Enter to show its task and line</i>")
    return "<p style='white-space:pre-wrap'>" + "<br>".join(lines) + "</p>"


class _Rows(QAbstractListModel):
    """The findings last shown, as Qt's list reads them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Finding] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        finding = self.rows[index.row()]
        if role == FINDING_ROLE:
            return finding
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{headline(finding)}: {finding.message}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(finding)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{headline(finding)}, {details(finding)}. {finding.message}"
        return None

    def show(self, findings: list[Finding]) -> None:
        """Change only what changed: findings are added at the end or counted up in
        place, so the selection and scroll position stay put while a run goes on."""
        old = self.rows
        if len(findings) < len(old) or any(
            (a.kind, a.task, a.file, a.line) != (b.kind, b.task, b.file, b.line)
            for a, b in zip(old, findings, strict=False)
        ):
            self.beginResetModel()
            self.rows = list(findings)
            self.endResetModel()
            return
        for row, (a, b) in enumerate(zip(old, findings, strict=False)):
            if a != b:
                old[row] = b
                self.dataChanged.emit(self.index(row), self.index(row))
        if len(findings) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(findings) - 1)
            old.extend(findings[len(old) :])
            self.endInsertRows()


class _Entry(QStyledItemDelegate):
    """Paints one finding: a mark, the title and details, the wrapped message."""

    def __init__(self, view: ProblemsView) -> None:
        super().__init__(view)
        self._view = view

    @staticmethod
    def _fonts():
        t = theme.current()
        return t.font(10.5, bold=True), t.font(9, mono=True), t.font(10)

    def _text_left(self) -> int:
        t = theme.current()
        return t.px(5) + t.px(10) + t.px(24) + t.px(10)

    def _message_width(self, width: int) -> int:
        return max(40, width - self._text_left() - theme.current().px(12))

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        finding = index.data(FINDING_ROLE)
        width = self._view.viewport().width()
        if finding is None:
            return QSize(width, 0)
        t = theme.current()
        title_font, detail_font, message_font = self._fonts()
        message = QFontMetrics(message_font).boundingRect(
            QRect(0, 0, self._message_width(width), 100_000),
            Qt.TextFlag.TextWordWrap,
            finding.message,
        )
        height = (
            t.px(8)
            + QFontMetrics(title_font).height()
            + t.px(2)
            + QFontMetrics(detail_font).height()
            + t.px(4)
            + message.height()
            + t.px(10)
        )
        return QSize(width, height)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        finding: Finding | None = index.data(FINDING_ROLE)
        if finding is None:
            return
        t = theme.current()
        rect = option.rect
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            p.fillRect(
                rect, QColor(t.accent).darker(260) if t.name == "dark" else QColor("#DCE8F8")
            )
        elif index.row() % 2:
            p.fillRect(rect, t.colour("alt_base"))
        if option.state & QStyle.StateFlag.State_MouseOver:
            hover = t.colour("text")
            hover.setAlpha(14)
            p.fillRect(rect, hover)
        colour = kind_colour(finding.kind)
        p.fillRect(QRect(rect.left(), rect.top() + 3, t.px(5), rect.height() - 6), colour)
        # the mark: the kind's glyph in a ring of its colour
        size = t.px(24)
        mark = QRect(rect.left() + t.px(5) + t.px(10), rect.top() + t.px(8), size, size)
        fill = QColor(colour)
        fill.setAlpha(48)
        p.setPen(colour)
        p.setBrush(fill)
        p.drawEllipse(mark.adjusted(1, 1, -1, -1))
        _state, glyph = KIND_MARKS.get(finding.kind, _OTHER_MARK)
        p.setFont(t.font(11, bold=True))
        p.drawText(mark, Qt.AlignmentFlag.AlignCenter, glyph)

        title_font, detail_font, message_font = self._fonts()
        left = rect.left() + self._text_left()
        right = rect.right() - t.px(12)
        y = rect.top() + t.px(8)
        height = QFontMetrics(title_font).height()
        p.setFont(title_font)
        p.setPen(colour)
        title = QFontMetrics(title_font).elidedText(
            headline(finding), Qt.TextElideMode.ElideRight, right - left
        )
        line = Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextDontClip
        p.drawText(QRect(left, y, right - left, height), line, title)
        y += height + t.px(2)
        height = QFontMetrics(detail_font).height()
        p.setFont(detail_font)
        p.setPen(t.colour("dim_text"))
        where = QFontMetrics(detail_font).elidedText(
            details(finding), Qt.TextElideMode.ElideRight, right - left
        )
        p.drawText(QRect(left, y, right - left, height), line, where)
        y += height + t.px(4)
        p.setFont(message_font)
        p.setPen(t.colour("text"))
        p.drawText(
            QRect(left, y, self._message_width(rect.width()), rect.bottom() - y),
            Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            finding.message,
        )
        p.restore()


class ProblemsView(QListView):
    """The run's findings; emits ``findingActivated`` on a click or Enter."""

    findingActivated = Signal(object)  # the Finding

    def __init__(self, model: FindingsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.findings_model = model
        self._version = -1
        self._look: tuple = ()
        self.rows = _Rows(self)
        self.setModel(self.rows)
        self.setItemDelegate(_Entry(self))
        self.setObjectName("problems_view")
        self.setAccessibleName("Problems")
        self.setToolTip(
            "Mistakes Coroscope noticed in this run, each with its fix.\n"
            "Click one (or press Enter) to select its task and show its line."
        )
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListView.ResizeMode.Adjust)  # messages wrap to the width
        self.setUniformItemSizes(False)
        self.setMouseTracking(True)
        self.clicked.connect(self._activated)
        self.activated.connect(self._activated)  # Enter (and the style's double-click)

    def sizeHint(self) -> QSize:
        return QSize(420, 200)

    def shown(self) -> list[Finding]:
        """What the list shows now."""
        return list(self.rows.rows)

    def row_rect(self, row: int) -> QRect:
        """Where entry ``row`` is in the viewport (tests click there)."""
        return self.visualRect(self.rows.index(row))

    def refresh(self) -> None:
        t = theme.current()
        look = (t.name, t.scale)
        if look != self._look:  # presentation mode or the other theme: sizes change
            self._look = look
            self.scheduleDelayedItemsLayout()
            self.viewport().update()
        if self.findings_model.version == self._version:
            return
        self._version = self.findings_model.version
        self.rows.show(self.findings_model.findings)
        self.viewport().update()

    def _activated(self, index: QModelIndex) -> None:
        finding = index.data(FINDING_ROLE)
        if finding is not None:
            self.findingActivated.emit(finding)

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.rows.rowCount():
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        painter.fillRect(self.viewport().rect(), theme.current().colour("base"))
        theme.draw_placeholder(painter, self.viewport().rect(), PLACEHOLDER, 10.5)
