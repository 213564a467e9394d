"""What running users' scripts costs, measured side by side in one run.

    python bench/script_faults.py

1. The blocking watchdog on the traced step path: 100,000 task steps with no
   watchdog, with the shipped one (polls every 50 ms) and with a 10x eager one.
2. Loading a script: Coroscope's checks, rewrite and compile of ~1 MB of real
   code against a bare ``compile()`` of the same text.
3. The code view's frame refresh with 10,000 tasks parked on one line, drawing
   one tag per task (as before) against the collapsed "first +N more" tag.
4. The task lanes' paint with 10 rows and with 10,000 rows (virtualized).
5. A 100,000-line print flood: into the console model, and one console repaint.

Ratios near 1.00 for (1) and (4) are the point. Times are best of a few rounds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.scripts.watchdog import Watchdog

ROUNDS = 5


def best(function, rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


# -- 1. watchdog overhead ----------------------------------------------------------------


def steps(poll: float | None) -> float:
    loop = HeadlessLoop()
    dog = None
    if poll is not None:
        dog = Watchdog(loop.tracer, poll=poll)
        dog.start()

    async def worker():
        for _ in range(100):
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*(worker() for _ in range(1000)))

    started = time.perf_counter()
    loop.run_until_complete(main())
    elapsed = time.perf_counter() - started
    if dog is not None:
        dog.stop()
    loop.close()
    return elapsed


def bench_watchdog() -> None:
    steps(None)  # warm up imports and caches before timing anything
    polls = {"none": None, "50 ms": 0.05, "5 ms": 0.005}
    results: dict[str, list[float]] = {name: [] for name in polls}
    names = list(polls)
    for round_ in range(ROUNDS):  # interleaved and rotated, so drift hits every variant alike
        for name in names[round_ % 3 :] + names[: round_ % 3]:
            results[name].append(steps(polls[name]))
    base = min(results["none"])
    print("1. watchdog on 100,000 traced task steps")
    for name, times in results.items():
        print(f"   poll {name:>5}: {min(times):6.3f} s   ratio {min(times) / base:5.2f}")


# -- 2. loading -----------------------------------------------------------------------------


def bench_loading() -> None:
    from coroscope.scripts.loader import check_script

    # Real code: the standard library's modules, joined up to about 1 MB.
    parts, size = [], 0
    for module in sorted(Path(asyncio.__file__).parent.parent.glob("*.py")):
        text = module.read_text(encoding="utf-8", errors="replace")
        try:
            compile(text, str(module), "exec")
        except (SyntaxError, ValueError):
            continue
        parts.append(text)
        size += len(text)
        if size > 950_000:
            break
    body = "\n".join(parts)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.py"
        path.write_text(body)
        bare = best(lambda: compile(body, str(path), "exec"))
        ours = best(lambda: check_script(path))
    print(f"2. loading {len(body) / 1e6:.2f} MB of real code (stdlib modules)")
    print(f"   compile() only: {bare:6.3f} s")
    print(f"   check_script:   {ours:6.3f} s   ratio {ours / bare:5.2f}")


# -- 3-5. views -------------------------------------------------------------------------------


def parked_model(count: int, path: str):
    from coroscope.loop.events import TaskCreated, TaskStep
    from coroscope.models.task_model import TaskModel

    model = TaskModel(runs_only=True)
    frames = ((path, 8, "worker"),)
    for task in range(1, count + 1):
        model.apply(TaskCreated(0.0, task, f"worker{task}", None, "worker", frames, 1))
        model.apply(TaskStep(0.0, task, 0.0, 0.0, "sleep", "sleep(5)", 5.0, frames))
    return model


def bench_views() -> None:
    from coroscope.loop.clock import VirtualClock
    from coroscope.loop.events import Output
    from coroscope.models.console_model import ConsoleModel
    from coroscope.widgets.paint import theme
    from coroscope.widgets.views import code_view
    from coroscope.widgets.views.code_view import CodeView
    from coroscope.widgets.views.console_view import ConsoleView
    from coroscope.widgets.views.task_lanes import TaskLanesView
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    theme.apply_theme("dark", app=app)
    source = Path(__file__).resolve().parent.parent / "resources" / "samples" / "many_tasks.py"
    path = str(source)
    model = parked_model(10_000, path)

    view = CodeView(model)
    view.resize(470, 600)
    view.show_source(path)
    view.show()

    def refresh_code() -> None:
        view._version = -1
        view.refresh()
        view.repaint()

    capped = best(refresh_code)
    saved = code_view.MAX_TAGS_PER_LINE
    code_view.MAX_TAGS_PER_LINE = 10**9  # one tag per task, as before
    uncapped = best(refresh_code)
    code_view.MAX_TAGS_PER_LINE = saved
    print("3. code view refresh + paint, 10,000 tasks on one line")
    print(f"   a tag per task:     {uncapped * 1000:7.1f} ms")
    print(f"   'first +N more':    {capped * 1000:7.1f} ms   ratio {capped / uncapped:5.3f}")

    clock = VirtualClock()
    timings, painted = {}, {}
    for count in (10, 10_000):
        lanes = TaskLanesView(parked_model(count, path), clock)
        lanes.resize(620, 400)
        lanes.show()
        app.processEvents()
        rows: list[int] = []
        paint_row = lanes._paint_row
        lanes._paint_row = lambda p, row, *rest, rows=rows, paint_row=paint_row: (
            rows.append(row.id),
            paint_row(p, row, *rest),
        )

        def paint(lanes=lanes) -> None:
            lanes._pictures.clear()  # every row drawn, as when all of them change
            lanes._version = -1
            lanes.refresh()
            lanes.viewport().repaint()

        timings[count] = best(paint, rounds=5)
        painted[count] = len(rows) // 5
    print("4. task lanes refresh + paint (rows painted per frame)")
    print(f"   10 rows:        {timings[10] * 1000:6.2f} ms ({painted[10]} painted)")
    print(
        f"   10,000 rows:    {timings[10_000] * 1000:6.2f} ms ({painted[10_000]} painted)   "
        f"ratio {timings[10_000] / timings[10]:5.2f}"
    )

    console = ConsoleModel()
    started = time.perf_counter()
    for number in range(100_000):
        console.apply(Output(0.0, None, f"line {number}", "stdout"))
    folded = time.perf_counter() - started
    shown = ConsoleView(console, model)
    shown.resize(1300, 200)
    shown.show()
    started = time.perf_counter()
    shown.refresh()
    app.processEvents()
    painted = time.perf_counter() - started
    print("5. print flood of 100,000 lines")
    print(
        f"   into the console model: {folded:6.3f} s ({folded / 100_000 * 1e6:.1f} us a line), "
        f"kept {len(console.lines()):,}, dropped {console.dropped:,}"
    )
    print(
        f"   one console refresh of the kept lines: {painted * 1000:6.1f} ms, "
        f"{shown.document().blockCount():,} blocks"
    )


if __name__ == "__main__":
    bench_watchdog()
    bench_loading()
    bench_views()
