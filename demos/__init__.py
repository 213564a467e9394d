"""Runnable asyncio demos and the registry the gallery is built from.

Every demo is a plain module with ``async def main()`` and a ``__main__`` guard,
so ``python -m coroscope.demos.countdown`` runs it without Coroscope.
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


BASE_LOOP = "The base event loop"
TASKS = "Tasks and coroutines"

DEMOS += (
    DemoInfo(
        "callouts",
        "Delayed callouts",
        BASE_LOOP,
        "call_soon, call_later, call_at, and a handle cancelled before it fires.",
    ),
    DemoInfo(
        "echo_protocol",
        "TCP echo: protocols",
        BASE_LOOP,
        "Echo server and clients on 127.0.0.1 as Protocol classes the loop calls.",
    ),
    DemoInfo(
        "echo_streams",
        "TCP echo: streams",
        BASE_LOOP,
        "The same echo with start_server, open_connection and await readline().",
    ),
    DemoInfo(
        "subprocess_pipes",
        "Child process and pipes",
        BASE_LOOP,
        "A child Python's lines read through pipe transports, then its exit code.",
    ),
    DemoInfo(
        "thread_pool",
        "Blocking call vs thread pool",
        BASE_LOOP,
        "A blocking call freezes the loop; run_in_executor keeps it ticking.",
    ),
    DemoInfo(
        "results_exceptions",
        "Results and exceptions",
        TASKS,
        "Return values and exceptions climbing an await chain, level by level.",
        stage="chain",
    ),
    DemoInfo(
        "cancellation",
        "Cancellation",
        TASKS,
        "Cancel a child, cancel its parent, shield a child; cleanup in finally.",
    ),
    DemoInfo(
        "gather_wait_taskgroup",
        "gather, wait, TaskGroup",
        TASKS,
        "Three ways to run tasks together, and what each does when one fails.",
    ),
    DemoInfo(
        "producer_consumer",
        "Producer and consumers",
        TASKS,
        "A bounded asyncio.Queue: put waits when full, get waits when empty.",
    ),
    DemoInfo(
        "timeouts",
        "Timeouts",
        TASKS,
        "asyncio.timeout, moving a deadline (drag its timer), and wait_for.",
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
