"""A banner that says what went wrong with the user's script, and where.

It renders a ``ProblemModel``: a headline, the error line, the offending source
line with its number and a caret under the part that is wrong, and a hint for
mistakes learners often make. It emits intents (show the line in the code view,
reload the script, dismiss) and repaints only when the model's version changes.
"""

from __future__ import annotations

from coroscope.scripts.problems import ProblemModel, ScriptProblem
from coroscope.widgets.paint import theme
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

_KIND_COLOURS = {"error": "failed", "warning": "cancelled", "info": "sleep"}
_KIND_ICONS = {
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
}


class ProblemBanner(QFrame):
    showLineRequested = Signal(str, int)
    reloadRequested = Signal()
    dismissRequested = Signal()

    def __init__(self, model: ProblemModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._version = -1
        self.setObjectName("problem_banner")
        self.setAccessibleName("Script problem")
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.excerpt = QLabel()
        self.excerpt.setTextFormat(Qt.TextFormat.PlainText)
        self.excerpt.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.excerpt.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.excerpt.setToolTip("The line Coroscope points at, with ^ under the part that is wrong")
        self.hint = QLabel()
        self.hint.setWordWrap(True)

        self.show_line = QToolButton()
        self.show_line.setText("Show line")
        self.show_line.setToolTip("Show this line in the code view")
        self.show_line.clicked.connect(self._show_line)
        self.reload = QToolButton()
        self.reload.setText("Reload")
        self.reload.setToolTip("Read the script again from disk and run it (Ctrl+Shift+R)")
        self.reload.clicked.connect(self.reloadRequested)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.clicked.connect(self.dismissRequested)

        text = QVBoxLayout()
        text.setSpacing(3)
        for label in (self.headline, self.title, self.excerpt, self.hint):
            text.addWidget(label)
        buttons = QVBoxLayout()
        buttons.setSpacing(4)
        top = QHBoxLayout()
        top.addStretch(1)
        top.addWidget(self.close_button)
        buttons.addLayout(top)
        buttons.addWidget(self.show_line)
        buttons.addWidget(self.reload)
        buttons.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(10)
        row.addWidget(self.icon)
        row.addLayout(text, 1)
        row.addLayout(buttons)
        self.apply_theme()

    def apply_theme(self) -> None:
        t = theme.current()
        self.headline.setFont(t.font(10.5, bold=True))
        self.title.setFont(t.font(10))
        self.excerpt.setFont(t.font(10, mono=True))
        hint_font = t.font(9.5)
        hint_font.setItalic(True)
        self.hint.setFont(hint_font)
        self._version = -1

    # -- frame tick ------------------------------------------------------------
    def refresh(self) -> None:
        if self.model.version == self._version:
            return
        self._version = self.model.version
        self._show(self.model.current)

    def _show(self, problem: ScriptProblem | None) -> None:
        t = theme.current()
        kind = problem.kind if problem else "info"
        accent = t.state_colour(_KIND_COLOURS.get(kind, "failed"))
        background = t.colour("alt_base")
        self.setStyleSheet(
            f"#problem_banner {{ background: {background.name()};"
            f" border-left: {t.px(5)}px solid {accent.name()}; }}"
            f" #problem_banner QLabel {{ color: {t.text}; }}"
        )
        size = t.px(32)
        self.icon.setPixmap(self.style().standardIcon(_KIND_ICONS[kind]).pixmap(size, size))
        if problem is None:
            self.headline.setText("No problems with the script.")
            for label in (self.title, self.excerpt, self.hint):
                label.hide()
            self.show_line.setEnabled(False)
            self._fit_height()
            return
        self.headline.setText(problem.headline or f"Problem in {problem.name}")
        where = f"{problem.name}, line {problem.line}" if problem.line else problem.name
        self.title.setText(f"{where}: {problem.title}")
        self.title.setToolTip(problem.path)
        self.title.show()
        excerpt = problem.excerpt()
        self.excerpt.setText(excerpt)
        self.excerpt.setVisible(bool(excerpt))
        self.hint.setText(f"Hint: {problem.hint}" if problem.hint else "")
        self.hint.setVisible(bool(problem.hint))
        self.hint.setStyleSheet(f"color: {t.dim_text};")
        self.show_line.setEnabled(bool(problem.line))
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow to fit wrapped text: a dock does not ask for height-for-width itself."""
        layout = self.layout()
        if layout is not None and self.width() > 0:
            # -1 means "no height-for-width": keep the current minimum then.
            height = layout.totalHeightForWidth(self.width())
            if height >= 0:
                self.setMinimumHeight(height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _show_line(self) -> None:
        problem = self.model.current
        if problem is not None and problem.line:
            self.showLineRequested.emit(problem.path, problem.line)
