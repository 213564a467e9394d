"""What a recorded take looks like (size, frame rate, speed, theme), checked once.

The command line and the app both build a ``TakeOptions``; every limit lives
here so an out-of-range value gets the same one-line message from either side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from coroscope.loop.clock import MAX_SPEED, MIN_SPEED
from coroscope.models.view_prefs import PRESENTATION_SCALE

VIDEO_EXTENSIONS = (".mp4", ".webm", ".gif")
MIN_SIZE = (160, 120)
MAX_SIZE = (3840, 2160)
MIN_FPS = 1
MAX_FPS = 60
MAX_DURATION = 3600.0
# A take without --duration lasts until the run ends, then holds the final
# picture for this much loop time, and never runs past AUTO_LIMIT seconds of
# video (a live clock never ends).
TAIL_SECONDS = 1.0
AUTO_LIMIT = 60.0
THEMES = ("dark", "light")
PANELS = ("window", "stage", "lanes", "code", "console")


class OptionError(ValueError):
    """A value out of range; the message names the option and the allowed range."""


@dataclass(frozen=True)
class TakeOptions:
    output: Path
    size: tuple[int, int] = (1280, 720)
    fps: int = 30
    speed: float = 1.0
    theme: str = "dark"
    presentation: bool = False
    duration: float | None = None  # video seconds; None: until the run ends
    panel: str = "window"

    @property
    def frame_count(self) -> int | None:
        if self.duration is None:
            return None
        return max(1, round(self.duration * self.fps))

    @property
    def loop_step(self) -> float:
        """Loop seconds between two frames."""
        return self.speed / self.fps

    @property
    def scale(self) -> float:
        return PRESENTATION_SCALE if self.presentation else 1.0


def parse_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX\u00d7]\s*(\d{1,5})\s*", text)
    lo, hi = MIN_SIZE, MAX_SIZE
    rule = f"--size must be WIDTHxHEIGHT with even numbers from {lo[0]}x{lo[1]} to {hi[0]}x{hi[1]}"
    if match is None:
        raise OptionError(f"{rule}, not {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (lo[0] <= width <= hi[0] and lo[1] <= height <= hi[1]):
        raise OptionError(f"{rule}, not {width}x{height}")
    if width % 2 or height % 2:
        # H.264 and VP9 in 4:2:0 need even sides; one rule for every format.
        raise OptionError(f"{rule}, not {width}x{height} (odd)")
    return width, height


def parse_fps(text: str) -> int:
    try:
        fps = int(text)
    except ValueError:
        fps = None
    if fps is None or not MIN_FPS <= fps <= MAX_FPS:
        raise OptionError(f"--fps must be a whole number from {MIN_FPS} to {MAX_FPS}, not {text!r}")
    return fps


def parse_speed(text: str) -> float:
    speed = _number(text)
    if speed is None or not MIN_SPEED <= speed <= MAX_SPEED:
        raise OptionError(f"--speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}, not {text!r}")
    return speed


def parse_duration(text: str, option: str = "--duration") -> float:
    seconds = _number(text)
    if seconds is None or not 0 < seconds <= MAX_DURATION:
        raise OptionError(
            f"{option} must be a number of seconds above 0 and at most {MAX_DURATION:g}, "
            f"not {text!r}"
        )
    return seconds


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None
