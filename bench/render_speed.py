"""Headless render speed as a ratio of real time (target: at least 1x for MP4).

    python -m bench.render_speed [--size 1280x720] [--fps 30] [--seconds 4] [--demo countdown]

Renders the same take several ways in one run and prints them side by side:
frame-stepping and grabbing alone (no encoder), then each output format. The
ratio is video seconds per wall second, above 1 meaning faster than real time;
"steady" leaves out starting the app and the first frame, "overall" includes it.
Each row is the best of ``--repeat`` runs, taken in turn, so a burst of load from
other processes on the machine skews one row less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coroscope.control.targets import demo_target  # noqa: E402
from coroscope.takes.options import TakeOptions, parse_fps, parse_size  # noqa: E402
from coroscope.widgets.shell.recorder import render_take  # noqa: E402


def measure(target, options: TakeOptions, encode: bool) -> tuple[float, float, int]:
    stamps: list[float] = []
    result = render_take(
        target, options, on_frame=lambda _i, _f: stamps.append(time.perf_counter()), encode=encode
    )
    steady = (len(stamps) - 1) / options.fps / (stamps[-1] - stamps[0])
    return result.speed_ratio, steady, result.frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", default="30")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--demo", default="countdown")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    size, fps = parse_size(args.size), parse_fps(args.fps)
    target = demo_target(args.demo)
    print(
        f"{args.demo}, {size[0]}x{size[1]} at {fps} fps, {args.seconds:g} s takes, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'render':<22}{'frames':>8}{'overall':>10}{'steady':>10}")
    with tempfile.TemporaryDirectory() as folder:
        rows = [("frames only (no file)", ".mp4", False)]
        rows += [(f"to {ext}", ext, True) for ext in (".mp4", ".webm", ".gif")]
        best: dict[str, tuple[float, float, int]] = {}
        for _ in range(max(1, args.repeat)):
            for label, ext, encode in rows:
                options = TakeOptions(
                    output=Path(folder) / f"take{ext}", size=size, fps=fps, duration=args.seconds
                )
                overall, steady, frames = measure(target, options, encode)
                old = best.get(label)
                best[label] = (
                    (max(overall, old[0]), max(steady, old[1]), frames)
                    if old
                    else (overall, steady, frames)
                )
        for label, (overall, steady, frames) in best.items():
            print(f"{label:<22}{frames:>8}{overall:>9.2f}x{steady:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
