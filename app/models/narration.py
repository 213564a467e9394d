"""A plain-language line for each thing the loop does, for a teacher to read out.

"task1 awaits sleep(4): parked until t=4.0", "timer fired: task1 is ready",
"task2 was cancelled (CancelledError)". Lines are kept as small records and
turned into sentences only when shown, because the loop can produce tens of
thousands of events a second and only a screenful is ever read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from coroscope.loop.events import (
    KIND_NUMBERS,
    ClockChanged,
    Event,
    EventLog,
    FoldsByKind,
    LoopBlocked,
    SessionEvent,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
    TimerCancelled,
    TimerFired,
    TimerMoved,
    TimerScheduled,
    packed_step_task,
    rebuilt,
    unpacked,
)
from coroscope.loop.introspect import user_frame
from coroscope.models.findings import Finding

_STEP, _FIRED = KIND_NUMBERS[TaskStep], KIND_NUMBERS[TimerFired]
_NOTE = -1  # a record of the narrator's own: (seq, text, None, _NOTE, t)
# A bare-yield step caught up from the ring, (seq, name, None, _PACKED, packed bytes):
# a busy run's events are mostly these, and only the last screenful is ever read.
_PACKED = -2
# A mistake the findings model named, (seq, text, task, _FINDING, t), said as a warning.
_FINDING = -3


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    t: float
    text: str
    kind: str  # "task" | "timer" | "end" | "clock" | "warning" | "session"
    task: int | None = None


def _where(frames) -> str:
    frame = user_frame(frames) if frames else None
    return f" at {frame[0].rsplit('/', 1)[-1]}:{frame[1]}" if frame else ""


class Narrator(FoldsByKind):
    def __init__(self, capacity: int = 2000, runs_only: bool = True) -> None:
        # (seq, name, extra, kind number, *the event's fields): formatted into a Line
        # on demand. A plain tuple, which the garbage collector stops tracking; kept
        # events would make each of its collections walk two thousand of them.
        self._records: deque[tuple] = deque(maxlen=capacity)
        self._names: dict[int, str] = {}
        self._sleepers: dict[int, int] = {}  # timer id -> task id
        self._callbacks: dict[int, str] = {}  # timer id -> callback label
        self._runs_only = runs_only
        self._seq = 0
        # The loop time lines count from: when the run began.
        self.origin = 0.0
        self._log: EventLog | None = None
        self._unsubscribes: list[Callable[[], None]] = []
        # While nobody reads the lines (the panel is hidden), the log's events are
        # left in its ring, and this is how many it had delivered when that began.
        self._resting_from: int | None = None
        # Names of the tasks a run has (task id -> name), for catching up after the
        # ring dropped the events that created them; the controller provides it.
        self.known_names: Callable[[], dict[int, str]] | None = None
        self._shown: dict[int, Line] = {}  # seq -> its line, formatted when last asked

    def listen_to(self, log: EventLog) -> list[Callable[[], None]]:
        self._log = log  # kept: resting and waking unsubscribe and subscribe again
        self._unsubscribes = super().listen_to(log)
        return self._unsubscribes

    # -- resting while nobody reads ------------------------------------------------
    # A timer wake-up costs this model about a fifteenth of the loop's whole work
    # for it; with the Narration panel hidden nobody reads the lines, so it stops
    # listening and reads what it missed from the log's ring when next asked.
    @property
    def resting(self) -> bool:
        return self._resting_from is not None

    def rest(self) -> None:
        """Stop folding events as they come; the next read catches up."""
        if self._log is None or self._resting_from is not None:
            return
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes = []
        self._resting_from = self._log.delivered

    def wake(self) -> None:
        """Catch up and fold events as they come again."""
        log = self._log
        if self._resting_from is None or log is None:
            return
        self._catch_up()
        self._resting_from = None
        self.listen_to(log)

    def _catch_up(self) -> None:
        log = self._log
        if self._resting_from is None or log is None:
            return
        end = log.delivered
        lost, events = log.replay(self._resting_from, end, keep_packed=True)
        self._resting_from = end
        if lost:
            if self.known_names is not None:
                for task, name in self.known_names().items():
                    self._names.setdefault(task, name)
            self._seq += 1
            events_text = "1 event" if lost == 1 else f"{lost:,} events"
            text = f"… {events_text} went by unnarrated (the Narration panel was hidden)"
            t = 0.0
            if events:
                first = events[0]
                t = unpacked(first).t if isinstance(first, bytes) else first.t
            note = (self._seq, text, None, _NOTE, t)
            self._records.append(note)
        names, records = self._names, self._records
        for event in events:
            if isinstance(event, bytes):  # what _step keeps for a bare yield, unpacked when shown
                stepped = names.get(packed_step_task(event))
                if stepped is not None:
                    self._seq += 1
                    records.append((self._seq, stepped, None, _PACKED, event))
            else:
                self.apply(event)
        if lost and self._records[0] is not note:
            # More lines followed than are kept: the note stays on top, before them.
            self._records.popleft()
            self._records.appendleft(note)

    # A timer wake-up brings a TimerScheduled, a TimerFired and a TaskStep, so
    # those three are kept to a few lookups and one record each: this model
    # folds every one of them while the loop waits, even with its panel hidden.
    # A record is a head tuple plus the event: about 800 instructions fewer than
    # unpacking the event into a new tuple (valgrind).
    def _session(self, event: SessionEvent) -> None:
        if event.kind == "started":
            self.origin = event.t  # lines count from the start of the run
        self._keep(event)

    def _keep(self, event: Event, name: str | None = None, extra: object = None) -> None:
        self._seq += 1
        head = (self._seq, name, extra, KIND_NUMBERS[type(event)])
        self._records.append(head + event)

    def _step(self, event: TaskStep) -> None:
        name = self._names.get(event.task)
        if name is not None and event.waiting != "done":
            targets = event.targets
            named: tuple[str, ...] = ()
            if targets:
                names = self._names
                named = tuple(names[t] for t in targets if t in names)
            self._seq += 1
            head = (self._seq, name, named or None, _STEP)
            self._records.append(head + event)

    def _fired(self, event: TimerFired) -> None:
        sleeper = self._sleepers.pop(event.timer, None)
        if sleeper is not None:
            name = self._names.get(sleeper)
            if name is not None:
                self._seq += 1
                head = (self._seq, name, sleeper, _FIRED)
                self._records.append(head + event)
                return
        if event.timer in self._callbacks:
            self._keep(event, self._callbacks.pop(event.timer))

    def _scheduled(self, event: TimerScheduled) -> None:
        sleeper = event.sleeper
        if sleeper is not None and sleeper in self._names:
            self._sleepers[event.timer] = sleeper
        elif event.task in self._names:
            self._callbacks[event.timer] = event.callback
            self._keep(event, self._names[event.task])

    def _created(self, event: TaskCreated) -> None:
        if self._runs_only and event.run is None:
            return
        names = self._names
        names[event.task] = event.name
        parent = names.get(event.parent) if event.parent is not None else None
        self._keep(event, event.name, parent or "the loop")

    def _ended(self, event: TaskEnded) -> None:
        name = self._names.pop(event.task, None)
        if name is not None:
            self._keep(event, name)

    def _renamed(self, event: TaskRenamed) -> None:
        if event.task in self._names:
            self._names[event.task] = event.name

    def _moved(self, event: TimerMoved) -> None:
        sleeper = event.sleeper
        if sleeper is not None and sleeper in self._names:
            self._keep(event, self._names[sleeper], sleeper)

    def _cancelled(self, event: TimerCancelled) -> None:
        # Forgotten, or a long run would keep them all.
        self._sleepers.pop(event.timer, None)
        self._callbacks.pop(event.timer, None)

    _handlers = {
        TaskCreated: _created,
        TaskStep: _step,
        TaskEnded: _ended,
        TaskRenamed: _renamed,
        TimerScheduled: _scheduled,
        TimerFired: _fired,
        TimerMoved: _moved,
        TimerCancelled: _cancelled,
        LoopBlocked: _keep,
        ClockChanged: _keep,
        SessionEvent: _session,
    }

    def _line(self, record: tuple) -> Line:
        """A record as it reads, its times counted from the start of the run."""
        seq, name, extra, number = record[:4]
        origin = self.origin
        if number == _NOTE:
            return Line(seq, record[4] - origin, name, "session")
        if number == _FINDING:
            return Line(seq, record[4] - origin, name, "warning", extra)
        event = unpacked(record[4]) if number == _PACKED else rebuilt(number, record[4:])
        line = _SAYINGS.get(type(event), _say_session)(seq, name, extra, event, origin)
        return replace(line, t=line.t - origin)

    def say_finding(self, finding: Finding) -> None:
        """Say a mistake the findings model named, in a line of the narration's own."""
        self._seq += 1
        self._records.append((self._seq, _finding_text(finding), finding.task, _FINDING, finding.t))

    def __len__(self) -> int:
        self._catch_up()
        return len(self._records)

    def lines(self, start: int = 0, stop: int | None = None) -> list[Line]:
        """Lines ``start``..``stop`` of those held (only these are formatted)."""
        self._catch_up()
        records = self._records
        start, stop, _ = slice(start, stop).indices(len(records))
        # A panel asks for the same screenful on every frame: indexing a deque near
        # its end is quick, and a line already formatted is kept until it scrolls off.
        shown = self._shown
        lines = []
        for i in range(start, stop):
            record = records[i]
            line = shown.get(record[0])
            if line is None:
                line = shown[record[0]] = self._line(record)
            lines.append(line)
        if len(shown) > 4 * max(1, stop - start):
            keep = {line.seq for line in lines}
            for seq in [seq for seq in shown if seq not in keep]:
                del shown[seq]
        return lines

    def texts(self) -> list[str]:
        return [line.text for line in self.lines()]

    @property
    def last_seq(self) -> int:
        """The newest line's number: it changes whenever the lines do (a clear
        moves it on too)."""
        self._catch_up()
        return self._seq

    version = last_seq  # what a view compares to know it must repaint

    def clear(self) -> None:
        self._records.clear()
        self._names.clear()
        self._sleepers.clear()
        self._callbacks.clear()
        self._shown.clear()
        self._seq += 1
        if self._resting_from is not None and self._log is not None:
            self._resting_from = self._log.delivered  # what came before the clear is forgotten


# How each kind of kept record reads: (seq, task name or label, extra, event) -> Line.
def _say_step(
    seq: int, name: str, targets: tuple[str, ...] | None, event: TaskStep, origin: float
) -> Line:
    where = _where(event.frames)
    if event.waiting == "sleep" and event.due is not None:
        text = f"{name} awaits {event.awaiting}{where}: parked until t={event.due - origin:.2f}"
    elif event.waiting == "ready":
        text = f"{name} yielded to the loop{where}: ready to run again"
    elif event.waiting == "task":
        text = f"{name} awaits task {event.awaiting}{where}"
    else:
        on = f" on {', '.join(targets)}" if targets else ""
        text = f"{name} awaits {event.awaiting}{on}{where}"
    return Line(seq, event.t, text, "task", event.task)


def _say_created(seq: int, name: str, parent: str, event: TaskCreated, origin: float) -> Line:
    text = f"{parent} created {name} ({event.coro}): ready to start"
    return Line(seq, event.t, text, "task", event.task)


def _say_ended(seq: int, name: str, _extra: None, event: TaskEnded, origin: float) -> Line:
    if event.state == "done":
        text = f"{name} finished and returned {event.result}"
    elif event.state == "cancelled":
        text = f"{name} was cancelled (CancelledError)"
    else:
        text = f"{name} failed: {event.exception}"
    return Line(seq, event.t, text, "end", event.task)


def _say_fired(seq: int, name: str, sleeper: int | None, event: TimerFired, origin: float) -> Line:
    if sleeper is not None:
        return Line(seq, event.t, f"timer fired: {name} is ready", "timer", sleeper)
    return Line(seq, event.t, f"timer fired: {name} runs next", "timer")


def _say_scheduled(seq: int, name: str, _extra: None, event: TimerScheduled, origin: float) -> Line:
    text = f"{name} scheduled {event.callback} for t={event.when - origin:.2f}"
    return Line(seq, event.t, text, "timer")


def _say_moved(seq: int, name: str, sleeper: int, event: TimerMoved, origin: float) -> Line:
    text = f"{name}'s timer moved: now due at t={event.when - origin:.2f}"
    return Line(seq, event.t, text, "timer", sleeper)


def _say_blocked(seq: int, _name: None, _extra: None, event: LoopBlocked, origin: float) -> Line:
    where = f" at {event.file.rsplit('/', 1)[-1]}:{event.line}" if event.line else ""
    text = f"⚠ {event.what} held the loop for {event.wall * 1000:.0f} ms{where}"
    return Line(seq, event.t, text, "warning", event.task)


def _finding_text(finding: Finding) -> str:
    who = finding.task_name or "a callback"
    at = f" at {finding.where()}" if finding.where() else ""
    sayings = {
        "never awaited": f"{finding.subject or 'a coroutine'} was called{at} but never awaited",
        "never retrieved": f"{who} failed{at} and nobody will ever ask for its exception",
        "deadlock": f"deadlock{at}: {finding.subject} can never be woken",
        "task dropped": f"{who} was thrown away while still waiting{at}: nothing kept it",
        "left pending": f"main returned while {who} was still waiting{at}; it gets cancelled",
        "not awaitable": f"{who} tried to await something that is not awaitable{at}",
        "other loop": f"{who} awaited a future of another event loop{at}",
        "busy loop": f"{who} kept the loop busy{at} and never reached an await",
        "blocking call": f"{who} blocked the loop{at}",
    }
    return "⚠ " + sayings.get(finding.kind, finding.message)


def _say_clock(seq: int, _name: None, _extra: None, event: ClockChanged, origin: float) -> Line:
    if event.paused:
        text = f"loop paused at t={event.t - origin:.2f}"
    else:
        text = f"loop running at {event.speed:g}x speed"
    return Line(seq, event.t, text, "clock")


def _say_session(seq: int, _name: None, _extra: None, event: SessionEvent, origin: float) -> Line:
    return Line(seq, event.t, event.text, "session")


_SAYINGS: dict[type, Callable[..., Line]] = {
    TaskStep: _say_step,
    TaskCreated: _say_created,
    TaskEnded: _say_ended,
    TimerFired: _say_fired,
    TimerScheduled: _say_scheduled,
    TimerMoved: _say_moved,
    LoopBlocked: _say_blocked,
    ClockChanged: _say_clock,
    SessionEvent: _say_session,
}
