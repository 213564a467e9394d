"""Controller.cancel_timer / move_timer act on the real TimerHandle (headless, autojump)."""

import asyncio

import pytest
from coroscope.control.controller import IntentError
from coroscope.control.run import Target


def start(controller, main):
    return controller.start(Target("t", "Timers", __file__, main))


def timer_for(controller, name):
    return next(e for e in controller.scheduler.timers() if e.label.endswith(name))


def test_a_cancelled_timer_never_fires(headless_controller):
    c = headless_controller
    fired = []

    def ring(what):
        fired.append((what, c.loop.time()))

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, ring, "one")
        loop.call_later(2.0, ring, "two")
        await asyncio.sleep(0.1)
        c.cancel_timer(timer_for(c, "ring").id)  # the soonest: "one"
        await asyncio.sleep(3.0)

    c.loop.run_until_complete(start(c, main).main)
    assert [what for what, _t in fired] == ["two"]
    with pytest.raises(IntentError, match="already fired or been cancelled"):
        c.cancel_timer(1)


def test_a_moved_timer_fires_at_its_new_time(headless_controller):
    c = headless_controller
    fired = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, lambda: fired.append(c.clock.run_time()))
        await asyncio.sleep(0.1)
        entry = c.scheduler.timers()[0]
        c.move_timer(entry.id, c.clock.origin + 2.5)
        await asyncio.sleep(3.0)

    c.loop.run_until_complete(start(c, main).main)
    assert fired == [pytest.approx(2.5, abs=0.01)]


def test_moving_into_the_past_fires_now_and_nan_is_refused(headless_controller):
    c = headless_controller
    fired = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_later(5.0, lambda: fired.append(c.clock.run_time()))
        await asyncio.sleep(1.0)
        entry = c.scheduler.timers()[0]
        with pytest.raises(IntentError, match="number"):
            c.move_timer(entry.id, float("nan"))
        c.move_timer(entry.id, c.clock.origin)
        await asyncio.sleep(0.5)

    c.loop.run_until_complete(start(c, main).main)
    assert fired == [pytest.approx(1.0, abs=0.1)]  # "now": plus real time, under load


def test_cancelling_a_sleeps_timer_cancels_the_sleep_instead_of_hanging_it(headless_controller):
    c = headless_controller
    seen = []

    async def napper():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled at the await")
            raise

    async def main():
        task = asyncio.create_task(napper(), name="napper")
        await asyncio.sleep(0.1)
        entry = next(e for e in c.scheduler.timers() if e.sleeper is not None)
        c.cancel_timer(entry.id)
        with pytest.raises(asyncio.CancelledError):
            await task
        return c.clock.run_time()

    run = start(c, main)
    ended = c.loop.run_until_complete(run.main)
    assert seen == ["cancelled at the await"]
    assert ended == pytest.approx(0.1, abs=0.1)  # at once, not after the 10 s sleep
    assert c.scheduler.timers() == []
