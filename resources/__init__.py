"""Files the app ships: the icon, the README screenshot, sample scripts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """A shipped file, found beside this module in a checkout and in an install alike."""
    return ROOT.joinpath(*parts)
