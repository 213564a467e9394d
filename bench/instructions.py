"""Tracing overhead by instruction count, which this VM's noise does not move.

    python bench/instructions.py [--tasks 200] [--steps 40]

Each side runs the bare-yield storm (tasks x ``await asyncio.sleep(0)``) in a child
process under valgrind (cachegrind, no cache simulation, fixed hash seed), once
with ``steps`` and once with twice as many; the difference, divided by the extra
steps, is one step's cost with start-up and shut-down taken out. The target is a
traced step at most 1.25x an untraced one on the same loop class. The wall-clock
median of paired rounds is printed beside it, for context only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

TARGET = 1.25

CHILD = """
import asyncio, os, sys, time
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication
from coroscope.widgets.shell.qt_loop import TracingLoop

app = QApplication([])
traced, tasks, steps, rounds = sys.argv[1] == "traced", *map(int, sys.argv[2:5])

async def worker():
    for _ in range(steps):
        await asyncio.sleep(0)

async def storm():
    await asyncio.gather(*(worker() for _ in range(tasks)))

for _ in range(rounds):
    loop = TracingLoop(app, trace=traced)
    started = time.perf_counter()
    loop.run_until_complete(storm())
    print(time.perf_counter() - started)
    loop.close()
"""


def _child(side: str, tasks: int, steps: int, rounds: int = 1, valgrind: bool = False) -> str:
    command = [sys.executable, "-c", CHILD, side, str(tasks), str(steps), str(rounds)]
    if valgrind:
        command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", *command]
    env = {**os.environ, "PYTHONHASHSEED": "0", "QT_QPA_PLATFORM": "offscreen"}
    with tempfile.TemporaryDirectory() as folder:
        if valgrind:
            command.insert(3, f"--cachegrind-out-file={folder}/out")
        out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"instructions: the {side} child failed:\n{out.stderr[-2000:]}")
    return out.stdout if not valgrind else out.stderr


def _instructions(side: str, tasks: int, steps: int) -> float:
    """Instructions of one step on ``side``."""
    counts = []
    for n in (steps, 2 * steps):
        report = _child(side, tasks, n, valgrind=True)
        match = re.search(r"I\s+refs:\s+([\d,]+)", report)
        if match is None:
            raise SystemExit(f"instructions: no instruction count in valgrind's report:\n{report}")
        counts.append(int(match.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (tasks * steps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7, help="wall-clock rounds a side")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    per_step = {
        side: _instructions(side, args.tasks, args.steps) for side in ("untraced", "traced")
    }
    ratio = per_step["traced"] / per_step["untraced"]
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print(
        f"bare-yield step, traced/untraced (instructions) {ratio:5.2f}x   target <= {TARGET}x "
        f"{verdict}   traced {per_step['traced'] / 1e3:.1f}k, "
        f"untraced {per_step['untraced'] / 1e3:.1f}k"
    )
    paired = []
    for _ in range(args.rounds):
        walls = {
            side: min(map(float, _child(side, 1000, 100).split()))
            for side in ("traced", "untraced")
        }
        paired.append(walls["traced"] / walls["untraced"])
    median = statistics.median(paired)
    print(f"  context: wall-clock median of {args.rounds} paired rounds  {median:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
