"""Stop, Restart and ``coroscope trace`` survive tasks that await each other.

``Task.cancel()`` passes the cancellation on to what the task awaits, so two tasks
awaiting each other cancel each other forever: a plain ``task.cancel()`` dies in a
RecursionError. Stop must still end every task of the run (cancelled, its
``finally:`` run to the end, even an ``await`` in it) and leave nothing pending.
"""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from coroscope.control.run import Target

from tests.trace_schema import script_tasks

ROOT = Path(__file__).resolve().parent.parent

# What asyncio or the loop would say if a task were woken twice, dropped while
# pending, or left a failure nobody retrieved.
NOISE = (
    "InvalidStateError",
    "Exception in callback",
    "never retrieved",
    "destroyed but it is pending",
    "RecursionError",
    "Traceback",
)


def _target(main):
    return Target("cycle", "Cyclic awaits", __file__, main)


def _run_for(loop, seconds):
    loop.run_until_complete(asyncio.sleep(seconds))


class Program:
    """Builds tasks that note, in ``log``, that their ``finally:`` began and ended
    (after an ``await``, to show cancellation did not cut it short)."""

    def __init__(self, unwind_for=0.01):
        self.log = []
        self.tasks = {}
        self.unwind_for = unwind_for

    def spawn(self, name, awaits):
        async def body():
            try:
                await awaits()
            finally:
                self.log.append(f"{name} finally")
                await asyncio.sleep(self.unwind_for)
                self.log.append(f"{name} unwound")

        self.tasks[name] = asyncio.create_task(body(), name=name)
        return self.tasks[name]

    def cycle(self, *names):
        # Each task awaits the next one; the last awaits the first.
        for i, name in enumerate(names):
            after = names[(i + 1) % len(names)]
            self.spawn(name, lambda after=after: self.tasks[after])

    def finished(self, *names):
        return [e for n in names for e in (f"{n} finally", f"{n} unwound")]


def _stop_and_check(controller, program, names):
    loop = controller.loop
    stubborn = loop.run_until_complete(controller.stop())  # must not raise
    assert stubborn == []
    tasks = [program.tasks[n] for n in names] + [controller.run.main]
    assert all(t.done() and t.cancelled() for t in tasks), [t for t in tasks if not t.cancelled()]
    assert [t for t in asyncio.all_tasks(loop) if not t.done()] == []
    assert sorted(program.log) == sorted(program.finished(*names))
    texts = "\n".join(controller.console.texts())
    for noise in NOISE:
        assert noise not in texts, texts
    assert controller.console.texts()[-1] == "■ stopped"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("size", [2, 3, 7])
def test_stop_ends_a_cycle_of_tasks_awaiting_each_other(headless_controller, size):
    c = headless_controller
    program = Program()
    names = [f"t{i}" for i in range(size)]

    async def main():
        program.cycle(*names)
        await asyncio.gather(*(program.tasks[n] for n in names))

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    assert not any(t.done() for t in program.tasks.values())  # the cycle is stuck
    _stop_and_check(c, program, names)


@pytest.mark.timeout(30)
def test_stop_ends_the_issue_script(headless_controller):
    c = headless_controller
    program = Program()

    async def main():  # the issue's program: main awaits the gather of the two
        program.cycle("first", "second")
        await asyncio.gather(program.tasks["first"], program.tasks["second"])

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    _stop_and_check(c, program, ["first", "second"])


@pytest.mark.timeout(30)
def test_stop_ends_a_task_awaiting_a_gather_that_contains_it(headless_controller):
    c = headless_controller
    program = Program()
    gathered = {}

    async def main():
        program.spawn("self", lambda: gathered["g"])
        gathered["g"] = asyncio.gather(program.tasks["self"])
        await asyncio.sleep(3600)

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    task = program.tasks["self"]
    assert task._fut_waiter is gathered["g"]  # it really awaits itself
    _stop_and_check(c, program, ["self"])
    assert gathered["g"].done()


@pytest.mark.timeout(30)
def test_stop_ends_a_cycle_through_a_gather(headless_controller):
    c = headless_controller
    program = Program()

    async def main():
        program.spawn("a", lambda: asyncio.gather(program.tasks["b"], asyncio.sleep(3600)))
        program.spawn("b", lambda: program.tasks["a"])
        await program.tasks["a"]

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    _stop_and_check(c, program, ["a", "b"])


@pytest.mark.timeout(30)
def test_stop_ends_a_cycle_among_normal_tasks(headless_controller):
    c = headless_controller
    program = Program()

    async def main():
        program.cycle("x", "y")
        program.spawn("sleeper", lambda: asyncio.sleep(3600))
        program.spawn("waiter_on_x", lambda: program.tasks["x"])
        program.spawn(
            "gatherer",
            lambda: asyncio.gather(
                program.tasks["y"], program.tasks["sleeper"], return_exceptions=True
            ),
        )
        await asyncio.gather(*program.tasks.values(), return_exceptions=True)

    names = ["x", "y", "sleeper", "waiter_on_x", "gatherer"]
    c.start(_target(main))
    _run_for(c.loop, 0.5)
    _stop_and_check(c, program, names)


@pytest.mark.timeout(30)
def test_stop_ends_a_long_chain_of_awaits(headless_controller):
    # Not a cycle, but cancelling its head recurses as deep as the chain is long.
    # (The last hundred links, cancelled as usual, unwind one after the other, each
    # after the one it awaits: no sleep in their finally, to stay within Stop's grace.)
    c = headless_controller
    program = Program(unwind_for=0)
    names = [f"link{i}" for i in range(3 * sys.getrecursionlimit())]

    async def main():
        program.spawn(names[-1], lambda: asyncio.sleep(3600))
        for name, after in zip(reversed(names[:-1]), reversed(names[1:]), strict=True):
            program.spawn(name, lambda after=after: program.tasks[after])
        await program.tasks[names[0]]

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    _stop_and_check(c, program, names)


@pytest.mark.timeout(30)
def test_stop_ends_a_cycle_that_forms_again_after_the_first_cancel(headless_controller):
    # Both tasks shrug the first CancelledError off and await each other again:
    # Stop's next round must break the new cycle too, still without raising.
    c = headless_controller
    tasks = {}
    shrugged = []

    async def main():
        async def body(name, other):
            try:
                await tasks[other]
            except asyncio.CancelledError:
                shrugged.append(name)
            await tasks[other]

        tasks["p"] = asyncio.create_task(body("p", "q"), name="p")
        tasks["q"] = asyncio.create_task(body("q", "p"), name="q")
        await asyncio.gather(*tasks.values())

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    assert c.loop.run_until_complete(c.stop()) == []
    assert sorted(shrugged) == ["p", "q"]
    assert all(t.cancelled() for t in [*tasks.values(), c.run.main])
    assert [t for t in asyncio.all_tasks(c.loop) if not t.done()] == []


@pytest.mark.timeout(30)
def test_restart_after_a_cycle_runs_again(headless_controller):
    c = headless_controller
    programs = []

    async def main():
        program = Program()
        programs.append(program)
        program.cycle("first", "second")
        await asyncio.gather(*program.tasks.values())

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    first_run = c.run
    run = c.loop.run_until_complete(c.restart())  # must not raise
    assert run is not first_run and run is c.run
    assert all(t.cancelled() for t in programs[0].tasks.values())
    assert sorted(programs[0].log) == sorted(programs[0].finished("first", "second"))
    _run_for(c.loop, 0.5)
    assert len(programs) == 2 and not any(t.done() for t in programs[1].tasks.values())
    _stop_and_check(c, programs[1], ["first", "second"])


SCRIPT = """\
import asyncio


async def main():
    async def first():
        await second_task

    async def second():
        await first_task

    first_task = asyncio.create_task(first())
    second_task = asyncio.create_task(second())
    await asyncio.gather(first_task, second_task)


asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_trace_of_a_cycle_writes_its_file(tmp_path):
    script = tmp_path / "cycle.py"
    script.write_text(SCRIPT)
    out = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "coroscope", "trace", str(script), "-o", str(out), "--duration=2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    # a deadlock ends the trace at once, with exit code 3
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr, done.stderr
    document = json.loads(out.read_text())
    # asyncio.run's own shutdown tasks come after the script's and finish
    tasks = script_tasks(document)
    shutdown = [t for t in document["tasks"] if t not in tasks]
    assert [t["state"] for t in shutdown] == ["done", "done"], shutdown
    # main and the two unnamed tasks of the cycle, all ended by the stop at the end
    assert [t["coro"] for t in tasks] == ["main", "main.<locals>.first", "main.<locals>.second"]
    assert [t["name"] for t in tasks] == ["Task-1", "Task-2", "Task-3"], tasks
    assert [t["state"] for t in tasks] == ["cancelled"] * 3, tasks


@pytest.mark.timeout(30)
def test_cancelling_one_task_of_a_cycle_ends_the_cycle(headless_controller):
    """The ✕ on a lane (Controller.cancel) must not recurse either."""
    c = headless_controller
    program = Program()

    async def main():
        program.cycle("first", "second")
        await asyncio.gather(program.tasks["first"], program.tasks["second"])

    c.start(_target(main))
    _run_for(c.loop, 0.5)
    first = next(row.id for row in c.tasks.rows() if row.name == "first")
    c.cancel(first)  # must not raise
    _run_for(c.loop, 0.2)
    assert program.tasks["first"].cancelled()
    # second was awaiting first: its CancelledError arrives there, as asyncio's would
    assert program.tasks["second"].cancelled()
    assert sorted(program.log) == sorted(program.finished("first", "second"))
