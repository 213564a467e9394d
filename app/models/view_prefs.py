"""The view choices remembered between sessions: light theme, presentation mode,
the click-and-key overlay.

Read before the main window is built, so its first paint already wears them
(the Classroom feature that offers these choices arrives only after that paint).
No Qt import: ``settings`` is anything with QSettings' ``value``.
"""

from __future__ import annotations

from dataclasses import dataclass

SETTINGS_GROUP = "view"
PRESENTATION_SCALE = 1.6  # fonts and strokes in presentation mode (also for takes)
KEYS = ("light", "presentation", "input_overlay")


@dataclass(frozen=True)
class ViewPrefs:
    light: bool = False
    presentation: bool = False
    input_overlay: bool = False

    @property
    def theme_name(self) -> str:
        return "light" if self.light else "dark"

    @property
    def scale(self) -> float:
        return PRESENTATION_SCALE if self.presentation else 1.0


def read(settings) -> ViewPrefs:
    """The saved choices; anything missing or unreadable counts as off."""
    if settings is None:
        return ViewPrefs()
    # QSettings' INI files give booleans back as the strings "true" / "false".
    flags = {
        key: settings.value(f"{SETTINGS_GROUP}/{key}", False) in (True, "true", "1", 1)
        for key in KEYS
    }
    return ViewPrefs(**flags)
