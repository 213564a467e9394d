"""The headless trace file: Chrome Trace Event JSON plus a task and blocking summary.

The format is a public interface (see docs/TRACE_FORMAT.md):

* ``traceEvents``: every task is a thread of process 1 (``M`` ``thread_name``), each
  step (one resume..suspend slice) an ``X`` slice in category ``step``, and the
  task's end an ``i`` instant named after its state. The time a task spends parked
  between steps is a ``B``/``E`` pair in category ``wait`` named after what it
  awaited (``sleep(4)``, ``gather(3)``), so Perfetto shows a countdown as lanes
  rather than as invisible microsecond slivers; consumers that count steps can
  count ``X`` events.
* ``tasks``: one summary per task; ``blocking``: every step that held the loop
  longer than the tracer's threshold.

Times in the summary are seconds on the loop clock from the start of the run;
``ts``/``dur`` in ``traceEvents`` are the same times in microseconds.

``TraceCollector`` listens to the event log and keeps everything a trace needs
(the log itself is a bounded ring, so it cannot be read back at the end).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from coroscope.about import __version__
from coroscope.loop.events import (
    FoldsByKind,
    Frame,
    LoopBlocked,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
)
from coroscope.loop.introspect import user_frame
from coroscope.loop.states import TraceState
from coroscope.models.findings import Finding, ReadyStep

PID = 1
# A busy session (1,000 tasks stepping for minutes) would otherwise grow without
# bound; past this many steps the summary stays exact but slices are dropped.
MAX_STEPS = 1_000_000
# The same for a run that churns short tasks for a long time.
MAX_TASKS = 100_000
# What a step can be parked on afterwards that gets its own wait slice.
_WAITS = frozenset(("sleep", "task", "future"))


@dataclass(slots=True)
class _Task:
    id: int
    name: str
    parent: int | None
    created: float
    coro: str = ""
    state: TraceState = "pending"
    finished: float | None = None
    resumes: int = 0
    result: str | None = None
    exception: str | None = None


@contextlib.contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """The cyclic garbage collector rests inside, and is turned back on after
    only if it was on; with ``freeze``, what is alive then is first moved out of
    its sight (kept to the end anyway, it would only be walked again)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()


class TraceCollector(FoldsByKind):
    """Keeps one run's tasks, steps and blocking calls (``listen_to`` an ``EventLog``).

    ``reset(origin, run)`` starts a new trace: times become relative to
    ``origin`` and, when ``run`` is given, only that run's tasks are kept (the
    app's own helper tasks, such as the one that stops a run, belong to no run).
    """

    def __init__(self, max_steps: int = MAX_STEPS, max_tasks: int = MAX_TASKS) -> None:
        self.max_steps = max_steps
        self.max_tasks = max_tasks
        self.reset()

    def reset(self, origin: float = 0.0, run: int | None = None) -> None:
        self.origin = origin
        self.run = run
        self._tasks: dict[int, _Task] = {}
        # Each step as a plain tuple of its fields: the garbage collector stops
        # tracking those after its first look, where it would walk a million kept
        # TaskSteps (a tuple subclass) on every full collection. A bare-yield step
        # taken in bulk (``ready_steps``) is kept as it came, a ``ReadyStep``.
        self._steps: list[tuple] = []
        self._blocks: list[tuple[str, float, float, str | None]] = []
        # A LoopBlocked follows right after the step it is about, so the last
        # step's start is all that is needed (a dict per task would grow forever).
        self._last_step: TaskStep | None = None
        self.dropped_steps = 0
        self.dropped_tasks = 0
        self.last_time = origin
        self._ahead_on = True
        self._forget_ahead()

    def _forget_ahead(self) -> None:
        # The step part of the document made ahead of ``build`` (``build_ahead``):
        # the events of the first ``_ahead_steps`` steps, for this origin, and the
        # wait slices still open after them (task id -> what it awaits).
        self._ahead: list[dict] = []
        self._ahead_steps = 0
        self._ahead_waits: dict[int, str] = {}
        self._ahead_origin = self.origin
        # The first ``_encoded`` of those events as JSON text (``encode_ahead``),
        # comma-joined chunks the trace file can write as they are.
        self._encoded_chunks: list[str] = []
        self._encoded = 0

    def _step(self, event: TaskStep) -> None:
        task = self._tasks.get(event.task)
        if task is None:
            return
        task.resumes += 1
        self._last_step = event
        if len(self._steps) < self.max_steps:
            self._steps.append(tuple(event))
        else:
            self.dropped_steps += 1
        if event.t > self.last_time:
            self.last_time = event.t

    def ready_steps(self, steps: Iterable[ReadyStep]) -> None:
        """Bare-yield steps in bulk: the same as each one's ``TaskStep`` through
        ``_step``, and the same file (``ScriptChild.on_ready_steps``)."""
        tasks = self._tasks
        kept = self._steps
        room = self.max_steps - len(kept)
        latest = self.last_time
        last = None
        for step in steps:
            task = tasks.get(step[1])
            if task is None:
                continue
            task.resumes += 1
            last = step
            if room > 0:
                kept.append(step)
                room -= 1
            else:
                self.dropped_steps += 1
            if step[0] > latest:
                latest = step[0]
        self.last_time = latest
        if last is not None:
            t, task_id, wall, rate = last
            self._last_step = TaskStep(t, task_id, t - wall * rate, wall, "ready", "", None, ())

    def _created(self, event: TaskCreated) -> None:
        if self.run is not None and event.run != self.run:
            return
        if len(self._tasks) >= self.max_tasks:
            self.dropped_tasks += 1
            return
        self._tasks[event.task] = _Task(event.task, event.name, event.parent, event.t, event.coro)
        if event.t > self.last_time:
            self.last_time = event.t

    def _ended(self, event: TaskEnded) -> None:
        task = self._tasks.get(event.task)
        if task is None:
            return
        task.state = event.state
        task.finished = event.t
        task.result = event.result
        task.exception = event.exception
        if event.t > self.last_time:
            self.last_time = event.t

    def _renamed(self, event: TaskRenamed) -> None:
        task = self._tasks.get(event.task)
        if task is not None:
            task.name = event.name
            if task.resumes and self._ahead_steps:
                # Its steps made ahead bear its old name: they are made again, at
                # the end (a program that renames running tasks may do so often).
                self._ahead_on = False
                self._forget_ahead()
        if event.t > self.last_time:
            self.last_time = event.t

    def _blocked(self, event: LoopBlocked) -> None:
        if event.t > self.last_time:
            self.last_time = event.t
        if event.task is not None:
            task = self._tasks.get(event.task)
            if task is None:
                return
            last = self._last_step
            if last is not None and last.task == event.task:
                start = last.started
            else:
                start = event.t - event.wall
        else:
            start = event.t - event.wall
        where = f"{os.path.basename(event.file)}:{event.line}" if event.line else None
        self._blocks.append((event.what, start, event.wall, where))

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {
        TaskStep: _step,
        TaskCreated: _created,
        TaskEnded: _ended,
        TaskRenamed: _renamed,
        LoopBlocked: _blocked,
    }

    @property
    def task_count(self) -> int:
        return len(self._tasks)

    # -- building the file ------------------------------------------------------
    def _rel(self, t: float) -> float:
        # Tasks created in the instant before the run's start note clamp to 0.
        return max(0.0, round(t - self.origin, 6))

    def _us(self, t: float) -> float:
        return round(max(0.0, t - self.origin) * 1e6, 3)

    def build(
        self,
        end: float | None = None,
        metadata: dict[str, Any] | None = None,
        findings: Iterable[Finding] = (),
    ) -> dict:
        """The trace document. ``end`` (loop time) closes the waits of unfinished tasks;
        ``findings`` (of this run) become its ``problems``."""
        # The document is three new dicts or so a step, all of them kept: the cyclic
        # garbage collector can free none of them, yet the collections that so many
        # allocations set off took about 40% of building one of 100,000 steps. It is
        # paused meanwhile.
        with gc_paused():
            try:
                return self._build(end, metadata, findings)
            finally:
                # The document has them now: another build makes its own.
                self._forget_ahead()

    def build_ahead(self, most: int | None = None) -> None:
        """Make the document's events for the steps taken so far (at most ``most``
        more of them) now, so that ``build`` has that much less left to do: for a
        watcher with time to spare while the run goes on (``coroscope trace``,
        whose script runs in another process). ``build`` gives the same document
        either way (made for another origin, or before a task that had stepped was
        renamed, they are made again)."""
        if not self._ahead_on:
            return
        stop = len(self._steps)
        if most is not None:
            stop = min(stop, self._ahead_steps + most)
        if stop <= self._ahead_steps:
            return
        with gc_paused():  # as in build
            self._build_steps(stop)

    def encode_ahead(self, at_least: int = 1) -> None:
        """Turn the events made ahead (``build_ahead``) into JSON text now, while the
        run goes on, so writing the file after it has that much less to encode
        (once ``at_least`` new ones wait: a chunk is one ``json.dumps``)."""
        events = self._ahead
        if len(events) - self._encoded >= max(1, at_least):
            chunk = json.dumps(events[self._encoded :], separators=(",", ":"))[1:-1]
            self._encoded_chunks.append(chunk)
            self._encoded = len(events)

    def _build(
        self, end: float | None, metadata: dict[str, Any] | None, findings: Iterable[Finding]
    ) -> dict:
        end = self.last_time if end is None else max(end, self.last_time)
        title = (metadata or {}).get("target")
        events: list[dict] = [
            _meta("process_name", 0, {"name": f"coroscope: {title}" if title else "coroscope"})
        ]
        for task in self._tasks.values():
            events.append(_meta("thread_name", task.id, {"name": task.name}))
            events.append(_meta("thread_sort_index", task.id, {"sort_index": task.id}))
        self._build_steps(len(self._steps))
        first = len(events)
        encoded = EncodedEvents(self._encoded_chunks, first, self._encoded, self._ahead)
        events += self._ahead  # (and forgotten by build)
        open_waits = self._ahead_waits
        for task_id, label in open_waits.items():
            # Still parked when the trace ends (or its last steps were dropped).
            task = self._tasks[task_id]
            closed_at = task.finished if task.finished is not None else end
            events.append(_wait_end(label, self._us(closed_at), task_id))
        for task in self._tasks.values():
            if task.finished is None:
                continue
            args = {"result": task.result} if task.state == "done" else {}
            if task.exception:
                args["exception"] = task.exception
            events.append(
                {
                    "name": task.state,
                    "cat": "task",
                    "ph": "i",
                    "s": "t",
                    "ts": self._us(task.finished),
                    **_ids(task.id),
                    "args": args,
                }
            )
        other = {
            "coroscope": __version__,
            "loop_time": self._rel(end),
            "dropped_steps": self.dropped_steps,
            "dropped_tasks": self.dropped_tasks,
            **(metadata or {}),
        }
        document = TraceDocument(
            {
                "traceEvents": events,
                "displayTimeUnit": "ms",
                "otherData": other,
                "tasks": [self._summary(task) for task in self._tasks.values()],
                "blocking": [
                    {
                        "task": what,
                        "start": self._rel(start),
                        "duration": round(wall, 6),
                        "line": where,
                    }
                    for what, start, wall, where in self._blocks
                ],
                "problems": [finding.as_json(self.origin) for finding in findings],
            }
        )
        document.encoded = encoded
        return document

    def _build_steps(self, stop: int) -> None:
        """The events of steps ``_ahead_steps``..``stop - 1`` after those made ahead."""
        if self._ahead_origin != self.origin:
            self._forget_ahead()
        start = self._ahead_steps
        if stop <= start:
            return
        tasks = self._tasks
        open_waits = self._ahead_waits
        # The loop below runs once per step (up to MAX_STEPS), so it spells out
        # _us, _ids and _wait_end (same values, same key order).
        origin = self.origin
        append = self._ahead.append
        pop_wait = open_waits.pop
        try:
            for step in self._steps[start:stop]:
                if len(step) == 4:  # a bare-yield step kept as it came (see ready_steps)
                    t, task_id, wall, rate = step
                    started = t - wall * rate
                    ts = round(max(0.0, started - origin) * 1e6, 3)
                    label = pop_wait(task_id, None)
                    if label is not None:
                        append(
                            {
                                "name": label,
                                "cat": "wait",
                                "ph": "E",
                                "ts": ts,
                                "pid": PID,
                                "tid": task_id,
                            }
                        )
                    append(
                        {
                            "name": tasks[task_id].name,
                            "cat": "step",
                            "ph": "X",
                            "ts": ts,
                            "dur": round(max(0.0, t - started) * 1e6, 3),
                            "pid": PID,
                            "tid": task_id,
                            "args": {"then": "ready", "wall_ms": round(wall * 1e3, 3)},
                        }
                    )
                    continue
                t, task_id, started, wall, waiting, awaiting, _due, frames, _targets = step
                ts = round(max(0.0, started - origin) * 1e6, 3)
                label = pop_wait(task_id, None)
                if label is not None:
                    append(
                        {
                            "name": label,
                            "cat": "wait",
                            "ph": "E",
                            "ts": ts,
                            "pid": PID,
                            "tid": task_id,
                        }
                    )
                args: dict[str, Any] = {
                    "then": awaiting or waiting,
                    "wall_ms": round(wall * 1e3, 3),
                }
                if frames:
                    line = _line(frames)
                    if line:
                        args["line"] = line
                append(
                    {
                        "name": tasks[task_id].name,
                        "cat": "step",
                        "ph": "X",
                        "ts": ts,
                        "dur": round(max(0.0, t - started) * 1e6, 3),
                        "pid": PID,
                        "tid": task_id,
                        "args": args,
                    }
                )
                if waiting in _WAITS:
                    label = awaiting or waiting
                    append(
                        {
                            "name": label,
                            "cat": "wait",
                            "ph": "B",
                            "ts": round(max(0.0, t - origin) * 1e6, 3),
                            "pid": PID,
                            "tid": task_id,
                        }
                    )
                    open_waits[task_id] = label
        except BaseException:
            self._forget_ahead()  # made in part: made again next time
            raise
        self._ahead_steps = stop

    def _summary(self, task: _Task) -> dict:
        return {
            "id": task.id,
            "name": task.name,
            "coro": task.coro,
            "parent": task.parent if task.parent in self._tasks else None,
            "state": task.state,
            "created": self._rel(task.created),
            "finished": None if task.finished is None else self._rel(task.finished),
            "resumes": task.resumes,
            "result": task.result,
            "exception": task.exception,
        }


def _meta(name: str, tid: int, args: dict) -> dict:
    return {"name": name, "ph": "M", "pid": PID, "tid": tid, "args": args}


def _wait_end(label: str, ts: float, task_id: int) -> dict:
    return {"name": label, "cat": "wait", "ph": "E", "ts": ts, **_ids(task_id)}


def _ids(task_id: int) -> dict:
    return {"pid": PID, "tid": task_id}


def _line(frames: tuple[Frame, ...]) -> str | None:
    frame = user_frame(frames) if frames else None
    if frame is None or not frame[1]:
        return None
    return f"{os.path.basename(frame[0])}:{frame[1]}"


@dataclass(frozen=True)
class EncodedEvents:
    """``traceEvents[first:first + count]`` as JSON text made ahead: ``chunks``,
    comma-joined, are those events as ``json.dumps`` writes them (compact), and
    ``made`` are the very event dicts, to tell the document still holds them."""

    chunks: list[str]
    first: int
    count: int
    made: list[dict]


class TraceDocument(dict):
    """The trace document (a plain dict to every reader), with the part of its
    events already encoded, if any (see ``coroscope.takes.trace_file``)."""

    encoded: EncodedEvents | None = None
