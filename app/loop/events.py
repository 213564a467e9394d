"""Events the tracer emits, and the bounded log that carries them to models.

Events are immutable ``NamedTuple`` records rather than frozen dataclasses: they
are just as immutable but about 2.5x cheaper to build, and the tracer builds one
per task step, which is the hottest path in a traced loop.

Every event carries ``t``, the loop-clock time (seconds) at which it happened.
"""

from __future__ import annotations

import itertools
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, NamedTuple

from coroscope.loop.states import Ending, Waiting, Warned

# A source location: (file name, line number, function qualname).
Frame = tuple[str, int, str]


class TaskCreated(NamedTuple):
    t: float
    task: int
    name: str
    parent: int | None
    coro: str
    frames: tuple[Frame, ...]
    run: int | None = None  # the demo/script run it belongs to; None for the app's own


class TaskRenamed(NamedTuple):
    t: float
    task: int
    name: str


class TaskStep(NamedTuple):
    """One resume..suspend slice of a task.

    ``started`` is the loop time the step began; ``t`` the time it ended.
    ``wall`` is real seconds spent in the step (loop time may run at another speed).
    ``waiting`` says what the task is parked on afterwards: ``ready`` (it yielded
    and is already rescheduled), ``sleep``, ``task``, ``future`` or ``done``.
    """

    t: float
    task: int
    started: float
    wall: float
    waiting: Waiting
    awaiting: str
    due: float | None
    frames: tuple[Frame, ...]
    # Ids of the tasks this one now waits for: directly, through gather(),
    # asyncio.wait() or a TaskGroup; what the await graph draws edges to.
    targets: tuple[int, ...] = ()


class TaskEnded(NamedTuple):
    t: float
    task: int
    state: Ending
    result: str | None
    exception: str | None
    traceback: str | None
    # Where a failed task's exception was raised: the innermost line of the
    # program's own code (else of any library) in its traceback.
    file: str = ""
    line: int = 0


class TimerScheduled(NamedTuple):
    t: float
    timer: int
    when: float
    callback: str
    task: int | None  # the task whose step scheduled it, if any
    sleeper: int | None  # the task parked on it, when it is an asyncio.sleep timer
    run: int | None = None  # the demo/script run that scheduled it; None for the app's own
    args: str = ""  # the callback's arguments, briefly (empty for sleeps)


class TimerMoved(NamedTuple):
    t: float
    timer: int
    when: float
    sleeper: int | None = None  # the task an asyncio.sleep() timer wakes


class TimerCancelled(NamedTuple):
    t: float
    timer: int


class TimerFired(NamedTuple):
    t: float
    timer: int
    late: float  # loop seconds between due time and firing


# A step running longer than this (seconds of wall time) is reported as blocking the loop.
DEFAULT_BLOCK_THRESHOLD = 0.100


class LoopBlocked(NamedTuple):
    """A step or callback held the loop ``wall`` seconds; ``file:line`` is where
    the loop thread was seen stuck while it ran (else where the task parked after).

    ``cpu`` is the share of that time the loop thread ran or waited for a CPU,
    from the same samples: near 1 for a busy loop, near 0 for a call that waits
    (``time.sleep``, a blocking socket); -1 when nobody sampled it.
    """

    t: float
    task: int | None
    what: str
    wall: float
    file: str
    line: int
    cpu: float = -1.0
    # Why the hold is not the program's doing, or "": "top level" (a script's
    # top-level code, which under python runs before any loop exists), "import"
    # (a module loading on first use, a one-time cost), "machine busy" (the
    # thread waited for a CPU that other processes held).
    excused: str = ""


class PythonWarned(NamedTuple):
    """Python or asyncio itself reported a mistake in the program.

    ``kind`` is ``never awaited`` (a coroutine object collected unstarted: a
    forgotten ``await``; ``file:line`` is where it was dropped, ``task`` the task
    running then), ``destroyed pending`` (a task collected while still pending:
    nothing held it), or ``never retrieved`` (a failed task collected, or its run
    over, without anyone asking for its exception). ``text`` is Python's words.
    """

    t: float
    kind: Warned
    task: int | None
    file: str
    line: int
    text: str
    what: str = ""  # the coroutine's name, for ``never awaited``


class LeftRunning(NamedTuple):
    """The run's program is over (its main task, or a script's top level, ended)
    and ``tasks`` (ids) were still pending with no cancel asked for: whatever
    runs the program (``asyncio.run``) cancels them now."""

    t: float
    run: int
    tasks: tuple[int, ...]


class LoopStalled(NamedTuple):
    """Nothing of ``run`` can ever happen again: no callback is ready, no timer is
    set, no socket, pipe, thread, child process or signal handler can wake it,
    and ``tasks`` (ids) are still waiting. Emitted once per stall."""

    t: float
    run: int
    tasks: tuple[int, ...]


class IoWatch(NamedTuple):
    """The loop started (``added``) or stopped watching ``fd`` for reading or writing."""

    t: float
    fd: int
    kind: str  # "read" | "write"
    added: bool
    label: str  # what the fd is, e.g. "listening on 127.0.0.1:40521" or "self-pipe"
    channel: int | None  # the transport (IoChannel) behind the fd, if any


class IoChannel(NamedTuple):
    """A transport (a socket connection or a pipe) opened or closed."""

    t: float
    channel: int
    kind: str  # "tcp" | "unix" | "read pipe" | "write pipe"
    label: str
    state: str  # "open" | "closed"
    run: int | None = None


class IoData(NamedTuple):
    """Bytes crossing a transport: received from (``in``) or written to (``out``) it."""

    t: float
    channel: int
    direction: str  # "in" | "out"
    nbytes: int
    preview: str  # the first bytes, escaped, for display


class ExecutorJob(NamedTuple):
    """A call handed to a thread pool with ``run_in_executor``, at each change of state.

    ``submitted`` (queued) -> ``running`` (a worker took it) -> ``done`` or ``failed``
    (the worker finished). ``cancelled``: its awaiter gave up before a worker took it,
    so it never runs. ``abandoned``: its awaiter gave up while it ran; a thread
    cannot be stopped, so the call runs on and still ends with ``done``/``failed``.
    """

    t: float
    job: int
    function: str
    state: str
    thread: str  # the worker thread's name once one took the job (or PROCESS_POOL)
    task: int | None  # the task that submitted it (and, as a rule, awaits it)
    run: int | None = None
    detail: str = ""  # the result or exception, once it ended


# ExecutorJob.thread for a job sent to a ProcessPoolExecutor: no thread of ours runs it.
PROCESS_POOL = "process pool"


class Subprocess(NamedTuple):
    """A child process the loop started (``running``) and its exit (``exited``)."""

    t: float
    proc: int  # Coroscope's id for it (pids get reused)
    pid: int
    command: str
    state: str  # "running" | "exited"
    returncode: int | None  # negative: killed by that signal
    task: int | None  # the task that started it
    run: int | None = None


class Output(NamedTuple):
    t: float
    task: int | None
    text: str
    stream: str  # "stdout" | "stderr" | "loop"


class ClockChanged(NamedTuple):
    t: float
    paused: bool
    speed: float


class SessionEvent(NamedTuple):
    """Start, stop and restart of a demo or script run, for narration and the console."""

    t: float
    kind: str  # "started" | "stopping" | "stopped" | "error"
    text: str


Event = (
    TaskCreated
    | TaskRenamed
    | TaskStep
    | TaskEnded
    | TimerScheduled
    | TimerMoved
    | TimerCancelled
    | TimerFired
    | LoopBlocked
    | IoWatch
    | IoChannel
    | IoData
    | ExecutorJob
    | Subprocess
    | Output
    | ClockChanged
    | SessionEvent
    | PythonWarned
    | LoopStalled
    | LeftRunning
)

Listener = Callable[[Event], None]

# The ring keeps a bare-yield step (``TaskStep`` waiting "ready", by far the
# commonest event) as 32 packed bytes: (t, task, wall, rate), where rate is the
# clock's speed (0 while paused) and the step started at t - wall * rate. Bytes are not
# tracked by the garbage collector; a ring of 100,000 tuples made it run about
# every 700 steps and cost a traced loop nearly as much as the tracing itself.
_READY_STEP = struct.Struct("<dqdd")
_unpack_ready_step = _READY_STEP.unpack
_unpack_task_of_ready_step = struct.Struct("<q").unpack_from  # at offset 8, after t


# Every other event is kept as a plain tuple, (its kind's number, *its fields):
# the garbage collector stops tracking a plain tuple of untracked values after its
# first look, but walks a NamedTuple (a tuple subclass) on every collection for as
# long as the ring holds it.
# Listeners that keep many events do the same: (..., KIND_NUMBERS[type(e)], *e),
# given back by rebuilt(number, fields).
_KINDS: tuple[type[Event], ...] = Event.__args__
KIND_NUMBERS: dict[type, int] = {kind: number for number, kind in enumerate(_KINDS)}
_PREFIXES: dict[type, tuple[int]] = {kind: (number,) for kind, number in KIND_NUMBERS.items()}

# What the ring keeps of an event: packed bytes, a plain tuple (number, *fields), or
# (for a kind of event this module does not define) the event itself, also a tuple.
_Kept = bytes | tuple[Any, ...]


def rebuilt(number: int, fields: Iterable[Any]) -> Event:
    return _KINDS[number]._make(fields)


def packed_step_task(item: bytes) -> int:
    """The task of a bare-yield step kept packed (see ``EventLog.replay``)."""
    return _unpack_task_of_ready_step(item, 8)[0]


def unpacked(item: bytes) -> TaskStep:
    """A bare-yield step kept packed, as the event listeners heard."""
    t, task, wall, rate = _unpack_ready_step(item)
    return TaskStep(t, task, t - wall * rate, wall, "ready", "", None, ())


def _decoded(item: _Kept) -> Event:
    kind = type(item)
    # (mypy does not narrow ``item`` through ``kind``.)
    if kind is bytes:
        return unpacked(item)  # type: ignore[arg-type]
    if kind is tuple:
        return rebuilt(item[0], item[1:])
    return item  # type: ignore[return-value]  # a kind of event this module does not define


class _Hold:
    """``with log.hold:`` queues events for listeners until the outermost hold ends."""

    __slots__ = ("_log",)

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def __enter__(self) -> None:
        self._log._holding += 1

    def __exit__(self, *_exc: object) -> None:
        log = self._log
        try:
            if log._holding == 1 and log._pending:
                log._deliver_pending()
        finally:
            # Even if a listener raised: the rest is delivered at the next release.
            log._holding -= 1


class _Routes(dict):
    """Event type -> the listeners that hear it, in subscription order; each
    type's list is worked out the first time an event of that type comes."""

    def __init__(self, subscriptions: list[tuple[Listener, frozenset[type] | None]]) -> None:
        super().__init__()
        self._subscriptions = subscriptions

    def __missing__(self, kind: type) -> list[Listener]:
        route = self[kind] = [
            listener for listener, kinds in self._subscriptions if kinds is None or kind in kinds
        ]
        return route


class EventLog:
    """A ring buffer of recent events plus listeners.

    Listeners (models) see every event they subscribed to, in order, so their
    state is complete even after the ring has dropped old events; the ring bounds
    memory in long runs. A listener that names the kinds it folds is not called
    for the others: a timer wake-up makes three events, and a call that returns
    at once still costs as much as a small model's work.
    Outside a hold they see each event as it is emitted. The scheduler holds them
    for one batch of due timers and ready callbacks, so the models' work for the
    batch comes after it: two hundred timers due together then all fire on time,
    instead of each waiting for the models to take in the ones before it.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._ring: deque[_Kept] = deque(maxlen=capacity)
        self._append = self._ring.append
        # Also what the tracer asks to know whether anyone listens at all.
        self._subscriptions: list[tuple[Listener, frozenset[type] | None]] = []
        self._routes = _Routes(self._subscriptions)
        self._emitted = 0
        self._cleared_at = 0
        self._holding = 0
        self._pending: list[Event] = []
        self.hold = _Hold(self)
        # For the tracer's inner loop, which appends packed ready steps itself
        # (and queues the TaskStep for listeners: it only runs under a hold).
        self.pack_ready_step = _READY_STEP.pack

    @property
    def capacity(self) -> int:
        return self._ring.maxlen or 0

    def subscribe(
        self, listener: Listener, kinds: Iterable[type] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` with each event (only those of exactly these ``kinds``,
        if given), after the listeners subscribed before it."""
        subscription = (listener, frozenset(kinds) if kinds is not None else None)
        self._subscriptions.append(subscription)
        self._routes.clear()

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
                self._routes.clear()

        return unsubscribe

    @property
    def dropped(self) -> int:
        """Events that fell off the ring (listeners still saw them)."""
        return max(0, self._emitted - self._cleared_at - (self._ring.maxlen or 0))

    def emit(self, event: Event) -> None:
        # Called for most task steps: kept to a count, an append and the listeners.
        self._emitted += 1
        prefix = _PREFIXES.get(type(event))
        self._append(prefix + event if prefix is not None else event)
        if self._subscriptions:
            if self._holding:
                self._pending.append(event)
            elif self._pending:  # left over when a listener raised: this goes after them
                self._pending.append(event)
                self._deliver_pending()
            else:
                for listener in self._routes[type(event)]:
                    listener(event)

    @property
    def delivered(self) -> int:
        """How many events listeners have been handed (all emitted, less those a
        hold still queues): where a listener that stopped listening left off."""
        return self._emitted - len(self._pending)

    def replay(
        self, start: int, stop: int, keep_packed: bool = False
    ) -> tuple[int, list[Event | bytes]]:
        """Events ``start``..``stop - 1`` (numbered from the first emitted) that the
        ring still holds, and how many of those it has already dropped.

        With ``keep_packed``, bare-yield steps come back as the ring keeps them,
        ``bytes`` read with ``packed_step_task`` and ``unpacked``: most of a busy
        run's events, which a reader catching up on thousands need not unpack."""
        first = self._emitted - len(self._ring)  # the number of the ring's oldest
        lost = max(0, min(stop, first) - start)
        start = max(start, first)
        if start >= stop:
            return lost, []
        items = itertools.islice(self._ring, start - first, stop - first)
        return lost, [
            item if keep_packed and type(item) is bytes else _decoded(item) for item in items
        ]

    def _deliver_pending(self) -> None:
        pending = self._pending
        delivered = 0
        try:
            # Events a listener emits meanwhile queue behind the rest (still held).
            while delivered < len(pending):
                event = pending[delivered]
                delivered += 1
                for listener in self._routes[type(event)]:
                    listener(event)
        finally:
            del pending[:delivered]

    def __iter__(self) -> Iterator[Event]:
        return map(_decoded, tuple(self._ring))

    def __len__(self) -> int:
        return len(self._ring)

    def of_type(self, *kinds: type) -> list[Event]:
        if any(issubclass(TaskStep, kind) for kind in kinds):
            return [e for e in self if isinstance(e, kinds)]
        # Only the kinds asked for are rebuilt, and packed steps are skipped.
        numbers = {n for n, kind in enumerate(_KINDS) if issubclass(kind, kinds)}
        found: list[Event] = []
        for item in tuple(self._ring):
            kind = type(item)
            if kind is tuple:
                if item[0] in numbers:
                    found.append(rebuilt(item[0], item[1:]))
            elif kind is not bytes and isinstance(item, kinds):
                found.append(item)  # type: ignore[arg-type]  # an event kept as itself
        return found

    def clear(self) -> None:
        self._ring.clear()
        # Numbers keep rising, so a listener catching up by number sees the gap.
        self._cleared_at = self._emitted


class FoldsByKind:
    """A model that folds events with a handler per kind: ``_handlers`` maps each
    kind it uses to a function of (model, event). Subscribed per kind, it is not
    called at all for the others, and no handler tests which kind it was given."""

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {}

    def listen_to(self, log: EventLog) -> list[Callable[[], None]]:
        """Fold what ``log`` emits; returns the calls that stop it."""
        return [
            log.subscribe(handler.__get__(self), kinds=(kind,))
            for kind, handler in self._handlers.items()
        ]

    def apply(self, event: Event) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, event)
