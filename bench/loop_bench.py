"""Coroscope's performance targets, each printed as a ratio measured side by side.

    python bench/loop_bench.py            # all figures (about a minute)
    python bench/loop_bench.py overhead   # just one: overhead | timers | render | startup

Each figure runs the things it compares in the same process (or, for start-up,
in fresh child processes), alternating them so machine noise hits both sides.
Durations are the best of several rounds (noise on a shared machine only ever
adds time); lateness is the median round. Targets come from the issue tracker;
"ok" means the target is met on this run.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

APP = QApplication.instance() or QApplication([])

import qasync  # noqa: E402
from coroscope.widgets.shell.qt_loop import TracingLoop  # noqa: E402


def report(name: str, ratio: float, target: str, ok: bool, detail: str) -> None:
    print(f"{name:<34} {ratio:6.2f}x   target {target:<8} {'ok' if ok else 'MISSED'}   {detail}")


# -- tracing overhead -------------------------------------------------------------
async def _sleep_zero_storm(tasks: int = 1000, steps: int = 100) -> None:
    async def worker() -> None:
        for _ in range(steps):
            await asyncio.sleep(0)

    await asyncio.gather(*(worker() for _ in range(tasks)))


def _time_loop(make_loop) -> float:
    loop = make_loop()
    # Free the previous round's loop (and its event ring) now, not on this clock.
    gc.collect()
    started = time.perf_counter()
    loop.run_until_complete(_sleep_zero_storm())
    elapsed = time.perf_counter() - started
    loop.close()
    return elapsed


def bench_overhead(rounds: int = 7) -> None:
    makers = {
        "traced": lambda: TracingLoop(APP),
        "untraced": lambda: TracingLoop(APP, trace=False),
        "qasync": lambda: qasync.QEventLoop(APP),
        "asyncio": asyncio.new_event_loop,
    }
    times: dict[str, list[float]] = {name: [] for name in makers}
    for _ in range(rounds):
        for name, make in makers.items():
            times[name].append(_time_loop(make))
    best = {name: min(values) for name, values in times.items()}
    detail = ", ".join(f"{name} {value:.3f}s" for name, value in best.items())
    ratio = best["traced"] / best["untraced"]
    report("tracing overhead (traced/untraced)", ratio, "<= 1.5x", ratio <= 1.5, detail)
    # Each round's own ratio (its two sides run back to back) shows how much the
    # machine moved while measuring.
    paired = sorted(t / u for t, u in zip(times["traced"], times["untraced"], strict=True))
    low, middle, high = paired[0], statistics.median(paired), paired[-1]
    print(f"{'  context: rounds min/median/max':<34} {low:6.2f}x  {middle:.2f}x  {high:.2f}x")
    print(f"{'  context: traced / bare qasync':<34} {best['traced'] / best['qasync']:6.2f}x")
    print(f"{'  context: traced / plain asyncio':<34} {best['traced'] / best['asyncio']:6.2f}x")


# -- timer accuracy under load ----------------------------------------------------------
async def _lateness(tasks: int = 200, sleeps: int = 40, period: float = 0.010) -> list[float]:
    late: list[float] = []

    async def sleeper() -> None:
        for _ in range(sleeps):
            started = time.perf_counter()
            await asyncio.sleep(period)
            late.append(time.perf_counter() - started - period)

    await asyncio.gather(*(sleeper() for _ in range(tasks)))
    return late


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def bench_timers(rounds: int = 5) -> None:
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.widgets.shell.main_window import MainWindow

    traced_p99, bare_p99 = [], []
    for _ in range(rounds):
        bare = qasync.QEventLoop(APP)
        bare_p99.append(_p99(bare.run_until_complete(_lateness())))
        bare.close()

        loop = TracingLoop(APP)
        asyncio.set_event_loop(loop)
        controller = Controller(loop, capture_output=False)
        window = MainWindow(controller, settings=None)
        window.resize(1280, 800)
        window.show()
        # Let the first paints (font caches, layout) happen before measuring:
        # the target is steady-state lateness while the window animates. Like
        # the app (coroscope.widgets.shell.gui), take what start-up built out of the
        # collector's sight.
        loop.run_until_complete(asyncio.sleep(0.5))
        gc.collect()
        gc.freeze()
        result: list[float] = []

        async def measured(out=result) -> None:
            out.extend(await _lateness())

        run = controller.start(Target("timers", "timer accuracy", __file__, measured))
        loop.run_until_complete(run.main)  # the window's 30 fps frame timer keeps painting
        traced_p99.append(_p99(result))
        gc.unfreeze()
        window.close()
        controller.close()
        loop.close()
        asyncio.set_event_loop(None)
    traced, bare_value = statistics.median(traced_p99), statistics.median(bare_p99)
    rounds_ms = ", ".join(f"{v * 1000:.1f}" for v in traced_p99)
    print(f"{'  traced p99 per round (ms)':<34} {rounds_ms}")
    # Lateness near zero makes a ratio meaningless; compare against at least 1 ms.
    ratio = traced / max(bare_value, 0.001)
    detail = (
        f"p99 late: traced+window {traced * 1000:.2f} ms, bare qasync {bare_value * 1000:.2f} ms"
    )
    report("timer p99 lateness (vs qasync)", ratio, "<= 1.5x", ratio <= 1.5, detail)


# -- rendering -------------------------------------------------------------------------------
def bench_render(tasks: int = 1000, frames: int = 90) -> None:
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.widgets.shell.main_window import MainWindow

    loop = TracingLoop(APP)
    asyncio.set_event_loop(loop)
    controller = Controller(loop, capture_output=False)
    window = MainWindow(controller, settings=None)
    window.frame_timer.stop()  # frames are driven and timed by hand below
    window.resize(1280, 800)
    window.show()

    async def swarm() -> None:
        async def worker(i: int) -> None:
            while True:
                await asyncio.sleep(0.2 + (i % 17) * 0.05)

        await asyncio.gather(*(asyncio.create_task(worker(i), name=f"w{i}") for i in range(tasks)))

    controller.start(Target("swarm", "1,000 tasks", __file__, swarm))
    frame_times: list[float] = []

    async def drive() -> None:
        await asyncio.sleep(0.3)
        for _ in range(frames):
            started = time.perf_counter()
            window.tick()
            window.repaint()  # paint synchronously so the cost is measured here
            frame_times.append(time.perf_counter() - started)
            await asyncio.sleep(1 / 30)

    loop.run_until_complete(drive())
    loop.run_until_complete(controller.stop())
    window.close()
    controller.close()
    loop.close()
    asyncio.set_event_loop(None)
    p95 = statistics.quantiles(frame_times, n=20)[18]
    ratio = p95 / 0.033
    detail = f"frame p95 {p95 * 1000:.1f} ms, median {statistics.median(frame_times) * 1000:.1f} ms"
    report(f"render {tasks} tasks (p95 / 33 ms)", ratio, "<= 1.0x", ratio <= 1.0, detail)


# -- start-up ---------------------------------------------------------------------------------
_BARE = """
import time, sys
started = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow(); window.resize(1280, 800); window.show()
app.processEvents()
print(time.perf_counter() - started)
"""

_COROSCOPE = """
import sys, tempfile, time
started = time.perf_counter()
from PySide6.QtCore import QSettings
from coroscope.widgets.shell.gui import run_app
marks = {}

def mark(name):
    marks.setdefault(name, time.perf_counter() - started)

def observe(window):
    # The app's own start-up: its window shows and paints, then the loop and the
    # views load, then the panels (see coroscope.widgets.shell.gui); closing once all is in.
    window.call_after_first_paint(lambda: mark("shown"))
    window.built.connect(lambda: (mark("built"), window.close()))

with tempfile.TemporaryDirectory() as folder:
    settings = QSettings(folder + "/settings.ini", QSettings.Format.IniFormat)
    run_app(settings=settings, observe=observe)
print(marks["shown"], marks["built"])
"""


def _child_seconds(program: str) -> list[float]:
    # Users' Pythons cache bytecode; measure that, not compiling every module.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    out = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(value) for value in out.stdout.strip().splitlines()[-1].split()]


def bench_startup(rounds: int = 7) -> None:
    _child_seconds(_BARE)  # warm-up: fill the bytecode caches and the OS file cache
    _child_seconds(_COROSCOPE)
    bare, ours, built = [], [], []
    for _ in range(rounds):
        bare.append(_child_seconds(_BARE)[0])
        shown, complete = _child_seconds(_COROSCOPE)
        ours.append(shown)
        built.append(complete)
    ours_ms, bare_ms = min(ours) * 1000, min(bare) * 1000
    ratio = ours_ms / bare_ms
    detail = f"coroscope {ours_ms:.0f} ms, bare window {bare_ms:.0f} ms"
    report("start-up (first window)", ratio, "<= 2.0x", ratio <= 2.0, detail)
    built_ms = min(built) * 1000
    print(f"{'  context: every panel in':<34} {built_ms / bare_ms:6.2f}x   ({built_ms:.0f} ms)")


BENCHES = {
    "overhead": bench_overhead,
    "timers": bench_timers,
    "render": bench_render,
    "startup": bench_startup,
}


def main(argv: list[str]) -> int:
    chosen = argv or list(BENCHES)
    unknown = [name for name in chosen if name not in BENCHES]
    if unknown:
        print(
            f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHES)}", file=sys.stderr
        )
        return 2
    print(f"Coroscope benchmarks on Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name in chosen:
        BENCHES[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
