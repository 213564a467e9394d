"""Random sequences of user intents against running demos must never break the loop.

A hypothesis state machine plays a very impatient user: it starts demos, cancels,
wakes, delays and reschedules tasks, runs finished ones again, pauses, steps,
changes speed and stops, in any order. After every move the invariants hold:
no unhandled exception, every task ends at most once and in exactly one terminal
state, the task model agrees with the loop, and nothing is scheduled after Stop.
Runs on the Qt-free loop with autojump, so each example costs milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from coroscope.control.controller import Controller, IntentError
from coroscope.control.targets import demo_target
from coroscope.loop.events import TaskEnded
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.widgets.views.speed_control import SPEEDS
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

DEMOS = ["countdown", "countdown_generator", "chained", "hello", "display_date", "live_clock"]
TERMINAL = {"done", "cancelled", "failed"}


class ImpatientUser(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = HeadlessLoop(autojump=True)
        self.controller = Controller(self.loop, capture_output=False)
        self.errors: list[dict] = []
        base_handler = self.loop.get_exception_handler()

        def record(loop, context):
            self.errors.append(context)
            base_handler(loop, context)

        self.loop.set_exception_handler(record)
        self.stopped = True

    # -- helpers ---------------------------------------------------------------------
    def _run_for(self, seconds: float) -> None:
        c = self.controller
        if c.clock.paused:
            for _ in range(20):
                c.step()
            return
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def _pick(self, data, rows):
        return data.draw(st.sampled_from(rows)) if rows else None

    def _live(self):
        return [r for r in self.controller.tasks.rows() if r.live]

    def _sleeping(self):
        return [r for r in self.controller.tasks.rows() if r.state == "sleep"]

    def _finished(self):
        return [r for r in self.controller.tasks.rows() if not r.live]

    def _try(self, intent, *args) -> None:
        # Refused with a message for the user is allowed; any other exception is not.
        with contextlib.suppress(IntentError):
            intent(*args)

    # -- rules -------------------------------------------------------------------------
    def _resume(self) -> None:
        # Driving the loop with run_until_complete needs a running clock.
        if self.controller.clock.paused:
            self.controller.resume()

    @rule(key=st.sampled_from(DEMOS))
    def run_demo(self, key):
        c = self.controller
        self._resume()
        self.loop.run_until_complete(c.stop())
        c.reset_models()
        c.start(demo_target(key))
        self.stopped = False

    @rule(data=st.data())
    def cancel(self, data):
        row = self._pick(data, self._live())
        if row is not None:
            self._try(self.controller.cancel, row.id)

    @rule(data=st.data())
    def wake(self, data):
        row = self._pick(data, self._sleeping())
        if row is not None:
            self._try(self.controller.wake, row.id)

    @rule(data=st.data(), seconds=st.floats(0.1, 3.0))
    def delay(self, data, seconds):
        row = self._pick(data, self._sleeping())
        if row is not None:
            self._try(self.controller.delay, row.id, seconds)

    @rule(data=st.data(), seconds=st.floats(0.0, 5.0))
    def reschedule(self, data, seconds):
        row = self._pick(data, self._sleeping())
        if row is not None:
            self._try(self.controller.set_remaining, row.id, seconds)

    @rule(data=st.data())
    def run_again(self, data):
        row = self._pick(data, self._finished())
        if row is not None:
            self._try(self.controller.rerun, row.id)

    @rule()
    def pause_or_resume(self):
        self.controller.toggle_pause()

    @rule()
    def step(self):
        self.controller.step()

    @rule(speed=st.sampled_from(SPEEDS))
    def speed(self, speed):
        self.controller.set_speed(speed)

    @rule(seconds=st.floats(0.01, 2.0))
    def let_time_pass(self, seconds):
        self._run_for(seconds)

    @precondition(lambda self: not self.stopped)
    @rule()
    def stop(self):
        c = self.controller
        self._resume()
        stubborn = self.loop.run_until_complete(c.stop())
        assert stubborn == []
        self.stopped = True
        run = c.run
        assert [t for t in run.tasks()] == []
        assert [e for e in c.scheduler.timers() if e.run == run.id] == []
        assert not any(r.live for r in c.tasks.rows())

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def no_unhandled_exception(self):
        assert self.errors == []

    @invariant()
    def every_task_ends_once_in_one_terminal_state(self):
        ends = Counter(e.task for e in self.controller.events.of_type(TaskEnded))
        assert all(count == 1 for count in ends.values()), ends
        for row in self.controller.tasks.rows():
            if row.id in ends:
                assert row.state in TERMINAL
            else:
                assert row.state not in TERMINAL

    @invariant()
    def model_agrees_with_loop(self):
        c = self.controller
        c.tracer.announce()
        if c.run is None:
            return
        live_in_loop = {c.tracer.info(t).id for t in c.run.tasks()}
        live_in_model = {r.id for r in c.tasks.rows() if r.live}
        assert live_in_loop == live_in_model

    def teardown(self):
        c = self.controller
        if c.clock.paused:
            c.resume()
        self.loop.run_until_complete(c.stop())
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending))
        c.close()
        self.loop.close()


ImpatientUser.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestImpatientUser = ImpatientUser.TestCase
