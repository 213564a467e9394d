"""LoopModel folds the loop's events into timers, I/O, threads, children and health."""

import asyncio

import pytest
from coroscope.loop.events import (
    ExecutorJob,
    IoChannel,
    IoData,
    IoWatch,
    LoopBlocked,
    SessionEvent,
    Subprocess,
    TimerCancelled,
    TimerFired,
    TimerMoved,
    TimerScheduled,
)
from coroscope.models.loop_model import LoopModel, describe_handle


def test_timers_are_listed_soonest_first_and_leave_when_fired_or_cancelled():
    model = LoopModel()
    model.apply(TimerScheduled(0.0, 1, 3.0, "say", None, None, 1, "'three'"))
    model.apply(TimerScheduled(0.0, 2, 1.0, "say", None, None, 1, "'one'"))
    model.apply(TimerScheduled(0.0, 3, 2.0, "say", None, None, 1, "'two'"))
    assert [t.label for t in model.live_timers()] == ["say('one')", "say('two')", "say('three')"]
    model.apply(TimerMoved(0.5, 1, 0.75))
    assert [t.id for t in model.live_timers()] == [1, 2, 3]
    model.apply(TimerFired(0.8, 1, 0.05))
    model.apply(TimerCancelled(0.9, 3))
    assert [t.id for t in model.live_timers()] == [2]
    assert (model.fired, model.cancelled) == (1, 1)
    assert model.live_timers()[0].remaining(0.5) == pytest.approx(0.5)


def test_a_timer_gets_its_row_only_when_asked_for_and_keeps_moves():
    from coroscope.loop.events import EventLog

    log = EventLog()
    model = LoopModel()
    model.listen_to(log)  # each kind straight to its handler
    log.emit(TimerScheduled(0.0, 1, 0.01, "_set_result_unless_cancelled", 5, 5, 1, "f"))
    log.emit(TimerScheduled(0.0, 2, 2.0, "say", 5, None, 1, "'hi'"))
    log.emit(TimerFired(0.01, 1, 0.0))
    assert model.fired == 1 and 1 not in model.timers  # fired without ever becoming a row
    assert type(model.timers[2]) is TimerScheduled
    log.emit(TimerMoved(0.5, 2, 3.0))
    row = model.timer(2)
    assert (row.label, row.when, row.created) == ("say('hi')", 3.0, 0.0)
    assert model.timer(2) is row  # made once, then kept
    log.emit(TimerScheduled(1.0, 3, 1.5, "_set_result_unless_cancelled", 5, 5, 1, "f"))
    assert [(t.id, t.label) for t in model.live_timers()] == [(3, "sleep(0.5)"), (2, "say('hi')")]
    assert model.timer(1) is None


def test_runs_only_hides_the_apps_own_timers():
    model = LoopModel(runs_only=True)
    model.apply(TimerScheduled(0.0, 1, 1.0, "stop_waiter", None, None, None))
    model.apply(TimerScheduled(0.0, 2, 1.0, "say", None, None, 4))
    assert [t.id for t in model.live_timers()] == [2]


def test_lag_stats_summarise_recent_lateness():
    model = LoopModel(lag_window=10.0)
    for i in range(99):
        model.apply(TimerFired(float(i) / 10, i, 0.001))
    model.apply(TimerFired(9.95, 100, 0.400))
    stats = model.lag_stats(now=10.0)
    assert stats.count == 100
    assert stats.p50 == pytest.approx(0.001)
    assert stats.worst == pytest.approx(0.400)
    assert model.lag_stats(now=30.0).count == 0  # old samples age out of the window


def test_io_watches_track_read_and_write_per_fd():
    model = LoopModel()
    model.apply(IoWatch(0.0, 4, "read", True, "self-pipe: lets other threads wake the loop", None))
    model.apply(IoWatch(0.1, 7, "read", True, "client a ⇄ b", 2))
    model.apply(IoWatch(0.2, 7, "write", True, "client a ⇄ b", 2))
    rows = model.io_rows()
    assert [(r.fd, r.read, r.write) for r in rows] == [(7, True, True), (4, True, False)]
    assert rows[-1].internal
    model.apply(IoWatch(0.3, 7, "write", False, "", None))
    model.apply(IoWatch(0.4, 7, "read", False, "", None))
    assert [r.fd for r in model.io_rows()] == [4]


def test_bytes_are_counted_per_channel_in_both_directions():
    model = LoopModel()
    model.apply(IoChannel(0.0, 1, "tcp", "client a ⇄ b", "open", 1))
    model.apply(IoData(0.1, 1, "out", 6, "hello\\n"))
    model.apply(IoData(0.2, 1, "in", 6, "hello\\n"))
    model.apply(IoData(0.3, 1, "in", 3, "hi!"))
    row = model.channel_rows()[0]
    assert (row.bytes_out, row.bytes_in) == (6, 9)
    assert row.preview == "hi!" and row.last_in == 0.3
    model.apply(IoChannel(0.5, 1, "tcp", "client a ⇄ b", "closed", 1))
    assert not model.channel_rows()[0].open
    assert [d.nbytes for d in model.data] == [6, 6, 3]


def test_executor_jobs_give_each_worker_its_current_job():
    model = LoopModel()
    model.apply(ExecutorJob(0.0, 1, "crunch(3)", "submitted", "", 5, 1))
    model.apply(ExecutorJob(0.0, 2, "crunch(4)", "submitted", "", 5, 1))
    model.apply(ExecutorJob(0.1, 1, "crunch(3)", "running", "pool_0", 5, 1))
    assert [r.function for r in model.queued_jobs()] == ["crunch(4)"]
    assert model.workers() == [("pool_0", model.jobs[1])]
    model.apply(ExecutorJob(0.5, 1, "crunch(3)", "done", "pool_0", 5, 1, "9"))
    assert model.workers() == [("pool_0", None)]
    assert model.jobs[1].detail == "9" and model.jobs[1].finished == 0.5
    model.apply(ExecutorJob(0.6, 2, "crunch(4)", "cancelled", "", 5, 1))
    assert not model.jobs[2].live


def test_subprocess_rows_carry_pid_state_and_exit_code():
    model = LoopModel()
    model.apply(Subprocess(0.0, 1, 4242, "python -c ...", "running", None, 3, 1))
    assert model.process_rows()[0].state == "running"
    model.apply(Subprocess(1.0, 1, 4242, "python -c ...", "exited", 3, 3, 1))
    row = model.process_rows()[0]
    assert (row.pid, row.state, row.returncode, row.finished) == (4242, "exited", 3, 1.0)


def test_a_new_run_clears_history_but_keeps_what_is_live():
    model = LoopModel()
    model.apply(LoopBlocked(0.0, 1, "main", 0.3, "x.py", 3))
    model.apply(Subprocess(0.0, 1, 1, "a", "running", None, None, 1))
    model.apply(Subprocess(0.0, 2, 2, "b", "running", None, None, 1))
    model.apply(Subprocess(0.1, 2, 2, "b", "exited", 0, None, 1))
    model.apply(TimerFired(0.2, 9, 0.3))
    model.apply(SessionEvent(1.0, "started", "go"))
    assert [r.id for r in model.process_rows()] == [1]
    assert model.last_block() is None and model.lag_stats(1.0).count == 0


def test_ready_queue_sample_names_callbacks_and_task_steps(headless):
    loop = headless
    model = LoopModel()

    def say(word):
        pass

    async def work():
        await asyncio.sleep(0)

    task = loop.create_task(work(), name="worker")
    loop.call_soon(say, "hello")
    model.sample_ready(loop.scheduler, loop.tracer)
    assert [item.label for item in model.ready] == ["step worker", "say('hello')"]
    assert model.ready[0].task == loop.tracer.info(task).id
    assert model.ready_total == 2
    loop.run_until_complete(task)


def test_ready_queue_sample_takes_bound_methods_of_unhashable_objects(headless):
    loop = headless
    model = LoopModel()
    seen: list[str] = []
    loop.call_soon(seen.append, "ran")  # its __self__ is a list, which cannot be a key
    model.sample_ready(loop.scheduler, loop.tracer)
    assert [item.task for item in model.ready] == [None]
    assert model.ready_total == 1
    loop.run_until_complete(asyncio.sleep(0))
    assert seen == ["ran"]


def test_describe_handle_sees_through_qasyncs_notifier_wrapper(headless):
    class Loop:
        def _QEventLoop__notifier_cb_wrapper(self, *args):
            pass

    def _read_ready():
        pass

    handle = asyncio.Handle(
        Loop()._QEventLoop__notifier_cb_wrapper, ({}, None, 7, _read_ready, ()), headless
    )
    assert describe_handle(handle) == "_read_ready() (fd 7 ready)"


def test_arguments_are_described_cheaply_whatever_their_size():
    from coroscope.loop.introspect import describe_args

    big = list(range(1_000_000))
    assert (
        describe_args((big, "a" * 100, 3, None)) == "<list>, 'aaaaaaaaaaaaaaaaaaaaaaaa…', 3, None"
    )
    assert describe_args(("hi", b"x", 1.5)) == "'hi', b'x', 1.5"
