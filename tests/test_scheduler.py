"""The scheduler on its own: ordering, moving, cancelling and stepping timers."""

import asyncio

import pytest
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import EventLog, TimerCancelled, TimerFired, TimerMoved, TimerScheduled
from coroscope.loop.traced_loop import HeadlessLoop


class FakeSource:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def paused_loop():
    src = FakeSource()
    loop = HeadlessLoop(clock=VirtualClock(src))
    loop.clock.pause()
    yield loop, src
    loop.close()


def test_timers_fire_in_due_order_and_soon_callbacks_first(paused_loop):
    loop, _src = paused_loop
    fired = []
    loop.call_later(2.0, fired.append, "b")
    loop.call_later(1.0, fired.append, "a")
    loop.call_soon(fired.append, "now")
    sched = loop.scheduler
    assert sched.step() == "ran"
    assert fired == ["now"]
    assert sched.step() == "timer"  # no ready callback: jump to the next timer
    assert loop.time() == pytest.approx(1.0)
    assert fired == ["now"]  # made ready, not yet run
    assert sched.step() == "ran"
    assert fired == ["now", "a"]
    assert sched.step() == "timer"
    assert sched.step() == "ran"
    assert fired == ["now", "a", "b"]
    assert sched.step() == "idle"


def test_move_timer_really_moves_the_handle(paused_loop):
    loop, _src = paused_loop
    fired = []
    handle = loop.call_later(5.0, fired.append, "x")
    entry = loop.scheduler.timers()[0]
    loop.scheduler.move_timer(entry, 1.0)
    assert handle.when() == 1.0
    assert loop.scheduler.step() == "timer"
    assert loop.time() == pytest.approx(1.0)
    loop.scheduler.step()
    assert fired == ["x"]
    assert loop.scheduler.timers() == []
    assert loop.scheduler.next_due() is None


def test_cancelled_timer_never_fires_and_is_reported(paused_loop):
    loop, _src = paused_loop
    fired = []
    handle = loop.call_later(1.0, fired.append, "x")
    handle.cancel()
    assert loop.scheduler.step() == "idle"
    assert fired == []
    kinds = [type(e) for e in loop.events if type(e).__name__.startswith("Timer")]
    assert kinds == [TimerScheduled, TimerCancelled]


def test_timer_events_carry_times(paused_loop):
    loop, src = paused_loop
    loop.clock.resume()
    handle = loop.call_later(1.0, lambda: None)
    entry = loop.scheduler.timers()[0]
    loop.scheduler.move_timer(entry, 2.0)
    src.now = 2.25
    loop.scheduler.run_once()
    scheduled, moved, fired = [e for e in loop.events if type(e).__name__.startswith("Timer")]
    assert isinstance(scheduled, TimerScheduled) and scheduled.when == pytest.approx(1.0)
    assert isinstance(moved, TimerMoved) and moved.when == pytest.approx(2.0)
    assert isinstance(fired, TimerFired)
    assert fired.t == pytest.approx(2.25)
    assert fired.late == pytest.approx(0.25)
    assert handle.when() == pytest.approx(2.0)


def test_sleep_timers_are_linked_to_their_future_and_task():
    loop = HeadlessLoop()
    seen = {}

    async def sleeper():
        await asyncio.sleep(10)

    async def main():
        task = asyncio.create_task(sleeper(), name="sleeper")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        entry = loop.scheduler.sleep_timer(task._fut_waiter)
        seen["entry"] = entry
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    loop.run_until_complete(main())
    entry = seen["entry"]
    assert entry is not None
    assert entry.duration == pytest.approx(10, abs=0.01)
    assert entry.sleeper is not None
    assert loop.scheduler.timers() == []  # the cancelled sleep left nothing behind
    loop.close()


def test_ready_flood_yields_to_the_driver_after_its_budget():
    loop = HeadlessLoop()
    count = 0

    def slow_callback():
        nonlocal count
        count += 1
        total = sum(range(20000))  # a few hundred microseconds of work
        assert total

    for _ in range(2000):
        loop.call_soon(slow_callback)
    ran = loop.scheduler.run_ready()
    assert 0 < ran < 2000  # stopped for the budget, keeping order for the rest
    assert loop.scheduler.ready_count == 2000 - ran
    loop.close()


def test_untraced_loop_emits_nothing():
    loop = HeadlessLoop(trace=False, events=EventLog())

    async def main():
        await asyncio.sleep(0.001)

    loop.run_until_complete(main())
    assert len(loop.events) == 0
    loop.close()
