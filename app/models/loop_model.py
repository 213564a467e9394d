"""The loop's anatomy, folded from events: timers, I/O, threads, children, health.

Plain Python with no Qt. The anatomy panel reads it on each frame tick and uses
``version`` to skip repaints when nothing changed. Everything comes from events
except the ready queue, which changes thousands of times a second and is only
worth showing as a snapshot: ``sample_ready`` copies the head of the scheduler's
queue once per frame.

Lag is how late timers fire (``TimerFired.late``, loop seconds): a healthy loop
fires within a millisecond or two; a blocked one fires everything late at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from contextvars import Context
from dataclasses import dataclass
from typing import Any

from coroscope.loop.anatomy.io_taps import is_loop_internal
from coroscope.loop.events import (
    PROCESS_POOL,
    ExecutorJob,
    FoldsByKind,
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
from coroscope.loop.introspect import describe_args, describe_callback, short_name

JOB_LIVE_STATES = ("submitted", "running", "abandoned")
LAG_WINDOW = 10.0  # loop seconds of lag samples the meter summarises
_KEEP_FINISHED = 100


@dataclass(slots=True)
class TimerRow:
    id: int
    when: float
    created: float
    callback: str
    args: str
    task: int | None
    sleeper: int | None
    run: int | None

    @property
    def label(self) -> str:
        return f"{self.callback}({self.args})"

    def remaining(self, now: float) -> float:
        return max(0.0, self.when - now)

    @property
    def span(self) -> float:
        return max(1e-9, self.when - self.created)


@dataclass(slots=True)
class WatchRow:
    fd: int
    label: str
    channel: int | None
    read: bool = False
    write: bool = False

    @property
    def internal(self) -> bool:
        return is_loop_internal(self.label)


@dataclass(slots=True)
class ChannelRow:
    id: int
    kind: str
    label: str
    opened: float
    run: int | None
    closed: float | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    last_in: float | None = None  # loop time of the last chunk each way
    last_out: float | None = None
    preview: str = ""
    preview_direction: str = ""

    @property
    def open(self) -> bool:
        return self.closed is None


@dataclass(frozen=True, slots=True)
class DataRow:
    t: float
    channel: int
    direction: str
    nbytes: int
    preview: str


@dataclass(slots=True)
class JobRow:
    id: int
    function: str
    state: str
    thread: str
    task: int | None
    run: int | None
    submitted: float
    started: float | None = None
    finished: float | None = None
    detail: str = ""

    @property
    def live(self) -> bool:
        return self.state in JOB_LIVE_STATES


@dataclass(slots=True)
class ProcessRow:
    id: int
    pid: int
    command: str
    task: int | None
    run: int | None
    started: float
    state: str = "running"
    returncode: int | None = None
    finished: float | None = None


@dataclass(frozen=True, slots=True)
class ReadyItem:
    label: str
    task: int | None  # the task this callback steps, if it is a task step


@dataclass(frozen=True, slots=True)
class LagStats:
    count: int
    p50: float
    p99: float
    worst: float


class LoopModel(FoldsByKind):
    def __init__(self, runs_only: bool = False, lag_window: float = LAG_WINDOW) -> None:
        # The GUI hides Coroscope's own timers (runs_only); tests see everything.
        self._runs_only = runs_only
        self.lag_window = lag_window
        # A timer's row is made from its TimerScheduled event when first asked for:
        # most timers (every asyncio.sleep) fire before the panel looks at them.
        self.timers: dict[int, TimerRow | TimerScheduled] = {}
        self.watches: dict[int, WatchRow] = {}
        self.channels: dict[int, ChannelRow] = {}
        self.data: deque[DataRow] = deque(maxlen=200)
        self.jobs: dict[int, JobRow] = {}
        self.processes: dict[int, ProcessRow] = {}
        self.blocks: deque[LoopBlocked] = deque(maxlen=50)
        # (t, late) of recent firings: plain tuples of floats, which the garbage
        # collector stops tracking, unlike the TimerFired events themselves.
        self.lag: deque[tuple[float, float]] = deque(maxlen=2000)
        self.fired = 0
        self.cancelled = 0
        self.ready: list[ReadyItem] = []
        self.ready_total = 0
        self.callback_rate = 0.0  # callbacks per real second, from sample_ready
        self._rate_mark: tuple[float, int] | None = None
        self.version = 0
        self.ready_version = 0

    # -- folding events (FoldsByKind: a handler per kind, in _handlers) -------------
    def _timer_scheduled(self, e: TimerScheduled) -> None:
        if self._runs_only and e.run is None:
            return
        self.timers[e.timer] = e
        self.version += 1

    @staticmethod
    def _row(e: TimerScheduled) -> TimerRow:
        callback, args = short_name(e.callback), e.args
        if e.sleeper is not None:
            # A sleep's callback is asyncio's _set_result_unless_cancelled: name the sleep.
            callback, args = "sleep", f"{e.when - e.t:.3g}"
        return TimerRow(e.timer, e.when, e.t, callback, args, e.task, e.sleeper, e.run)

    def timer(self, timer_id: int) -> TimerRow | None:
        """The live timer ``timer_id``, or None once it fired or was cancelled."""
        row = self.timers.get(timer_id)
        if isinstance(row, TimerScheduled):
            made = self.timers[timer_id] = self._row(row)
            return made
        return row

    def _timer_moved(self, e: TimerMoved) -> None:
        row = self.timer(e.timer)
        if row is not None:
            row.when = e.when
            row.created = min(row.created, e.t)
            self.version += 1

    def _timer_cancelled(self, e: TimerCancelled) -> None:
        if self.timers.pop(e.timer, None) is not None:
            self.cancelled += 1
            self.version += 1

    def _timer_fired(self, e: TimerFired) -> None:
        self.lag.append((e.t, e.late))
        if self.timers.pop(e.timer, None) is not None:
            self.fired += 1
        self.version += 1

    def _blocked(self, e: LoopBlocked) -> None:
        self.blocks.append(e)
        self.version += 1

    def _io_watch(self, e: IoWatch) -> None:
        row = self.watches.get(e.fd)
        if e.added:
            if row is None or row.label != e.label:
                # A reused fd number is a new thing: keep the other direction only
                # if it still describes the same socket or pipe.
                kept = row if row is not None and row.channel == e.channel else None
                row = WatchRow(
                    e.fd,
                    e.label,
                    e.channel,
                    read=kept is not None and e.channel is not None and kept.read,
                    write=kept is not None and e.channel is not None and kept.write,
                )
                self.watches[e.fd] = row
            setattr(row, e.kind, True)
        elif row is not None:
            setattr(row, e.kind, False)
            if not row.read and not row.write:
                del self.watches[e.fd]
        self.version += 1

    def _io_channel(self, e: IoChannel) -> None:
        if e.state == "open":
            self.channels[e.channel] = ChannelRow(e.channel, e.kind, e.label, e.t, e.run)
            self._trim_channels()
        else:
            row = self.channels.get(e.channel)
            if row is not None:
                row.closed = e.t
        self.version += 1

    def _io_data(self, e: IoData) -> None:
        row = self.channels.get(e.channel)
        if row is not None:
            if e.direction == "in":
                row.bytes_in += e.nbytes
                row.last_in = e.t
            else:
                row.bytes_out += e.nbytes
                row.last_out = e.t
            row.preview = e.preview
            row.preview_direction = e.direction
        self.data.append(DataRow(e.t, e.channel, e.direction, e.nbytes, e.preview))
        self.version += 1

    def _executor_job(self, e: ExecutorJob) -> None:
        row = self.jobs.get(e.job)
        if row is None:
            row = JobRow(e.job, e.function, e.state, e.thread, e.task, e.run, e.t)
            self.jobs[e.job] = row
            self._trim(self.jobs, lambda r: not r.live)
        row.state = e.state
        row.thread = e.thread or row.thread
        row.detail = e.detail
        if e.state == "running":
            row.started = e.t
        elif e.state in ("done", "failed", "cancelled"):
            row.finished = e.t
        self.version += 1

    def _subprocess(self, e: Subprocess) -> None:
        row = self.processes.get(e.proc)
        if row is None:
            row = ProcessRow(e.proc, e.pid, e.command, e.task, e.run, e.t)
            self.processes[e.proc] = row
            self._trim(self.processes, lambda r: r.state != "running")
        row.state = e.state
        if e.state == "exited":
            row.returncode = e.returncode
            row.finished = e.t
        self.version += 1

    def _session(self, e: SessionEvent) -> None:
        if e.kind == "started":
            self.clear_history()

    _handlers = {
        TimerScheduled: _timer_scheduled,
        TimerMoved: _timer_moved,
        TimerCancelled: _timer_cancelled,
        TimerFired: _timer_fired,
        LoopBlocked: _blocked,
        IoWatch: _io_watch,
        IoChannel: _io_channel,
        IoData: _io_data,
        ExecutorJob: _executor_job,
        Subprocess: _subprocess,
        SessionEvent: _session,
    }

    def _trim(self, rows: dict, finished) -> None:
        if len(rows) <= _KEEP_FINISHED:
            return
        for key in [k for k, r in rows.items() if finished(r)][: len(rows) - _KEEP_FINISHED]:
            del rows[key]

    def _trim_channels(self) -> None:
        self._trim(self.channels, lambda r: not r.open)

    def clear_history(self) -> None:
        """Forget what finished (a new run starts); keep what is still live."""
        self.jobs = {k: r for k, r in self.jobs.items() if r.live}
        self.processes = {k: r for k, r in self.processes.items() if r.state == "running"}
        self.channels = {k: r for k, r in self.channels.items() if r.open}
        self.data.clear()
        self.blocks.clear()
        self.lag.clear()
        self.fired = self.cancelled = 0
        self.version += 1

    # -- the ready queue ------------------------------------------------------------
    def sample_ready(self, scheduler, tracer=None, limit: int = 60, wall: float | None = None):
        """Copy the head of the scheduler's ready queue (call once per frame)."""
        self.take_ready(*ready_sample(scheduler, tracer, limit), wall=wall)

    def take_ready(
        self,
        items: list[ReadyItem],
        total: int,
        ran: int,
        wall: float | None = None,
    ) -> None:
        """The ready queue's head as sampled elsewhere (by ``ready_sample``, here or
        in a script's own process): ``total`` queued, ``ran`` callbacks run so far."""
        if items != self.ready or total != self.ready_total:
            self.ready = items
            self.ready_total = total
            self.ready_version += 1
        wall = time.monotonic() if wall is None else wall
        if self._rate_mark is None or ran < self._rate_mark[1]:  # a new loop counts afresh
            self._rate_mark = (wall, ran)
        elif wall - self._rate_mark[0] >= 0.5:
            then, before = self._rate_mark
            self.callback_rate = (ran - before) / (wall - then)
            self._rate_mark = (wall, ran)

    # -- queries ------------------------------------------------------------------------
    def live_timers(self) -> list[TimerRow]:
        rows = [row for row in map(self.timer, list(self.timers)) if row is not None]
        return sorted(rows, key=lambda r: (r.when, r.id))

    def lag_stats(self, now: float) -> LagStats:
        since = now - self.lag_window
        values = sorted(late for t, late in self.lag if t >= since)
        if not values:
            return LagStats(0, 0.0, 0.0, 0.0)
        return LagStats(len(values), _quantile(values, 0.5), _quantile(values, 0.99), values[-1])

    def lag_samples(self, now: float) -> list[tuple[float, float]]:
        since = now - self.lag_window
        return [(t, late) for t, late in self.lag if t >= since]

    def last_block(self) -> LoopBlocked | None:
        return self.blocks[-1] if self.blocks else None

    def io_rows(self) -> list[WatchRow]:
        return sorted(self.watches.values(), key=lambda r: (r.internal, r.fd))

    def channel_rows(self) -> list[ChannelRow]:
        """Open channels first, newest first within each."""
        return sorted(self.channels.values(), key=lambda r: (not r.open, -r.id))

    def job_rows(self) -> list[JobRow]:
        return sorted(self.jobs.values(), key=lambda r: (not r.live, -r.id))

    def workers(self) -> list[tuple[str, JobRow | None]]:
        """Every worker thread seen, with the job it runs now (None: idle)."""
        busy: dict[str, JobRow] = {}
        seen: dict[str, None] = {}
        for row in sorted(self.jobs.values(), key=lambda r: r.id):
            if row.thread and row.thread != PROCESS_POOL:
                seen[row.thread] = None
                if row.state in ("running", "abandoned"):
                    busy[row.thread] = row
        return [(name, busy.get(name)) for name in sorted(seen)]

    def queued_jobs(self) -> list[JobRow]:
        return [r for r in self.jobs.values() if r.state == "submitted"]

    def process_rows(self) -> list[ProcessRow]:
        return sorted(self.processes.values(), key=lambda r: (r.state != "running", -r.id))


def ready_sample(scheduler, tracer=None, limit: int = 60) -> tuple[list[ReadyItem], int, int]:
    """The head of a traced loop's ready queue, how many wait in it, and how many
    callbacks it has run: what the Loop panel shows of it."""
    items = []
    for handle in scheduler.ready_handles(limit):
        owner = getattr(handle._callback, "__self__", None)
        # A task's step is a bound method of the task; any other owner (a list's
        # append, say) is no task, and may not even be hashable.
        is_task = isinstance(owner, asyncio.Future)
        info = tracer.info(owner) if tracer is not None and is_task else None
        items.append(ReadyItem(describe_handle(handle), info.id if info else None))
    return items, scheduler.ready_count, scheduler.callbacks_run


def describe_handle(handle: Any) -> str:
    """A ready callback as the user would write the call."""
    callback = handle._callback
    args: tuple[Any, ...] = handle._args or ()
    name = getattr(callback, "__name__", "")
    if name.endswith("__notifier_cb_wrapper") and len(args) >= 5:
        # qasync runs I/O callbacks through a wrapper: name what it wraps (and
        # look through the context.run that AnatomyHooks adds).
        inner, inner_args = args[3], args[4]
        if isinstance(getattr(inner, "__self__", None), Context) and inner_args:
            inner = inner_args[0]
        return f"{short_name(describe_callback(inner))}() (fd {args[2]} ready)"
    if name == "_set_result_unless_cancelled":
        return "end a sleep (wakes its task)"
    owner = getattr(callback, "__self__", None)
    text = short_name(describe_callback(callback))
    if owner is not None and text.startswith("step "):
        return text
    return f"{text}({describe_args(args, limit=80, each=48)})"


def _quantile(values: list[float], q: float) -> float:
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]
