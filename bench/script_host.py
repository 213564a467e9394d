"""What watching a script in its own process costs, as ratios measured in one run.

    python bench/script_host.py

The script is 1,000 tasks x 100 ``await asyncio.sleep(0)`` (100,000 steps). It
times its own ``asyncio.run`` with ``time.perf_counter`` and prints the seconds,
so each figure is the program's own time, not the process start-up:

- *plain*: ``python script.py``, untraced asyncio;
- *traced, to nothing*: the same traced loop the agent uses, in-process, with no
  one listening (the floor for a traced run);
- *child, read and dropped*: the script under the agent, its events streamed to
  a watcher that reads the socket and throws the bytes away;
- *child, window's models*: the same, with the watcher decoding every event into
  the models the window paints from (lanes, console, narration, timeline, await
  graph, problems, Loop panel): what the window does, short of painting.

Target (issue 17): the child watched by the window's models is never slowed by
more than 1.3x against the traced loop writing to nothing. Also printed: how
many events per second the watcher took in, and the time from starting the
child to its first task reaching the window (what "Open Script" waits for).
Durations are the best of several rounds, alternated, so machine noise hits
every side alike.
"""

from __future__ import annotations

import asyncio
import re
import select
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coroscope.host.child import ChildOptions, ScriptChild  # noqa: E402
from coroscope.host.remote import PUMP_BUDGET  # noqa: E402
from coroscope.loop.events import TaskCreated  # noqa: E402
from coroscope.loop.traced_loop import HeadlessLoop  # noqa: E402
from coroscope.models.run_models import RunModels  # noqa: E402

TASKS, STEPS = 1000, 100
SCRIPT = f"""\
import asyncio, time

async def worker():
    for _ in range({STEPS}):
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(*(worker() for _ in range({TASKS})))

started = time.perf_counter()
asyncio.run(main())
print(f"ran {{time.perf_counter() - started:.6f}}")
"""
RAN = re.compile(r"ran (\d+\.\d+)")
LONGEST: list[float] = []  # the longest single pump of each watched run


def _seconds(text: str) -> float:
    found = RAN.search(text)
    if found is None:
        raise SystemExit(f"the script did not say how long it ran:\n{text}")
    return float(found.group(1))


def plain(script: Path) -> float:
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    return _seconds(done.stdout)


def traced_to_nothing() -> float:
    async def worker() -> None:
        for _ in range(STEPS):
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(TASKS)))

    loop = HeadlessLoop()
    started = time.perf_counter()
    loop.run_until_complete(main())
    elapsed = time.perf_counter() - started
    loop.close()
    return elapsed


def in_child(script: Path, models: bool) -> tuple[float, int, float, float]:
    """The script's own time, the events taken in, seconds to its first task, and
    the watcher's seconds from that first task to the last event read."""
    child = ScriptChild(str(script), ChildOptions(tag_output=False, stdout=subprocess.PIPE))
    if models:
        run_models = RunModels(child.log, time.perf_counter)
        for name in ("loop", "stage"):
            getattr(run_models, name)  # the Loop panel's and the stage's, as the window has
    else:
        # Read the socket, keep nothing: the cheapest watcher there is.
        child._dispatch = lambda message: None  # type: ignore[method-assign]
    first: list[float] = []
    child.log.subscribe(lambda e: first or first.append(time.perf_counter()), (TaskCreated,))
    started = time.perf_counter()
    child.start()
    longest = 0.0
    while True:
        began = time.perf_counter()
        # As the window pumps: a budget per call, so it can paint in between.
        alive = child.pump(0.0, budget=PUMP_BUDGET if models else None)
        longest = max(longest, time.perf_counter() - began)
        if not alive:
            break
        if not child.backlog:
            select.select([child.fileno()], [], [], 0.05)
    if models:
        LONGEST.append(longest)
    read_all = time.perf_counter()
    child.end()
    assert child.stdout is not None
    out = child.stdout.read().decode()
    child.stdout.close()
    to_first = (first[0] - started) if first else float("nan")
    span = (read_all - first[0]) if first else float("nan")
    return _seconds(out), child.log.delivered, to_first, span


def main(rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "storm.py"
        script.write_text(textwrap.dedent(SCRIPT))
        best = {"plain": [], "floor": [], "dropped": [], "models": []}
        events, firsts, spans = 0, [], []
        for _ in range(rounds):
            best["plain"].append(plain(script))
            best["floor"].append(traced_to_nothing())
            best["dropped"].append(in_child(script, models=False)[0])
            seconds, events, first, span = in_child(script, models=True)
            best["models"].append(seconds)
            firsts.append(first)
            spans.append(span)
        low = {name: min(values) for name, values in best.items()}
    print(f"{TASKS} tasks x {STEPS} sleep(0), best of {rounds} (the script's own seconds):")
    print(f"  plain asyncio             {low['plain']:.3f} s")
    print(f"  traced, to nothing        {low['floor']:.3f} s")
    print(f"  child, read and dropped   {low['dropped']:.3f} s")
    print(f"  child, window's models    {low['models']:.3f} s")
    ratio = low["models"] / low["floor"]
    verdict = "ok" if ratio <= 1.3 else "MISSED"
    print(
        f"child watched by the models vs traced to nothing: {ratio:.2f}x "
        f"(target 1.30x or less: {verdict}); dropped: {low['dropped'] / low['floor']:.2f}x"
    )
    print(
        f"the window's models took in {events / min(spans):,.0f} events per second "
        f"({events:,} events; the script ran ahead of them by at most "
        f"{max(0.0, min(spans) - low['models']):.2f} s, never waiting)"
    )
    print(
        f"longest single read by the window: {max(LONGEST) * 1000:.0f} ms "
        f"(a frame at 30 fps is 33 ms; budget {PUMP_BUDGET * 1000:.0f} ms)"
    )
    firsts.sort()
    print(f"start to first task in the watcher: median {firsts[len(firsts) // 2] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
