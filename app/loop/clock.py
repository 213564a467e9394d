"""The loop's clock: real time that can be paused, slowed, sped up and jumped.

At 1x and never paused, loop time is ``time.monotonic()`` (on Linux the same
clock as ``perf_counter``), as asyncio's is, so a program that computes a deadline
from ``time.monotonic()`` (``loop.call_at``, ``asyncio.timeout_at``) gets it on
time. Pause, Step, slow motion and autojump move an offset on top. What a person
sees counts from the start of the run instead: ``run_time(t)``, from ``origin``,
which the controller sets when a run starts.

Everything that reads loop time (the scheduler, ``loop.time()``, the tracer, the
timeline, the recorder) reads it from one ``VirtualClock`` so pause, step and slow
motion stay consistent. Overriding only ``loop.time()`` is not enough under qasync,
whose timers count real milliseconds; the scheduler therefore keeps its own timer
heap and asks this clock how long to wait in real time (``real_delay``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MIN_SPEED = 0.1
MAX_SPEED = 4.0

# (virtual anchor, real anchor, speed, paused): see VirtualClock.state.
ClockState = tuple[float, float, float, bool]


class VirtualClock:
    def __init__(self, source: Callable[[], float] = time.perf_counter, speed: float = 1.0) -> None:
        self._source = source
        self._speed = _checked_speed(speed)
        self._paused = False
        # Loop seconds per real second: the speed, or 0 while paused. One number
        # lets now() (and the tracer, which reads these fields once per step)
        # work without a branch.
        self._rate = self._speed
        self._anchor_real = source()
        self._anchor_virtual = self._anchor_real
        # The loop time shown as 0: when the current run began (the controller
        # sets it), or when the clock was made.
        self.origin = self._anchor_virtual

    def now(self) -> float:
        return self._anchor_virtual + (self._source() - self._anchor_real) * self._rate

    def run_time(self, t: float | None = None) -> float:
        """Loop time ``t`` (default: now) as a person sees it: seconds since the run began."""
        return (self.now() if t is None else t) - self.origin

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float:
        return self._speed

    def _reanchor(self) -> None:
        self._anchor_virtual = self.now()
        self._anchor_real = self._source()

    def pause(self) -> None:
        if not self._paused:
            self._reanchor()
            self._paused = True
            self._rate = 0.0

    def resume(self) -> None:
        if self._paused:
            self._anchor_real = self._source()
            self._paused = False
            self._rate = self._speed

    def set_speed(self, speed: float) -> None:
        speed = _checked_speed(speed)
        self._reanchor()
        self._speed = speed
        if not self._paused:
            self._rate = speed

    def advance(self, seconds: float) -> None:
        """Jump loop time forward (used by Step, autojump and the frame recorder)."""
        if seconds < 0:
            raise ValueError("the loop clock never runs backwards")
        self._reanchor()
        self._anchor_virtual += seconds

    def advance_to(self, when: float) -> None:
        now = self.now()
        if when > now:
            self.advance(when - now)

    def state(self) -> ClockState:
        """All this clock is, to be given to another clock reading the same real
        time (a script's child process: the two then tell the same loop time)."""
        return (self._anchor_virtual, self._anchor_real, self._speed, self._paused)

    def adopt(self, state: ClockState) -> None:
        """Become the clock ``state`` describes (see ``state``); on the thread that
        reads this clock, as ``now()`` reads the fields one by one."""
        anchor_virtual, anchor_real, speed, paused = state
        self._speed = _checked_speed(speed)
        self._paused = bool(paused)
        self._anchor_real, self._anchor_virtual = anchor_real, anchor_virtual
        self._rate = 0.0 if self._paused else self._speed

    def real_delay(self, loop_seconds: float) -> float:
        """Real seconds until ``loop_seconds`` of loop time pass (inf while paused)."""
        if self._paused:
            return math.inf
        return max(0.0, loop_seconds) / self._speed


def _checked_speed(speed: float) -> float:
    if not (MIN_SPEED - 1e-9 <= speed <= MAX_SPEED + 1e-9):
        raise ValueError(f"speed must be between {MIN_SPEED}x and {MAX_SPEED}x, not {speed}x")
    return float(speed)
