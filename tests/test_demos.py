"""Every demo runs headless to completion with its output in the expected order."""

import asyncio
import dataclasses
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from coroscope import demos
from coroscope.control.targets import demo_target

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "hello": ["hello world!"],
    "countdown": [
        "task1 sleeping for: 4 seconds",
        "task2 sleeping for: 3 seconds",
        "task3 sleeping for: 2 seconds",
        "task3 is finished",
        "task2 is finished",
        "task1 is finished",
        "main: task1 slept 4 s",
        "main: task2 slept 3 s",
        "main: task3 slept 2 s",
    ],
    "countdown_generator": [
        "task1 sleeping for: 4 seconds",
        "task2 sleeping for: 3 seconds",
        "task3 sleeping for: 2 seconds",
        "task3 is finished",
        "task2 is finished",
        "task1 is finished",
    ],
    "chained": [
        "Compute 1 + 2 ...",
        "1 + 2 = 3",
        "Compute 1 + two ...",
        "main caught TypeError: unsupported operand type(s) for +: 'int' and 'str'",
    ],
}


def run_demo(controller, key, **main_kwargs):
    target = demo_target(key)
    if main_kwargs:
        target = dataclasses.replace(
            target, make_main=functools.partial(target.make_main, **main_kwargs)
        )
    run = controller.start(target)
    controller.loop.run_until_complete(run.main)
    return [line.text for line in controller.console.lines() if line.kind == "stdout"]


@pytest.fixture
def capturing(headless):
    from coroscope.control.controller import Controller

    controller = Controller(headless, capture_output=True)
    yield controller
    controller.close()


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_demo_output_order(capturing, key):
    assert run_demo(capturing, key) == EXPECTED[key]


def test_countdown_tasks_finish_at_their_times(capturing):
    run_demo(capturing, "countdown")
    rows = {r.name: r for r in capturing.tasks.rows()}
    for name, seconds in (("task1", 4), ("task2", 3), ("task3", 2)):
        assert rows[name].state == "done"
        assert capturing.clock.run_time(rows[name].finished) == pytest.approx(seconds, abs=0.02)
        assert rows[name].resumes == 2


def test_display_date_prints_five_times_within_the_deadline(capturing):
    lines = run_demo(capturing, "display_date")
    assert len(lines) == 5
    assert capturing.clock.run_time() == pytest.approx(4.0, abs=0.05)


def test_live_clock_ticks_and_cleans_up(capturing):
    lines = run_demo(capturing, "live_clock", ticks=3)
    assert len(lines) == 4
    assert lines[-1] == "clock stopped after 3 ticks"


def test_live_clock_shows_loop_time_at_any_speed(capturing):
    """Autojump makes its sleeps instant: a clock reading the wall would print one
    second over and over; one moved by the loop's clock prints five in a row."""
    import datetime
    import itertools

    capturing.set_speed(4.0)
    lines = run_demo(capturing, "live_clock", ticks=6)[:-1]
    times = [datetime.datetime.strptime(line, "%H:%M:%S") for line in lines]
    steps = [(b - a).total_seconds() % 86400 for a, b in itertools.pairwise(times)]
    assert steps == [1.0] * 5
    assert capturing.clock.run_time() == pytest.approx(5.0, abs=1.0)


def test_every_registered_demo_has_a_module_docstring_and_guard():
    for demo in demos.DEMOS:
        source = demo.path.read_text()
        module = demo.load()
        assert module.__doc__ and len(module.__doc__.strip().splitlines()) >= 3, demo.key
        assert 'if __name__ == "__main__":' in source, demo.key
        assert asyncio.iscoroutinefunction(module.main), demo.key


def run_alone(key: str) -> subprocess.CompletedProcess:
    """``python demos/KEY.py`` in a child process: the demo alone, on plain asyncio."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(ROOT / "demos" / f"{key}.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=30,
    )


@pytest.mark.parametrize("key", ["hello", "chained"])
def test_demo_runs_alone_with_plain_python(key):
    out = run_alone(key)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == EXPECTED[key]
    assert out.stderr == ""
