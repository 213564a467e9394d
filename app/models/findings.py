"""The classic asyncio mistakes, named with their line as they happen.

A ``FindingsModel`` folds the loop's events into ``Finding``s: a kind, the task,
file:line, the loop time, and one plain sentence saying what went wrong and what
to write instead. It only reads events, so a finding never changes what the
program does; the loop and Python supply the facts:

* ``LoopBlocked``: a step held the loop. The watchdog's CPU share tells a
  call that waits (``time.sleep``: "blocking call") from a loop that never
  reaches an ``await`` ("busy loop"); the line is where the thread was stuck.
* ``PythonWarned``: Python's own "never awaited", and asyncio's "Task was
  destroyed but it is pending!" and "Task exception was never retrieved".
* ``LoopStalled``: nothing can wake the run's waiting tasks again. The model
  names the cycle of tasks awaiting each other from their last steps, or the
  waits nobody can resolve.
* ``TaskEnded``: awaiting something that is not awaitable, or a future of
  another loop.
* ``LeftRunning``: the program is over while tasks it started still wait and
  nothing awaits them (``asyncio.run`` is about to cancel them).

Each mistake is one entry, however often it recurs (a ``time.sleep`` in a loop
counts up ``count``), and ``version`` rises with every change for the views.
"""

from __future__ import annotations

import linecache
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import ClassVar, Literal

from coroscope.loop.events import (
    FoldsByKind,
    LeftRunning,
    LoopBlocked,
    LoopStalled,
    PythonWarned,
    SessionEvent,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
)
from coroscope.loop.introspect import short_name, user_frame

FindingKind = Literal[
    "blocking call",
    "busy loop",
    "never awaited",
    "never retrieved",
    "deadlock",
    "task dropped",
    "left pending",
    "not awaitable",
    "other loop",
]

# A bare-yield step (a ``TaskStep`` waiting "ready", most of a busy run's steps)
# as models that take them in bulk do (``ready_steps``): (t, task, wall, rate),
# packed the way the event ring keeps it; it is
# ``TaskStep(t, task, t - wall * rate, wall, "ready", "", None, ())``. The script
# host's protocol.ReadyStep is the same.
ReadyStep = tuple[float, int, float, float]

# A step that computed at least this share of its time was a busy loop, not a wait.
BUSY_SHARE = 0.6

TITLES: dict[FindingKind, str] = {
    "blocking call": "Blocking call",
    "busy loop": "Never yields",
    "never awaited": "Never awaited",
    "never retrieved": "Task exception was never retrieved",
    "deadlock": "Deadlock",
    "task dropped": "Task was destroyed but it is pending",
    "left pending": "Left pending",
    "not awaitable": "Not awaitable",
    "other loop": "Another loop's future",
}


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    task: int | None
    task_name: str  # "" when no task was running (a plain callback, the top level)
    file: str
    line: int
    t: float  # loop time it was first seen
    message: str  # one sentence: what went wrong and what to write instead
    tasks: tuple[int, ...] = ()  # every task involved (a deadlock's cycle)
    count: int = 1  # how many times it happened
    subject: str = ""  # what it is about, briefly: "save()", "first and second"
    origin: float = 0.0  # the loop time its run began

    @property
    def run_time(self) -> float:
        """When it was first seen, in seconds since the run began."""
        return self.t - self.origin

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def where(self) -> str:
        """``name.py:12``, or "" when no line is known."""
        return f"{os.path.basename(self.file)}:{self.line}" if self.file and self.line else ""

    def one_line(self) -> str:
        """For the command line: ``name.py:12: Blocking call: sentence``."""
        where = self.where()
        return f"{where + ': ' if where else ''}{self.title}: {self.message}"

    def as_json(self, origin: float = 0.0) -> dict:
        return {
            "kind": self.kind,
            "task": self.task_name or None,
            "line": self.where() or None,
            "time": round(max(0.0, self.t - origin), 6),
            "message": self.message,
            "count": self.count,
        }


class _Task:
    __slots__ = (
        "awaiting",
        "coro",
        "ended",
        "frames",
        "id",
        "name",
        "parent",
        "run",
        "targets",
        "waiting",
    )

    def __init__(self, event: TaskCreated) -> None:
        self.id = event.task
        self.coro = short_name(event.coro)
        self.name = _label(event.name, self.coro)
        self.parent = event.parent
        self.run = event.run
        self.waiting = "ready"
        self.awaiting = ""
        self.targets: tuple[int, ...] = ()
        self.frames: tuple = event.frames
        self.ended = False


_DEFAULT_NAME = re.compile(r"Task-\d+")


def _label(name: str, coro: str) -> str:
    """A task as a sentence names it: asyncio's "Task-3" says less than its coroutine."""
    return f"{coro} ({name})" if _DEFAULT_NAME.fullmatch(name) and coro else name


def _source(file: str, line: int) -> str:
    return linecache.getline(file, line).strip() if file and line else ""


def _list(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class FindingsModel(FoldsByKind):
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.version = 0
        self.origin = 0.0  # loop time when the run began
        self._keys: dict[tuple, int] = {}  # a finding's identity -> its index
        self._tasks: dict[int, _Task] = {}
        # Called with each new finding (not with a repeat): the window pauses on a
        # deadlock, the command line stops the trace.
        self.on_finding: list[Callable[[Finding], None]] = []

    def clear(self) -> None:
        self.findings.clear()
        self._keys.clear()
        self._tasks.clear()
        self.version += 1

    def for_task(self, task_id: int) -> list[Finding]:
        return [f for f in self.findings if f.task == task_id or task_id in f.tasks]

    def _name(self, task_id: int | None) -> str:
        task = self._tasks.get(task_id) if task_id is not None else None
        return task.name if task is not None else ""

    def _add(self, key: tuple, finding: Finding) -> None:
        index = self._keys.get(key)
        if index is not None:
            old = self.findings[index]
            self.findings[index] = replace(old, count=old.count + 1)
            self.version += 1
            return
        self._keys[key] = len(self.findings)
        finding = replace(finding, origin=self.origin)
        self.findings.append(finding)
        self.version += 1
        for listener in list(self.on_finding):
            listener(finding)

    # -- tasks --------------------------------------------------------------------
    def _created(self, event: TaskCreated) -> None:
        if event.run is None:
            return  # the app's own helper tasks
        self._tasks[event.task] = _Task(event)

    def _renamed(self, event: TaskRenamed) -> None:
        task = self._tasks.get(event.task)
        if task is not None:
            task.name = _label(event.name, task.coro)

    def _step(self, event: TaskStep) -> None:
        task = self._tasks.get(event.task)
        if task is not None:
            task.waiting = event.waiting
            task.awaiting = event.awaiting
            task.targets = event.targets
            if event.frames:
                task.frames = event.frames

    def ready_steps(self, steps: Iterable[ReadyStep]) -> None:
        """Bare-yield steps in bulk: the same as each one's ``TaskStep``."""
        tasks = self._tasks
        for task_id in set(map(itemgetter(1), steps)):  # each of a task's says the same
            task = tasks.get(task_id)
            if task is not None:
                task.waiting = "ready"
                task.awaiting = ""
                task.targets = ()

    def _ended(self, event: TaskEnded) -> None:
        task = self._tasks.get(event.task)
        if task is None:
            return
        task.ended = True
        if event.state == "failed" and event.exception:
            self._failed(task, event)

    def _failed(self, task: _Task, event: TaskEnded) -> None:
        text = event.exception or ""
        if "can't be used in 'await' expression" in text or "can't be awaited" in text:
            what = text.split("object ", 1)[-1].split(" can't", 1)[0]
            hint = (
                "call it first: await f(), not await f"
                if what in ("function", "method", "builtin_function_or_method")
                else "await a coroutine (an async def call), a Task or a Future"
            )
            message = f"{task.name} awaited a {what}, which cannot be awaited; {hint}."
            kind: FindingKind = "not awaitable"
        elif "attached to a different loop" in text or "bound to a different event loop" in text:
            message = (
                f"{task.name} awaited something made for a different event loop; create "
                "futures, tasks, locks and queues inside the running loop "
                "(in async code), not before asyncio.run()."
            )
            kind = "other loop"
        else:
            return
        finding = Finding(kind, task.id, task.name, event.file, event.line, event.t, message)
        self._add((kind, event.file, event.line), finding)

    def _left(self, event: LeftRunning) -> None:
        """Tasks the program started and never awaited, about to be cancelled. Tasks
        no task started (a server's connection handlers) are the library's own."""
        live = [self._tasks[i] for i in event.tasks if i in self._tasks]
        awaited = {target for x in live for target in x.targets}
        t = event.t
        for task in live:
            if task.id in awaited or task.parent is None:
                continue
            frame = user_frame(task.frames) if task.frames else None
            file, line = (frame[0], frame[1]) if frame else ("", 0)
            message = (
                f"{task.name} was still {_doing(task)} when main returned and nothing awaited "
                "it, so asyncio.run() cancels it there; await it before main returns, "
                "or cancel it on purpose."
            )
            self._add(
                ("left pending", task.id),
                Finding("left pending", task.id, task.name, file, line, t, message),
            )

    # -- what the loop and Python report ---------------------------------------
    def _blocked(self, event: LoopBlocked) -> None:
        if event.task is not None and event.task not in self._tasks:
            return  # a step of the app's own, not of the program
        if event.excused:
            return  # its top level, an import, or a crowded machine: nothing to fix
        who = self._name(event.task) or event.what
        busy = event.cpu >= BUSY_SHARE
        code = _source(event.file, event.line)
        if busy:
            kind: FindingKind = "busy loop"
            message = (
                f"{who} computed for {event.wall:.1f} s without reaching an await, so no "
                "other task could run; add await asyncio.sleep(0) inside the loop, or move "
                "the work to a thread with await asyncio.to_thread(...)."
            )
        elif event.cpu < 0:  # nobody saw what the step was doing
            kind = "blocking call"
            message = (
                f"{who} held the loop for {event.wall:.1f} s, so nothing else could run "
                "meanwhile; await anything slow, or run it with await asyncio.to_thread(...)."
            )
        else:
            kind = "blocking call"
            if "time.sleep" in code:
                fix = "write await asyncio.sleep(...) instead of time.sleep(...)"
            else:
                fix = (
                    "await an asyncio version of the call, or run it with "
                    "await asyncio.to_thread(...)"
                )
            message = (
                f"{who} waited {event.wall:.1f} s in a call that blocks the whole loop, so "
                f"nothing else could run meanwhile; {fix}."
            )
        finding = Finding(
            kind, event.task, self._name(event.task), event.file, event.line, event.t, message
        )
        self._add((kind, event.file, event.line, who), finding)

    def _warned(self, event: PythonWarned) -> None:
        name = self._name(event.task)
        if event.kind == "never awaited":
            what = event.what or "a coroutine"
            message = (
                f"{what}() was called but never awaited, so its code never ran; put await "
                f"in front of it, or pass it to asyncio.create_task() to run it alongside."
            )
            finding = Finding(
                "never awaited",
                event.task,
                name,
                event.file,
                event.line,
                event.t,
                message,
                subject=f"{what}()",
            )
            self._add(("never awaited", event.file, event.line, what), finding)
        elif event.kind == "destroyed pending":
            file, line = event.file, event.line
            task = self._tasks.get(event.task) if event.task is not None else None
            if task is not None:
                task.ended = True  # collected: it will never end on its own
                frame = user_frame(task.frames) if not line and task.frames else None
                if frame is not None:  # its coroutine was closed first: use its last step
                    file, line = frame[0], frame[1]
            message = (
                f"nothing kept a reference to {name}, so Python collected it while it "
                "waited; keep the task that asyncio.create_task() returns (in a variable "
                "or a set) until it is done."
            )
            finding = Finding("task dropped", event.task, name, file, line, event.t, message)
            self._add(("task dropped", event.task), finding)
        else:
            message = (
                f"{name} failed and nothing awaited it or asked for its result; await the "
                "task (or gather it) so its error is seen and handled."
            )
            finding = Finding(
                "never retrieved", event.task, name, event.file, event.line, event.t, message
            )
            self._add(("never retrieved", event.task), finding)

    def _stalled(self, event: LoopStalled) -> None:
        stuck = [self._tasks[i] for i in event.tasks if i in self._tasks]
        if not stuck:
            return
        cycle = _cycle(stuck, self._tasks)
        if cycle:
            names = [x.name for x in cycle]
            if len(cycle) == 1:
                relation = f"{names[0]} awaits itself"
            else:
                pairs = [
                    f"{a} awaits {b}" for a, b in zip(names, names[1:] + names[:1], strict=True)
                ]
                relation = _list(pairs)
            message = (
                f"{relation}, so none of them can ever finish; one of them must not wait "
                "for the other."
            )
            first = cycle[0]
        else:
            # The tasks at the bottom: waiting on something that is not a task.
            leaves = [x for x in stuck if not x.targets] or stuck
            first = leaves[0]
            waits = sorted({x.awaiting or x.waiting for x in leaves})
            names = [x.name for x in leaves]
            verb = "waits" if len(names) == 1 else "wait"
            message = (
                f"{_list(names)} {verb} for {_list(waits)} and nothing left in the program "
                "could ever resolve it; set the result (or the event) from a task that is "
                "still running, or do not wait for it."
            )
            cycle = stuck
        frame = user_frame(first.frames) if first.frames else None
        file, line = (frame[0], frame[1]) if frame else ("", 0)
        ids = tuple(x.id for x in cycle)
        subject = _list([x.name for x in cycle])
        finding = Finding(
            "deadlock", first.id, first.name, file, line, event.t, message, ids, subject=subject
        )
        self._add(("deadlock", tuple(sorted(event.tasks))), finding)

    def _session(self, event: SessionEvent) -> None:
        if event.kind == "started":
            self.clear()
            self.origin = event.t  # what the findings' times count from

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {
        TaskCreated: _created,
        TaskRenamed: _renamed,
        TaskStep: _step,
        TaskEnded: _ended,
        LoopBlocked: _blocked,
        PythonWarned: _warned,
        LoopStalled: _stalled,
        SessionEvent: _session,
        LeftRunning: _left,
    }


def _doing(task: _Task) -> str:
    if task.waiting == "sleep":
        return "sleeping"
    if task.waiting in ("task", "future"):
        return f"waiting for {task.awaiting or task.waiting}"
    return "running"


def _cycle(stuck: list[_Task], tasks: dict[int, _Task]) -> list[_Task]:
    """A cycle of tasks awaiting each other among ``stuck``, outermost first, or []."""
    ids = {x.id for x in stuck}
    for start in stuck:
        path: list[int] = []
        seen: set[int] = set()
        current: int | None = start.id
        while current is not None and current in ids and current not in seen:
            seen.add(current)
            path.append(current)
            targets = [t for t in tasks[current].targets if t in ids]
            current = targets[0] if targets else None
        if current is not None and current in seen:
            loop = path[path.index(current) :]
            return [tasks[i] for i in loop]
    return []
