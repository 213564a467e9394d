"""Intents change the real loop: checked on the Qt-free loop with loop-clock times."""

import asyncio

import pytest
from coroscope.control.controller import IntentError
from coroscope.control.run import Target, capture_recipe


async def sleeper(seconds):
    await asyncio.sleep(seconds)
    return seconds


def _target(main):
    return Target("t", "Test target", __file__, main)


def _run_until(loop, predicate, limit=50.0):
    async def wait():
        while not predicate():
            await asyncio.sleep(0.05)

    loop.run_until_complete(asyncio.wait_for(wait(), limit))


def _task(controller, name):
    row = controller.tasks.by_name(name)
    assert row is not None, f"no task {name}"
    return row


def _finish_time(controller, name):
    """When the task ended, in seconds since the run began."""
    row = _task(controller, name)
    return controller.clock.run_time(row.finished)


@pytest.fixture
def started(headless_controller):
    c = headless_controller

    async def main():
        await asyncio.gather(
            asyncio.create_task(sleeper(4), name="four"),
            asyncio.create_task(sleeper(4), name="other"),
            return_exceptions=True,
        )

    c.start(_target(main))
    _run_until(c.loop, lambda: c.tasks.by_name("four") and _task(c, "four").state == "sleep")
    return c


def test_wake_makes_a_four_second_sleep_finish_now(started):
    c = started
    start = c.clock.run_time()
    c.wake(_task(c, "four").id)
    _run_until(c.loop, lambda: not _task(c, "four").live)
    assert _task(c, "four").state == "done"
    assert _finish_time(c, "four") - start < 0.1
    assert _task(c, "other").live  # only the chosen task moved


def test_delay_adds_one_second_to_the_real_timer(started):
    c = started
    c.delay(_task(c, "four").id, 1.0)
    _run_until(c.loop, lambda: not _task(c, "other").live)
    _run_until(c.loop, lambda: not _task(c, "four").live)
    assert _finish_time(c, "other") == pytest.approx(4.0, abs=0.05)
    assert _finish_time(c, "four") == pytest.approx(5.0, abs=0.05)


def test_set_remaining_moves_the_timer(started):
    c = started
    now = c.clock.run_time()
    c.set_remaining(_task(c, "four").id, 0.5)
    _run_until(c.loop, lambda: not _task(c, "four").live)
    assert _finish_time(c, "four") == pytest.approx(now + 0.5, abs=0.05)


def test_moving_a_sleep_updates_the_lane_and_the_models_keep_no_timer_behind(started):
    c = started
    now = c.clock.now()
    c.set_remaining(_task(c, "four").id, 2.0)
    assert _task(c, "four").due == pytest.approx(now + 2.0, abs=0.05)  # the lane shows it
    timeouts = 0

    async def impatient():
        nonlocal timeouts
        for _ in range(200):  # each times out, so its sleep's timer is cancelled
            try:
                await asyncio.wait_for(asyncio.sleep(10), 0.001)
            except TimeoutError:
                timeouts += 1

    c.loop.run_until_complete(c.stop())
    c.start(_target(impatient))
    _run_until(c.loop, lambda: not c.running)
    assert timeouts == 200
    # Nothing per timer is left in the models once the timers are gone.
    assert c.narration._sleepers == {} and c.narration._callbacks == {}


def test_cancel_propagates_cancelled_error(started):
    c = started
    c.cancel(_task(c, "four").id)
    _run_until(c.loop, lambda: not _task(c, "four").live)
    assert _task(c, "four").state == "cancelled"
    assert _task(c, "four").exception == "CancelledError"
    with pytest.raises(IntentError, match="already finished"):
        c.cancel(_task(c, "four").id)


def test_run_again_starts_a_finished_task_with_its_arguments(started):
    c = started
    c.wake(_task(c, "four").id)
    _run_until(c.loop, lambda: not _task(c, "four").live)
    first_id = _task(c, "four").id
    again = c.rerun(first_id)
    assert again.get_name() == "four"
    start = c.clock.now()
    c.loop.run_until_complete(again)
    assert again.result() == 4
    assert c.clock.now() - start == pytest.approx(4.0, abs=0.05)


def test_intents_on_tasks_that_are_not_sleeping_explain_why(started):
    c = started
    main = _task(c, "main")
    with pytest.raises(IntentError, match="not sleeping"):
        c.wake(main.id)
    with pytest.raises(IntentError, match="still running"):
        c.rerun(main.id)
    with pytest.raises(IntentError, match="zero or more"):
        c.set_remaining(_task(c, "four").id, -1)


def test_stop_cancels_everything_and_leaves_nothing_scheduled(started):
    c = started
    stubborn = c.loop.run_until_complete(c.stop())
    assert stubborn == []
    assert all(not r.live for r in c.tasks.rows())
    assert c.scheduler.timers() == []
    assert not c.running


def test_pause_holds_timers_and_step_moves_one_thing(started):
    c = started
    c.pause()
    before = c.clock.now()
    # The sleeps' timer: four seconds after the loop time their first step ran,
    # which a slow machine puts a little past zero.
    due = c.scheduler.next_due()
    assert c.clock.run_time(due) == pytest.approx(4.0, abs=0.5)
    assert c.step() == "timer"  # nothing ready: jump to the next timer
    assert c.clock.now() == due
    assert c.clock.now() > before
    assert c.step() == "ran"
    assert c.clock.paused
    c.resume()


def test_speed_out_of_range_is_an_intent_error(headless_controller):
    with pytest.raises(IntentError, match="between"):
        headless_controller.set_speed(10)


def test_capture_recipe_rebuilds_calls_with_defaults_and_closures():
    factor = 3

    async def scaled(x, y=2, *rest, k=1, **extra):
        return (x + y + sum(rest) + k + sum(extra.values())) * factor

    original = scaled(1, 2, 3, k=4, z=5)
    recipe = capture_recipe(original, "scaled")
    original.close()
    assert recipe is not None
    coro = recipe.call()
    try:
        coro.send(None)
    except StopIteration as done:
        assert done.value == (1 + 2 + 3 + 4 + 5) * 3
    else:
        raise AssertionError("expected the coroutine to finish")
