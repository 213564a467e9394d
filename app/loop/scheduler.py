"""The loop's own ready queue and timer heap, driven from outside.

qasync turns every handle into a Qt timer with whole-millisecond resolution and
reads real time. To pause, single-step and slow down a real loop we keep the
queue and the heap here instead, reading time from a ``VirtualClock``; the Qt edge
(``coroscope.widgets.shell.qt_loop``) only has to call ``run_once`` when
``wait_seconds`` says so.

This module never imports Qt, so the same scheduler runs under the GUI, the
headless tracer and the frame-stepped recorder, and is unit-tested directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from asyncio import futures
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextvars import ContextVar

from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import Event, TimerCancelled, TimerFired, TimerMoved, TimerScheduled
from coroscope.loop.introspect import describe_args, describe_callback

# Which run (one demo or script session) scheduled a task or timer. Tasks copy
# their creator's context, so everything a run starts carries its id.
RUN_ID: ContextVar[int | None] = ContextVar("coroscope_run_id", default=None)

# A timer due within this much loop time counts as due: the clock's resolution,
# as in asyncio, which never fires a timer early by more (the Qt driver rounds its
# wait up to whole milliseconds, so it does not wake before a timer is due).
_RESOLUTION = time.get_clock_info("monotonic").resolution
# Give Qt a turn after this much real time in one batch, so a flood of ready
# callbacks cannot freeze painting; the rest keep their order in the queue.
_BATCH_BUDGET = 0.010

# What every asyncio.sleep() timer calls: it resolves the future the sleeper awaits.
SLEEP_CALLBACK = futures._set_result_unless_cancelled  # type: ignore[attr-defined]
_new_tuple = tuple.__new__  # builds an event without its constructor's Python frame
_SLEEP_LABEL = describe_callback(SLEEP_CALLBACK)


def _nobody() -> None:
    return None


class TimerEntry:
    """Bookkeeping for one scheduled ``TimerHandle`` (which has ``__slots__``)."""

    __slots__ = (
        "created",
        "handle",
        "heap_item",
        "id",
        "label",
        "run",
        "sleep_future",
        "sleeper",
        "task",
        "when",
    )

    def __init__(self, timer_id: int, handle: asyncio.TimerHandle, created: float) -> None:
        self.id = timer_id
        self.handle = handle
        self.when = handle.when()
        self.created = created
        self.label = ""
        self.task: int | None = None
        self.sleeper: int | None = None
        self.sleep_future: asyncio.Future | None = None
        self.run: int | None = None
        self.heap_item: list | None = None

    @property
    def duration(self) -> float:
        return self.when - self.created


class Scheduler:
    def __init__(self, clock: VirtualClock, emit: Callable[[Event], None] | None = None) -> None:
        self.clock = clock
        self.emit = emit
        self._ready: deque[asyncio.Handle] = deque()
        self._heap: list[list] = []
        self._entries: dict[int, TimerEntry] = {}  # id(handle) -> entry
        self._by_id: dict[int, TimerEntry] = {}  # timer id -> entry
        self._sleeps: dict[int, TimerEntry] = {}  # id(sleep future) -> entry
        self._future_labels: dict[int, str] = {}  # id(future) -> what it stands for
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        # Entered around each batch (run_once, step); the traced loop holds the
        # event listeners with it, so the models catch up after the batch.
        self.batch: AbstractContextManager = contextlib.nullcontext()
        # Answers current_task_id; the tracer installs its own.
        self.whose_step: Callable[[], int | None] = _nobody
        # None runs handles directly (untraced); the tracer installs its own
        # batch runner: run_batch(ready, count, deadline) -> how many ran.
        self.run_batch: Callable[[deque, int, float], int] | None = None
        self.callbacks_run = 0

    @property
    def current_task_id(self) -> int | None:
        """The id of the task whose step runs on this thread now, if any: output
        capture, timer bookkeeping and the watchdog use it to say who did what."""
        return self.whose_step()

    # -- scheduling -------------------------------------------------------
    def push_ready(self, handle: asyncio.Handle) -> None:
        self._ready.append(handle)

    def push_timer(self, handle: asyncio.TimerHandle, now: float | None = None) -> TimerEntry:
        """Schedule ``handle``; ``now`` is the clock reading its delay counts from."""
        # Once per timer (every asyncio.sleep): kept to plain attribute work.
        if now is None:
            now = self.clock.now()
        entry = TimerEntry(next(self._ids), handle, now)
        callback = handle._callback  # type: ignore[attr-defined]
        task = entry.task = self.whose_step()
        sleep = callback is SLEEP_CALLBACK and bool(handle._args)
        if sleep:
            future = entry.sleep_future = handle._args[0]
            entry.sleeper = task
            self._sleeps[id(future)] = entry
        run = entry.run = RUN_ID.get()
        handle._scheduled = True  # type: ignore[attr-defined]
        self._entries[id(handle)] = entry
        self._by_id[entry.id] = entry
        self._push_heap(entry)
        if self.emit is not None:
            if sleep:
                label, args = _SLEEP_LABEL, ""
            else:
                label, args = describe_callback(callback), describe_args(handle._args)
            entry.label = label
            self.emit(
                _new_tuple(
                    TimerScheduled,
                    (now, entry.id, entry.when, label, task, entry.sleeper, run, args),
                )
            )
        return entry

    def _push_heap(self, entry: TimerEntry) -> None:
        item = [entry.when, next(self._seq), entry]
        entry.heap_item = item
        heapq.heappush(self._heap, item)

    def move_timer(self, entry: TimerEntry, when: float) -> None:
        """Really move a scheduled timer: the same handle fires at ``when``."""
        if entry.heap_item is None or entry.handle.cancelled():
            raise ValueError("that timer is no longer scheduled")
        entry.heap_item[2] = None  # tombstone; heapq cannot remove from the middle
        entry.when = when
        entry.handle._when = when  # type: ignore[attr-defined]
        self._push_heap(entry)
        if self.emit is not None:
            self.emit(TimerMoved(self.clock.now(), entry.id, when, entry.sleeper))

    def timer_cancelled(self, handle: asyncio.TimerHandle) -> None:
        entry = self._entries.pop(id(handle), None)
        if entry is None:
            return
        self._forget(entry)
        if self.emit is not None:
            self.emit(TimerCancelled(self.clock.now(), entry.id))

    def _forget(self, entry: TimerEntry) -> None:
        self._by_id.pop(entry.id, None)
        if entry.heap_item is not None:
            entry.heap_item[2] = None
            entry.heap_item = None
        if entry.sleep_future is not None:
            self._sleeps.pop(id(entry.sleep_future), None)
            entry.sleep_future = None

    def label_future(self, future: asyncio.Future, label: str) -> None:
        """Name a future the loop made for outside work (an executor job, say)."""
        key = id(future)
        self._future_labels[key] = label
        future.add_done_callback(lambda _f: self._future_labels.pop(key, None))

    def future_label(self, future: object) -> str | None:
        return self._future_labels.get(id(future))

    # -- queries ----------------------------------------------------------
    def sleep_timer(self, future: object) -> TimerEntry | None:
        """The timer behind an ``asyncio.sleep`` future, if ``future`` is one."""
        return self._sleeps.get(id(future))

    def timer(self, timer_id: int) -> TimerEntry | None:
        return self._by_id.get(timer_id)

    def timers(self) -> list[TimerEntry]:
        """Live timers, soonest first."""
        return sorted(self._entries.values(), key=lambda e: (e.when, e.id))

    def ready_handles(self, limit: int = 200) -> list[asyncio.Handle]:
        # By index: other threads append to the queue (call_soon_threadsafe), which an
        # iterator over it would take for a mutation; only this thread pops.
        ready = self._ready
        return [h for h in (ready[i] for i in range(min(limit, len(ready)))) if not h._cancelled]

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def wait_seconds(self) -> float:
        """Real seconds the driver may sleep before calling ``run_once`` (inf: idle)."""
        if self._ready:
            return 0.0 if not self.clock.paused else math.inf
        due = self.next_due()
        if due is None:
            return math.inf
        return self.clock.real_delay(due - self.clock.now())

    # -- running ----------------------------------------------------------
    def collect_due(self) -> int:
        """Move every due timer into the ready queue; returns how many fired."""
        heap = self._heap
        now = self.clock.now()
        limit = now + _RESOLUTION
        fired = 0
        while heap:
            item = heap[0]
            entry = item[2]
            if entry is None:
                heapq.heappop(heap)
                continue
            if item[0] > limit:
                break
            heapq.heappop(heap)
            entry.heap_item = None
            self._entries.pop(id(entry.handle), None)
            handle = entry.handle
            handle._scheduled = False
            self._forget(entry)
            if handle._cancelled:
                continue
            self._ready.append(handle)
            fired += 1
            if self.emit is not None:
                late = now - entry.when
                self.emit(_new_tuple(TimerFired, (now, entry.id, late if late > 0.0 else 0.0)))
        return fired

    def run_ready(self, limit: int | None = None, budget: float = _BATCH_BUDGET) -> int:
        """Run up to ``limit`` ready callbacks (default: those queued now)."""
        ready = self._ready
        count = len(ready) if limit is None else min(limit, len(ready))
        deadline = time.perf_counter() + budget
        if self.run_batch is not None:
            ran = self.run_batch(ready, count, deadline)
        else:
            ran = 0
            for _ in range(count):
                handle = ready.popleft()
                if handle._cancelled:
                    continue
                handle._run()
                ran += 1
                if not ran & 31 and time.perf_counter() > deadline:
                    break
        self.callbacks_run += ran
        return ran

    def run_once(self) -> int:
        """One loop iteration: fire due timers, then run what was ready."""
        with self.batch:
            self.collect_due()
            return self.run_ready()

    def step(self) -> str:
        """Exactly one thing a teacher can point at.

        Runs one ready callback; if none is ready, moves the clock to the next
        timer and makes it ready (without running it). Returns what happened:
        ``"ran"``, ``"timer"`` or ``"idle"``.
        """
        with self.batch:
            return self._step()

    def _step(self) -> str:
        if not self._ready:
            self.collect_due()
        while self._ready:
            if self.run_ready(limit=1):
                return "ran"
        due = self.next_due()
        if due is None:
            return "idle"
        self.clock.advance_to(due)
        self.collect_due()
        return "timer"

    def jump_to_next_timer(self) -> bool:
        """Autojump: when nothing is ready, skip loop time straight to the next timer."""
        if self._ready:
            return False
        due = self.next_due()
        if due is None:
            return False
        self.clock.advance_to(due)
        return True

    def cancel_run(self, run_id: int) -> int:
        """Cancel every timer a run scheduled; returns how many."""
        doomed = [e.handle for e in self._entries.values() if e.run == run_id]
        for handle in doomed:
            handle.cancel()
        return len(doomed)

    def clear(self) -> None:
        for entry in list(self._entries.values()):
            entry.handle.cancel()
        self._ready.clear()
