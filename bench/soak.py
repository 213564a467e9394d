"""Memory soak: the live clock plus a churn of short tasks, with the window open.

    python bench/soak.py               # 10 minutes (the target's duration)
    python bench/soak.py --minutes 1   # a quick look

Prints resident memory after a one-minute-equivalent warm-up (or a tenth of the
run, whichever is shorter) and at the end, and the growth between them; the
target is under 50 MB for ten minutes. Events live in a bounded ring and models
drop old finished tasks, so growth should flatten once the ring is full.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 50


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def churn(stop_at: float, spawned: list[int]) -> None:
    async def short(i: int) -> int:
        await asyncio.sleep(0.01 * (i % 5))
        print(f"short task {i} done")
        return i

    i = 0
    while time.monotonic() < stop_at:
        batch = [asyncio.create_task(short(i + k), name=f"short{i + k}") for k in range(20)]
        await asyncio.gather(*batch)
        i += len(batch)
        spawned[0] = i
        await asyncio.sleep(0.02)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        print("soak: --minutes must be positive", file=sys.stderr)
        return 2

    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.demos import live_clock
    from coroscope.widgets.shell.gui import make_application
    from coroscope.widgets.shell.main_window import MainWindow
    from coroscope.widgets.shell.qt_loop import TracingLoop

    app = make_application()
    loop = TracingLoop(app)
    asyncio.set_event_loop(loop)
    controller = Controller(loop)
    window = MainWindow(controller, settings=None)
    window.resize(1280, 800)
    window.show()

    seconds = args.minutes * 60
    warmup = min(60.0, seconds / 10)
    stop_at = time.monotonic() + seconds
    spawned = [0]

    async def soak() -> None:
        clock = asyncio.create_task(live_clock.tick(), name="clock")
        work = asyncio.create_task(churn(stop_at, spawned), name="churn")
        await asyncio.sleep(warmup)
        start = rss_mb()
        print(f"after {warmup:.0f} s warm-up: RSS {start:.1f} MB", file=sys.__stdout__)
        await work
        clock.cancel()
        end = rss_mb()
        growth = end - start
        verdict = "ok" if growth < TARGET_MB * args.minutes / 10 else "MISSED"
        print(
            f"after {args.minutes:g} min: RSS {end:.1f} MB, growth {growth:+.1f} MB "
            f"(target < {TARGET_MB} MB per 10 min) {verdict}; {spawned[0]} short tasks, "
            f"{len(controller.events)} events in the ring ({controller.events.dropped} dropped)",
            file=sys.__stdout__,
        )

    run = controller.start(Target("soak", "Soak", __file__, soak))
    loop.run_until_complete(run.main)
    window.close()
    loop.run_until_complete(controller.stop())
    controller.close()
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
