"""The base-event-loop and task demos run headless with the outcomes they promise."""

import asyncio
import dataclasses
import functools
from pathlib import Path

import pytest
from coroscope.control.controller import Controller
from coroscope.control.targets import demo_target
from coroscope.loop.events import (
    ExecutorJob,
    IoChannel,
    IoData,
    IoWatch,
    LoopBlocked,
    Subprocess,
    TaskEnded,
    TimerCancelled,
    TimerFired,
    TimerScheduled,
)

from tests.test_demos import run_alone

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def capturing(headless):
    controller = Controller(headless, capture_output=True)
    yield controller
    controller.close()


def start(controller, key, **main_kwargs):
    target = demo_target(key)
    if main_kwargs:
        target = dataclasses.replace(
            target, make_main=functools.partial(target.make_main, **main_kwargs)
        )
    return controller.start(target)


def run(controller, key, **main_kwargs):
    """Run a demo to the end; returns (main's result, printed lines)."""
    run = start(controller, key, **main_kwargs)
    result = controller.loop.run_until_complete(run.main)
    return result, printed(controller)


def printed(controller):
    return [line.text for line in controller.console.lines() if line.kind == "stdout"]


def of(loop, kind):
    return [e for e in loop.events if isinstance(e, kind)]


def test_callouts_fire_in_order_at_their_times_and_the_cancelled_one_never(capturing):
    _result, lines = run(capturing, "callouts")
    assert lines == [
        "t=0.0  call_soon: first in the ready queue",
        "t=0.0  call_soon: second, right after the first",
        "t=2.0  call_later(2.0)",
        "t=3.0  cancelled the call_later(5.0) handle: cancelled() is True",
        "t=4.0  call_at(start + 4.0)",
        "t=6.0  done: the cancelled callout never ran",
    ]
    loop = capturing.loop
    doomed = next(e for e in of(loop, TimerScheduled) if "call_later(5.0)" in e.args)
    assert doomed.timer in {e.timer for e in of(loop, TimerCancelled)}
    assert doomed.timer not in {e.timer for e in of(loop, TimerFired)}


@pytest.mark.parametrize("key", ["echo_protocol", "echo_streams"])
def test_echo_demos_echo_every_byte_on_loopback_only(capturing, key):
    echoed, lines = run(capturing, key, pause=0.01)
    assert echoed == {
        "alice": b"alice says hello\nalice counts 5\nalice says bye\n",
        "bob": b"bob says hello\nbob counts 3\nbob says bye\n",
    }
    assert "alice: got back 47 bytes, all echoed" in lines
    assert "bob: got back 41 bytes, all echoed" in lines
    assert sum("server: echoing" in line for line in lines) == 6
    loop = capturing.loop
    listening = [e.label for e in of(loop, IoWatch) if e.label.startswith("listening")]
    assert listening and all(label.startswith("listening on 127.0.0.1:") for label in listening)
    # The bytes crossed the connections: each client's 88 bytes went out and came back.
    clients = {e.channel for e in of(loop, IoChannel) if e.label.startswith("client")}
    sent = sum(e.nbytes for e in of(loop, IoData) if e.channel in clients and e.direction == "out")
    got = sum(e.nbytes for e in of(loop, IoData) if e.channel in clients and e.direction == "in")
    assert sent == got == 88


def test_subprocess_demo_reads_the_lines_and_the_exit_code(capturing):
    code, lines = run(capturing, "subprocess_pipes", lines=3, pause=0.02)
    assert code == 3
    assert [line for line in lines if line.startswith("stdout")] == [
        "stdout: line 1 of 3",
        "stdout: line 2 of 3",
        "stdout: line 3 of 3",
    ]
    assert lines[-1] == "parent read 3 lines; exit code 3"
    exited = [e for e in of(capturing.loop, Subprocess) if e.state == "exited"]
    assert [e.returncode for e in exited] == [3]


def test_cancelling_the_subprocess_demo_terminates_the_child_cleanly(capturing):
    c = capturing
    demo = start(c, "subprocess_pipes", lines=50, pause=0.05)

    async def cancel_after_first_line():
        while "stdout: line 1 of 50" not in printed(c):
            await asyncio.sleep(0.01)
        main_id = c.tasks.by_name("main").id
        c.cancel(main_id)
        await asyncio.wait([demo.main])

    c.loop.run_until_complete(cancel_after_first_line())
    assert demo.main.cancelled()
    lines = printed(c)
    assert "cancelled: terminating the child" in lines
    assert lines[-1] == "the child is gone (exit code -15); nothing is left running"
    assert [e.returncode for e in of(c.loop, Subprocess) if e.state == "exited"] == [-15]
    assert c.loop.outside.processes == {}


def test_thread_pool_keeps_a_50ms_ticker_on_time_only_when_work_is_in_threads(capturing):
    block = 0.3
    outcome, lines = run(capturing, "thread_pool", block=block)
    assert outcome["results"] == [9, 16, 25]
    assert outcome["in_loop"] >= block * 0.8  # the ticker stalled for the whole call
    assert outcome["in_threads"] < 0.05  # ...but ticked within its lag bound meanwhile
    loop = capturing.loop
    jobs = of(loop, ExecutorJob)
    assert [e.state for e in jobs if e.state in ("done", "failed")] == ["done", "done"]
    assert {e.thread for e in jobs if e.state == "done"} <= {"crunch_0", "crunch_1"}
    blocked = of(loop, LoopBlocked)
    assert len(blocked) == 1 and blocked[0].wall >= block * 0.8
    assert lines[0] == "1) crunch(3) in the loop: everything else waits"


def test_results_and_exceptions_climb_the_chain(capturing):
    _result, lines = run(capturing, "results_exceptions", pace=0.1)
    error = "SensorError(\"sensor 'broken' did not answer\")"
    assert lines == [
        "good sensor:",
        "  read_sensor: returned 21",
        "  double: returned 42",
        "main got 42",
        "broken sensor:",
        f"  read_sensor: raised {error}",
        f"main caught {error}",
        "a failed task keeps its exception:",
        f"  read_sensor: raised {error}",
        f"task.exception() is {error}",
        "awaiting the task raises it again",
    ]
    failing = next(e for e in of(capturing.loop, TaskEnded) if e.state == "failed")
    assert failing.exception == "SensorError: sensor 'broken' did not answer"


def test_cancellation_reaches_children_but_not_through_a_shield(capturing):
    _result, lines = run(capturing, "cancellation")
    assert lines == [
        "1) cancel the child",
        "child-1: working for 3 s",
        "child-1: cancelled at its await",
        "child-1: cleanup in finally",
        "parent of child-1: CancelledError reached me",
        "main: parent-1 ended cancelled too",
        "2) cancel the parent",
        "child-2: working for 3 s",
        "child-2: cancelled at its await",
        "child-2: cleanup in finally",
        "parent of child-2: CancelledError reached me",
        "main: parent-2 cancelled=True, child-2 cancelled=True",
        "3) shield the child, cancel the parent",
        "child-3: working for 2 s",
        "parent of child-3: CancelledError reached me",
        "main: parent-3 cancelled=True; child-3 still running",
        "child-3: finished",
        "child-3: cleanup in finally",
        "main: child-3 done",
    ]
    assert capturing.clock.run_time() == pytest.approx(4.0, abs=0.2)  # 1 + 1 + 2 s


def test_gather_wait_and_taskgroup(capturing):
    _result, lines = run(capturing, "gather_wait_taskgroup")
    assert lines == [
        "gather: results in argument order",
        "  fast ready after 1 s",
        "  slow ready after 2 s",
        "  -> ['SLOW', 'FAST']",
        "gather with return_exceptions=True",
        "  ok ready after 1 s",
        "  -> ['OK', LookupError('missing not found')]",
        "wait(FIRST_COMPLETED): the first one, then cancel the rest",
        "  a ready after 1 s",
        "  done: ['a'], pending: ['b', 'c']",
        "  b cancelled",
        "  c cancelled",
        "TaskGroup: one failure cancels its siblings",
        "  one ready after 1 s",
        "  three cancelled",
        "  -> except* LookupError: ['broken not found']",
    ]
    names = {r.name: r.state for r in capturing.tasks.rows()}
    assert (names["b"], names["c"], names["three"], names["broken"]) == (
        "cancelled",
        "cancelled",
        "cancelled",
        "failed",
    )


def test_producer_consumer_finishes_every_job_once(capturing):
    done, lines = run(capturing, "producer_consumer")
    assert sorted(job for _name, job in done) == list(range(1, 11))
    assert {name for name, _job in done} == {"consumer-a", "consumer-b"}
    # The queue holds at most three: the producer waited for room.
    assert max(int(line.split("holds ")[1][0]) for line in lines if "holds" in line) == 3
    assert lines[-1] == "main: all 10 jobs done; cancelling the idle consumers"
    consumers = [r for r in capturing.tasks.rows() if r.name.startswith("consumer")]
    assert [r.state for r in consumers] == ["cancelled", "cancelled"]


def test_timeouts_cancel_at_the_deadline_and_a_moved_deadline_holds(capturing):
    _result, lines = run(capturing, "timeouts")
    assert lines == [
        "1) asyncio.timeout(1.5) around a 1 s download",
        "small file: needs 1 s",
        "   small file complete",
        "2) asyncio.timeout(1.5) around a 3 s download",
        "big file: needs 3 s",
        "   TimeoutError: the download was cancelled at the deadline",
        "3) reschedule: extend the deadline while the download runs",
        "big file: needs 3 s",
        "   deadline moved 3 s ahead",
        "   big file complete",
        "4) asyncio.wait_for(..., timeout=0.5)",
        "slow reply: needs 2 s",
        "   TimeoutError from wait_for",
    ]
    assert capturing.clock.run_time() == pytest.approx(1 + 1.5 + 3 + 0.5, abs=0.2)


def test_a_raising_demo_fails_its_task_and_the_next_demo_still_runs(capturing):
    from coroscope.control.run import Target

    async def broken():
        await asyncio.sleep(0.1)
        raise RuntimeError("demo bug")

    failed = capturing.start(Target("broken", "Broken", __file__, broken))
    capturing.loop.run_until_complete(asyncio.wait([failed.main]))
    main = capturing.tasks.by_name("main")
    assert (main.state, main.exception) == ("failed", "RuntimeError: demo bug")
    capturing.tasks.clear()
    _result, lines = run(capturing, "callouts")
    assert lines[-1] == "t=6.0  done: the cancelled callout never ran"


@pytest.mark.parametrize("key", ["echo_protocol", "subprocess_pipes"])
def test_io_demo_runs_alone_with_plain_python(key):
    out = run_alone(key)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    last = out.stdout.splitlines()[-1]
    assert last in ("bob: got back 41 bytes, all echoed", "parent read 5 lines; exit code 3")
