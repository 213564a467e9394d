"""``coroscope trace`` on a task storm, against VizTracer on the same script, in one run.

    python bench/trace_write.py [--tasks 1000] [--steps 100] [--repeat 5]

The script is ``--tasks`` tasks each awaiting ``asyncio.sleep(0)`` ``--steps``
times, made in a temporary folder. Each round runs, in turn:

1. ``python SCRIPT`` alone, for context (no tracer).
2. ``python -m coroscope trace SCRIPT -o FILE``, the whole process timed from
   outside. The process is the real command, started through a few lines that
   time ``TraceCollector.build`` and ``write_trace`` inside it, so the share of the
   run spent building the document and writing the file comes from the same run
   (and ``TraceCollector.build_ahead``, the part of the document made while the
   script still ran, printed apart: it is off the run's critical path).
3. ``python -m viztracer --log_async -o FILE SCRIPT``, if viztracer is importable
   (a bench-only tool: ``pip install viztracer``; not a test dependency).

Times are medians over ``--repeat`` rounds (the rounds interleave the commands,
so drift on the machine hits each alike). Targets (issue 17): writing at most a
quarter of the ``coroscope trace`` run; ``coroscope trace`` at least 5x faster
than VizTracer.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = """\
import asyncio


async def worker():
    for _ in range({steps}):
        await asyncio.sleep(0)


async def main():
    await asyncio.gather(*(worker() for _ in range({tasks})))


asyncio.run(main())
"""

# ``python -m coroscope`` with two functions timed; the timings go to the file
# named by the first argument, the rest is the command line.
TIMED = """\
import json, runpy, sys, time
from coroscope.models.trace_collector import TraceCollector
from coroscope.takes import trace_file
out, sys.argv = sys.argv[1], ["coroscope", *sys.argv[2:]]
spent = {"build": 0.0, "write": 0.0, "ahead": 0.0}
def timed(key, function):
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - started
    return run
TraceCollector.build = timed("build", TraceCollector.build)
if hasattr(TraceCollector, "build_ahead"):
    TraceCollector.build_ahead = timed("ahead", TraceCollector.build_ahead)
trace_file.write_trace = timed("write", trace_file.write_trace)
try:
    runpy.run_module("coroscope", run_name="__main__", alter_sys=True)
finally:
    with open(out, "w") as stream:
        json.dump(spent, stream)
"""


def run(command: list[str], cwd: Path) -> tuple[float, str]:
    """Wall seconds of the whole process, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr}")
    return elapsed, done.stdout + done.stderr


def size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    viztracer = importlib.util.find_spec("viztracer") is not None
    print(
        f"{args.tasks:,} tasks x {args.steps} sleep(0), median of {args.repeat} rounds, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    python = sys.executable
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        script = folder / "storm.py"
        script.write_text(SCRIPT.format(tasks=args.tasks, steps=args.steps))
        ours, theirs, timings = folder / "coroscope.json", folder / "viztracer.json", folder / "t"
        commands = {
            "python": [python, str(script)],
            "coroscope": [python, "-c", TIMED, str(timings), "trace", str(script), "-o", str(ours)],
        }
        if viztracer:
            vizt = [python, "-m", "viztracer", "--log_async", "-o", str(theirs), str(script)]
            commands["viztracer"] = vizt
        times: dict[str, list[float]] = {key: [] for key in commands}
        spent: dict[str, list[float]] = {"build": [], "write": [], "ahead": []}
        overflowed = False
        for _ in range(max(1, args.repeat)):
            for key, command in commands.items():
                elapsed, said = run(command, folder)
                times[key].append(elapsed)
                overflowed |= key == "viztracer" and "buffer is full" in said
                if key == "coroscope":
                    for part, seconds in json.loads(timings.read_text()).items():
                        spent[part].append(seconds)
        median = {key: statistics.median(values) for key, values in times.items()}
        steps = sum(task["resumes"] for task in json.loads(ours.read_text())["tasks"])
        print(f"{'':<22}{'whole process':>14}{'file':>11}")
        print(f"{'python (untraced)':<22}{median['python']:>12.2f} s")
        print(f"{'coroscope trace':<22}{median['coroscope']:>12.2f} s{size(ours):>11}")
        if viztracer:
            print(f"{'viztracer --log_async':<22}{median['viztracer']:>12.2f} s{size(theirs):>11}")
        print(f"coroscope trace, {steps:,} steps in the file:")
        for part, label, target in (
            ("write", "writing the file", "  (target <= 25%)"),
            ("build", "building the document", ""),
        ):
            shares = [s / t for s, t in zip(spent[part], times["coroscope"], strict=True)]
            print(
                f"   {label + ':':<23}{statistics.median(spent[part]):5.2f} s, "
                f"{statistics.median(shares):4.0%} of the run{target}"
            )
        if any(spent["ahead"]):
            # TraceCollector.build_ahead: the document's steps, made while the script ran.
            print(f"   {'...and while it ran:':<23}{statistics.median(spent['ahead']):5.2f} s")
        if viztracer:
            # Each round's own ratio (its runs are back to back), then their median.
            ratios = [v / c for v, c in zip(times["viztracer"], times["coroscope"], strict=True)]
            smaller = theirs.stat().st_size / ours.stat().st_size
            print(
                f"   vs viztracer: {statistics.median(ratios):4.2f}x faster "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x; target >= 5x), "
                f"file {smaller:.1f}x smaller"
            )
            if overflowed:
                print("   (viztracer's buffer was full: its file keeps only the latest entries)")
        else:
            print("   viztracer is not importable (pip install viztracer to compare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
