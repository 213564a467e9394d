"""Runnable asyncio demos and the registry the gallery is built from.

Every demo is a plain module with ``async def main()`` and a ``__main__`` guard,
so ``python -m demos.countdown`` runs it without Coroscope.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class DemoInfo:
    key: str
    title: str
    group: str
    summary: str
    stage: str | None = None  # which stage widget draws it (None: lanes only)

    @property
    def module_name(self) -> str:
        return f"{__name__}.{self.key}"

    @property
    def path(self) -> Path:
        return Path(__file__).with_name(f"{self.key}.py")

    def load(self) -> ModuleType:
        return importlib.import_module(self.module_name)


TUTORIAL = "The tutorial"

DEMOS: tuple[DemoInfo, ...] = (
    DemoInfo(
        "countdown",
        "Countdown",
        TUTORIAL,
        "Three tasks sleep 4, 3 and 2 seconds at once. Click a ring to cancel it.",
        stage="rings",
    ),
    DemoInfo(
        "countdown_generator",
        "Countdown (generator style)",
        TUTORIAL,
        "The tutorial's @coroutine + yield from version, repaired for Python 3.11.",
        stage="rings",
    ),
    DemoInfo(
        "hello",
        "Hello world",
        TUTORIAL,
        "The smallest coroutine: one task, one step, done.",
    ),
    DemoInfo(
        "display_date",
        "Date for five seconds",
        TUTORIAL,
        "Print the time each second until a loop.time() deadline passes.",
        stage="clock",
    ),
    DemoInfo(
        "live_clock",
        "Live clock",
        TUTORIAL,
        "An analog and digital clock moved only by a coroutine. Runs until Stop.",
        stage="clock",
    ),
    DemoInfo(
        "chained",
        "Chained coroutines",
        TUTORIAL,
        "print_sum awaits compute: a result, then an exception, travel back up.",
        stage="chain",
    ),
)


def find(key: str) -> DemoInfo | None:
    for demo in DEMOS:
        if demo.key == key:
            return demo
    return None


def groups() -> dict[str, list[DemoInfo]]:
    grouped: dict[str, list[DemoInfo]] = {}
    for demo in DEMOS:
        grouped.setdefault(demo.group, []).append(demo)
    return grouped
