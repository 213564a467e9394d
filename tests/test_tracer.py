"""Tracing a real loop: the events a teacher would predict, with times and counts."""

import asyncio
import itertools
import time
from pathlib import Path

import pytest
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import (
    LoopBlocked,
    TaskCreated,
    TaskEnded,
    TaskStep,
    TimerFired,
    TimerScheduled,
)
from coroscope.loop.traced_loop import HeadlessLoop

HERE = str(Path(__file__).resolve())


async def countdown(name, seconds):
    await asyncio.sleep(seconds)
    return seconds


async def countdown_main():
    tasks = [
        asyncio.create_task(countdown(f"task{i}", s), name=f"task{i}")
        for i, s in ((1, 4), (2, 3), (3, 2))
    ]
    return await asyncio.gather(*tasks)


def test_countdown_trace_has_names_parents_times_and_resume_counts(headless):
    assert headless.run_until_complete(countdown_main()) == [4, 3, 2]
    created = {e.task: e for e in headless.events.of_type(TaskCreated)}
    names = {e.task: e.name for e in created.values()}
    assert sorted(names.values())[1:] == ["task1", "task2", "task3"]
    main_id = next(i for i, n in names.items() if n.startswith("Task-"))
    assert all(e.parent == main_id for e in created.values() if e.task != main_id)
    ended = {names[e.task]: e for e in headless.events.of_type(TaskEnded)}
    # autojump: the clock skips idle time, so finish times are exact
    t = headless.clock.run_time
    assert t(ended["task3"].t) == pytest.approx(2.0, abs=0.01)
    assert t(ended["task2"].t) == pytest.approx(3.0, abs=0.01)
    assert t(ended["task1"].t) == pytest.approx(4.0, abs=0.01)
    assert [ended[n].state for n in ("task1", "task2", "task3")] == ["done"] * 3
    assert ended["task1"].result == "4"
    steps = [e for e in headless.events.of_type(TaskStep) if names[e.task] == "task1"]
    assert len(steps) == 2  # started, then woken by its timer
    first = steps[0]
    assert first.waiting == "sleep"
    assert first.awaiting == "sleep(4)"
    assert t(first.due) == pytest.approx(4.0, abs=0.01)
    # the line it is parked on is the await in countdown()
    user = [f for f in first.frames if f[0] == HERE]
    assert user and user[-1][2] == "countdown"
    assert "await asyncio.sleep(seconds)" in Path(HERE).read_text().splitlines()[user[-1][1] - 1]
    assert len(headless.events.of_type(TimerFired)) == 3


def test_cancelled_and_failed_tasks_end_in_the_right_state(headless):
    async def boom():
        await asyncio.sleep(0.1)
        raise ValueError("bad value")

    async def main():
        sleeper = asyncio.create_task(asyncio.sleep(10), name="sleeper")
        failing = asyncio.create_task(boom(), name="boom")
        await asyncio.sleep(0.5)
        sleeper.cancel()
        return await asyncio.gather(sleeper, failing, return_exceptions=True)

    results = headless.run_until_complete(main())
    assert isinstance(results[0], asyncio.CancelledError)
    assert isinstance(results[1], ValueError)
    created = {e.task: e.name for e in headless.events.of_type(TaskCreated)}
    ended = {created[e.task]: e for e in headless.events.of_type(TaskEnded)}
    assert ended["sleeper"].state == "cancelled"
    assert ended["boom"].state == "failed"
    assert ended["boom"].exception == "ValueError: bad value"
    assert "raise ValueError" in ended["boom"].traceback


def test_a_step_that_blocks_the_loop_is_reported_with_its_line():
    loop = HeadlessLoop(block_threshold=0.05)

    async def blocker():
        await asyncio.sleep(0)
        time.sleep(0.08)  # blocks the loop
        await asyncio.sleep(0)

    loop.run_until_complete(blocker())
    blocked = loop.events.of_type(LoopBlocked)
    assert len(blocked) == 1
    assert blocked[0].wall >= 0.08
    assert blocked[0].file == HERE
    loop.close()


def test_every_task_ends_exactly_once(headless):
    async def child(i):
        for _ in range(i % 4):
            await asyncio.sleep(0.01 * i)
        if i % 5 == 0:
            raise RuntimeError(i)
        return i

    async def main():
        tasks = [asyncio.create_task(child(i)) for i in range(50)]
        await asyncio.sleep(0.02)
        for task in tasks[::7]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    headless.run_until_complete(main())
    created = [e.task for e in headless.events.of_type(TaskCreated)]
    ended = [e.task for e in headless.events.of_type(TaskEnded)]
    assert sorted(created) == sorted(ended)
    assert len(set(ended)) == len(ended)


def test_bare_yield_steps_are_kept_compact_and_read_back_as_task_steps():
    loop = HeadlessLoop()
    heard = []

    async def yielder():
        for _ in range(3):
            await asyncio.sleep(0)

    try:
        loop.clock.set_speed(0.5)
        loop.run_until_complete(yielder())
        without_listener = [e for e in loop.events.of_type(TaskStep) if e.waiting == "ready"]
        loop.events.subscribe(heard.append)
        loop.run_until_complete(yielder())
    finally:
        loop.close()
    # the ring holds them packed (bytes, which the garbage collector never tracks)
    packed = [item for item in loop.events._ring if type(item) is bytes]
    assert len(packed) == 6
    # asking for other kinds skips the packed steps and still finds the rest
    assert [e.coro.rsplit(".", 1)[-1] for e in loop.events.of_type(TaskCreated)] == ["yielder"] * 2
    assert len(without_listener) == 3
    for step in without_listener:
        assert step.task == without_listener[0].task
        # half speed: the step's loop time is half its wall time
        # (loop times follow time.monotonic(), so allow for a double's rounding there)
        assert step.t - step.started == pytest.approx(step.wall * 0.5, abs=1e-9)
        assert step.started <= step.t
    ring_steps = [e for e in loop.events.of_type(TaskStep) if e.waiting == "ready"][3:]
    listened = [e for e in heard if isinstance(e, TaskStep) and e.waiting == "ready"]
    assert listened == ring_steps and len(listened) == 3


def test_a_step_is_not_charged_for_the_tracers_own_work_before_it():
    loop = HeadlessLoop()
    real_announce = loop.tracer.announce

    def slow_announce():
        if loop.tracer._unannounced:
            time.sleep(0.15)  # as announcing thousands of new tasks can take
        real_announce()

    loop.tracer.announce = slow_announce

    async def child():
        await asyncio.sleep(0)

    async def spawner():
        await asyncio.gather(child(), child())  # new tasks: announcing them is slow

    async def bystander():
        await asyncio.sleep(0)  # runs in the same batch, right after spawner's step

    async def main():
        await asyncio.gather(spawner(), bystander())

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert loop.events.of_type(LoopBlocked) == []
    assert all(step.wall < 0.1 for step in loop.events.of_type(TaskStep))


def test_a_task_method_that_raises_as_a_callback_goes_to_the_exception_handler():
    # The tracer runs a task's handles itself; one that raises is reported the way
    # asyncio reports any callback that raises, and the loop carries on.
    loop = HeadlessLoop(autojump=True)
    seen = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))

    async def main():
        asyncio.get_running_loop().call_soon(asyncio.current_task().set_result, 1)
        await asyncio.sleep(0.1)
        return "carried on"

    try:
        assert loop.run_until_complete(main()) == "carried on"
    finally:
        loop.close()
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], RuntimeError)
    assert seen[0]["message"].startswith("Exception in callback")


def test_a_sleep_timer_whose_future_is_already_resolved_is_reported_like_asyncio():
    # Sleep timers run on a fast path; one that raises is still reported.
    loop = HeadlessLoop(autojump=True)
    seen = []
    loop.set_exception_handler(lambda _loop, context: seen.append(context))

    async def main():
        running = asyncio.get_running_loop()
        future = running.create_future()
        running.call_later(0.01, asyncio.futures._set_result_unless_cancelled, future, 1)
        future.set_result(0)
        await asyncio.sleep(0.05)
        return future.result()

    try:
        assert loop.run_until_complete(main()) == 0
    finally:
        loop.close()
    assert [type(context["exception"]) for context in seen] == [asyncio.InvalidStateError]


def test_a_sleep_is_shown_with_the_delay_asked_for_though_the_clock_moves_meanwhile():
    readings = itertools.count()
    # Each reading of this clock is a millisecond after the last one.
    clock = VirtualClock(source=lambda: next(readings) * 0.001)
    loop = HeadlessLoop(clock=clock, autojump=True)
    try:
        loop.run_until_complete(asyncio.sleep(0.5))
        scheduled = loop.events.of_type(TimerScheduled)
        assert [e.when - e.t for e in scheduled] == [pytest.approx(0.5, abs=1e-9)]
        parked = [e for e in loop.events.of_type(TaskStep) if e.waiting == "sleep"]
        assert [e.awaiting for e in parked] == ["sleep(0.5)"]
    finally:
        loop.close()
