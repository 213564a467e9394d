"""Colours, fonts and sizes shared by every view, for the dark and light themes.

Views never hard-code a colour: they ask the current ``Theme``, so switching
theme or presentation mode is one ``apply_theme`` call followed by a repaint.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QApplication

TASK_COLOURS = (
    "#4E9BEA",
    "#F28E2B",
    "#59C15F",
    "#E15759",
    "#B07AD1",
    "#3FC1B5",
    "#EDC948",
    "#FF8DB7",
    "#C08A5F",
    "#9AA7B8",
)

STATE_COLOURS = {
    "running": "#3DDC84",
    "ready": "#F2C14E",
    "sleep": "#4EA8DE",
    "task": "#A78BFA",
    "future": "#A78BFA",
    "done": "#8A9AA9",
    "cancelled": "#F59E0B",
    "failed": "#EF4444",
}


@dataclass
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    dim_text: str
    grid: str
    accent: str
    scale: float = 1.0  # presentation mode enlarges fonts and strokes
    task_colours: tuple[str, ...] = TASK_COLOURS
    state_colours: dict[str, str] = field(default_factory=lambda: dict(STATE_COLOURS))

    def task_colour(self, index: int) -> QColor:
        return QColor(self.task_colours[index % len(self.task_colours)])

    def state_colour(self, state: str) -> QColor:
        return QColor(self.state_colours.get(state, self.dim_text))

    def colour(self, name: str) -> QColor:
        return QColor(getattr(self, name))

    def swatches(self) -> list[tuple[int, int, int]]:
        """Every colour the theme paints with (RGB), for a GIF take's one palette."""
        names = [self.window, self.base, self.alt_base, self.text, self.dim_text]
        names += [self.grid, self.accent, *self.task_colours, *self.state_colours.values()]
        colours = [QColor(name) for name in dict.fromkeys(names)]
        return [(c.red(), c.green(), c.blue()) for c in colours]

    def px(self, value: float) -> int:
        """A size in pixels, scaled for presentation mode."""
        return max(1, round(value * self.scale))

    def font(self, point_size: float = 10, bold: bool = False, mono: bool = False) -> QFont:
        font = QFont(MONO_FAMILY if mono else UI_FAMILY)
        if mono:
            font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSizeF(point_size * self.scale)
        font.setBold(bold)
        return font


DARK = Theme(
    name="dark",
    window="#1B1F24",
    base="#12161B",
    alt_base="#1E242B",
    text="#E6EDF3",
    dim_text="#8B98A5",
    grid="#2D353E",
    accent="#4E9BEA",
)

LIGHT = Theme(
    name="light",
    window="#F3F4F6",
    base="#FFFFFF",
    alt_base="#EEF1F5",
    text="#111827",
    dim_text="#4B5563",
    grid="#D1D5DB",
    accent="#1D6FD1",
    state_colours={
        **STATE_COLOURS,
        "ready": "#B7791F",
        "running": "#15803D",
        "sleep": "#1D6FD1",
        "task": "#7C3AED",
        "future": "#7C3AED",
        "done": "#64748B",
        "cancelled": "#C2410C",
        "failed": "#DC2626",
    },
    task_colours=(
        "#1D6FD1",
        "#D9480F",
        "#2F9E44",
        "#C92A2A",
        "#8E44AD",
        "#0C8599",
        "#B08900",
        "#D6336C",
        "#8D5B3A",
        "#5C6B7A",
    ),
)

THEMES = {"dark": DARK, "light": LIGHT}

# Named families (fontconfig falls back if absent) keep rendering, and so the
# snapshot tests, the same on every machine with the DejaVu fonts.
UI_FAMILY = "DejaVu Sans"
MONO_FAMILY = "DejaVu Sans Mono"
_current = DARK


def current() -> Theme:
    return _current


def draw_placeholder(painter: QPainter, rect: QRect, text: str, point_size: float = 10) -> None:
    """The dim line, centred, that an empty view shows instead of its content."""
    t = current()
    painter.setPen(t.colour("dim_text"))
    painter.setFont(t.font(point_size))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def apply_theme(name: str = "dark", scale: float = 1.0, app: QApplication | None = None) -> Theme:
    """Make ``name`` the current theme and push its palette into the application."""
    global _current
    base = THEMES.get(name, DARK)
    _current = Theme(**{**base.__dict__, "scale": scale})
    app = app or QApplication.instance()
    if app is not None:
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        palette = QPalette()
        t = _current
        roles = {
            QPalette.ColorRole.Window: t.window,
            QPalette.ColorRole.WindowText: t.text,
            QPalette.ColorRole.Base: t.base,
            QPalette.ColorRole.AlternateBase: t.alt_base,
            QPalette.ColorRole.Text: t.text,
            QPalette.ColorRole.Button: t.alt_base,
            QPalette.ColorRole.ButtonText: t.text,
            QPalette.ColorRole.ToolTipBase: t.alt_base,
            QPalette.ColorRole.ToolTipText: t.text,
            QPalette.ColorRole.Highlight: t.accent,
            QPalette.ColorRole.HighlightedText: "#FFFFFF",
            QPalette.ColorRole.PlaceholderText: t.dim_text,
            QPalette.ColorRole.Link: t.accent,
        }
        for role, colour in roles.items():
            palette.setColor(role, QColor(colour))
        palette.setColor(
            QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(t.dim_text)
        )
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(t.dim_text))
        app.setPalette(palette)
        font = QFont(UI_FAMILY)
        font.setPointSizeF(10 * scale)
        app.setFont(font)
    return _current
