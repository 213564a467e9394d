"""Swimlane history of a run: when each task ran and what it waited for.

Every ``TaskStep`` adds a run slice (``started``..``t``) and opens a wait that
the task's next step closes. History lives in flat arrays (times as doubles,
labels and code lines as indexes into small intern tables), so a long run
scrolls back over its whole history without filling the garbage collector's
lists; past ``max_slices`` per lane the oldest half is dropped and the lane
says from when it is complete.

Waits fill the gaps between slices, so a lane stores only what each wait was
on: wait ``i`` comes before slice ``i``, from the end of slice ``i - 1`` (or
the lane's ``wait_origin``) to the start of slice ``i``; a last wait after the
last slice lasts until the task ends. Each step appends to four arrays, and an
array append costs as much as a small model's whole work for the event.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, field

from coroscope.loop.events import (
    FoldsByKind,
    Frame,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
)
from coroscope.loop.introspect import user_frame

WAIT_KINDS = ("ready", "sleep", "task", "future")
_KIND_CODE = {kind: code for code, kind in enumerate(WAIT_KINDS)}
_OPEN = math.inf  # end time of a wait that has not ended yet


@dataclass(frozen=True, slots=True)
class Wait:
    start: float
    end: float | None
    kind: str
    label: str


class _Interned:
    """Values stored once and referred to by a small integer."""

    def __init__(self) -> None:
        self._index: dict = {}
        self.values: list = []

    def code(self, value) -> int:
        code = self._index.get(value)
        if code is None:
            code = self._index[value] = len(self.values)
            self.values.append(value)
        return code


@dataclass(slots=True)
class Lane:
    id: int
    name: str
    colour: int
    created: float
    ended: float | None = None
    state: str = "ready"
    starts: array = field(default_factory=lambda: array("d"))
    ends: array = field(default_factory=lambda: array("d"))
    line_codes: array = field(default_factory=lambda: array("l"))
    # What wait i was on: its label's code * len(WAIT_KINDS) + its kind's code.
    wait_codes: array = field(default_factory=lambda: array("q"))
    wait_origin: float = 0.0  # where wait 0 starts: the task's creation, or the cut
    complete_from: float = 0.0

    def slices_between(self, t0: float, t1: float) -> range:
        """Indices of run slices that overlap [t0, t1]."""
        first = bisect_left(self.ends, t0)
        last = bisect_right(self.starts, t1)
        return range(first, max(first, last))

    def wait_start(self, i: int) -> float:
        return self.ends[i - 1] if i else self.wait_origin

    def wait_end(self, i: int) -> float:
        if i < len(self.starts):
            return self.starts[i]
        return _OPEN if self.ended is None else self.ended


class TimelineModel(FoldsByKind):
    def __init__(
        self,
        max_slices: int = 50_000,
        colours: int = 10,
        runs_only: bool = True,
        max_lanes: int = 2000,
    ) -> None:
        self._lanes: dict[int, Lane] = {}
        # A run that churns short tasks would add lanes forever; past this many,
        # the oldest finished lanes go first.
        self._max_lanes = max_lanes
        self._ended_order: deque[int] = deque()
        self._labels = _Interned()
        self._lines = _Interned()
        self._chain_lines: dict[tuple[Frame, ...], int] = {}  # await chain -> line code
        self._wait_codes: dict[tuple[str, str], int] = {}  # (kind, label) -> wait code
        self._max = max_slices
        self._colours = colours
        self._runs_only = runs_only
        self.version = 0
        self.start = 0.0
        self.last = 0.0

    def _step(self, event: TaskStep) -> None:
        lane = self._lanes.get(event.task)
        if lane is None:
            return
        t = event.t
        lane.starts.append(event.started)
        lane.ends.append(t)
        # Looked up by the whole await chain: finding the user's frame in it
        # and interning that, for every step, cost the most here.
        frames = event.frames
        if frames:
            line = self._chain_lines.get(frames)
            if line is None:
                line = self._chain_line(frames)
        else:
            line = -1
        lane.line_codes.append(line)
        waiting = event.waiting
        if waiting != "done":
            what = (waiting, event.awaiting)
            code = self._wait_codes.get(what)
            if code is None:
                code = self._wait_code(what)
            lane.wait_codes.append(code)
            lane.state = waiting
        if len(lane.starts) > self._max:
            self._trim(lane)
        if t > self.last:
            self.last = t
        self.version += 1

    def _created(self, event: TaskCreated) -> None:
        if self._runs_only and event.run is None:
            return
        if not self._lanes:
            self.start = event.t
        lane = Lane(event.task, event.name, len(self._lanes) % self._colours, event.t)
        lane.wait_codes.append(self._wait_code(("ready", "start")))
        lane.wait_origin = lane.complete_from = event.t
        self._lanes[event.task] = lane
        self.last = max(self.last, event.t)
        self.version += 1

    def _ended(self, event: TaskEnded) -> None:
        lane = self._lanes.get(event.task)
        if lane is None:
            return
        lane.ended = event.t  # which also ends its last wait, if it had one
        lane.state = event.state
        self._ended_order.append(event.task)
        while len(self._lanes) > self._max_lanes and self._ended_order:
            self._lanes.pop(self._ended_order.popleft(), None)
        self.version += 1

    def _renamed(self, event: TaskRenamed) -> None:
        lane = self._lanes.get(event.task)
        if lane is not None:
            lane.name = event.name
            self.version += 1

    _handlers = {
        TaskCreated: _created,
        TaskStep: _step,
        TaskEnded: _ended,
        TaskRenamed: _renamed,
    }

    def _wait_code(self, what: tuple[str, str]) -> int:
        kind, label = what
        code = self._labels.code(label) * len(WAIT_KINDS) + _KIND_CODE.get(kind, 0)
        if len(self._wait_codes) > 10_000:  # labels that never repeat: start afresh
            self._wait_codes.clear()
        self._wait_codes[what] = code
        return code

    def _chain_line(self, frames: tuple[Frame, ...]) -> int:
        frame = user_frame(frames)
        line = self._lines.code(frame) if frame else -1
        if len(self._chain_lines) > 10_000:  # chains that never repeat: start afresh
            self._chain_lines.clear()
        self._chain_lines[frames] = line
        return line

    def _trim(self, lane: Lane) -> None:
        half = len(lane.starts) // 2
        lane.wait_origin = lane.ends[half - 1]
        lane.complete_from = lane.starts[half]
        lane.starts = lane.starts[half:]
        lane.ends = lane.ends[half:]
        lane.line_codes = lane.line_codes[half:]
        lane.wait_codes = lane.wait_codes[half:]

    # -- queries ---------------------------------------------------------------------
    def lanes(self) -> list[Lane]:
        return list(self._lanes.values())

    def lane(self, task_id: int) -> Lane | None:
        return self._lanes.get(task_id)

    def line_of(self, lane: Lane, index: int) -> Frame | None:
        code = lane.line_codes[index]
        return self._lines.values[code] if code >= 0 else None

    def waits_between(self, lane: Lane, t0: float, t1: float) -> list[Wait]:
        """Waits of ``lane`` that overlap [t0, t1]; an open wait has ``end`` None."""
        if lane.wait_origin > t1:
            return []
        # Wait i ends where slice i starts, and starts where slice i - 1 ends.
        first = bisect_left(lane.starts, t0)
        last = min(bisect_right(lane.ends, t1), len(lane.wait_codes) - 1)
        return [self._wait(lane, i) for i in range(first, last + 1) if lane.wait_end(i) >= t0]

    def _wait(self, lane: Lane, i: int) -> Wait:
        end = lane.wait_end(i)
        label_code, kind_code = divmod(lane.wait_codes[i], len(WAIT_KINDS))
        return Wait(
            lane.wait_start(i),
            None if end == _OPEN else end,
            WAIT_KINDS[kind_code],
            self._labels.values[label_code],
        )

    def slice_at(
        self, task_id: int, t: float, tolerance: float
    ) -> tuple[float, float, Frame | None] | None:
        """The run slice of ``task_id`` nearest ``t`` within ``tolerance`` seconds."""
        lane = self._lanes.get(task_id)
        if lane is None or not lane.starts:
            return None
        index = bisect_left(lane.starts, t - tolerance)
        best = None
        for i in range(max(0, index - 1), min(len(lane.starts), index + 3)):
            start, end = lane.starts[i], lane.ends[i]
            distance = 0.0 if start <= t <= end else min(abs(t - start), abs(t - end))
            if distance <= tolerance and (best is None or distance < best[0]):
                best = (distance, i)
        if best is None:
            return None
        i = best[1]
        return lane.starts[i], lane.ends[i], self.line_of(lane, i)

    def wait_at(self, task_id: int, t: float) -> Wait | None:
        lane = self._lanes.get(task_id)
        if lane is None or t < lane.wait_origin or not lane.wait_codes:
            return None
        i = min(bisect_right(lane.ends, t), len(lane.wait_codes) - 1)
        if t <= lane.wait_end(i):
            return self._wait(lane, i)
        return None

    def clear(self) -> None:
        self._lanes.clear()
        self._ended_order.clear()
        self._labels = _Interned()
        self._lines = _Interned()
        self._chain_lines.clear()  # their codes index the tables just replaced
        self._wait_codes.clear()
        self.start = self.last = 0.0
        self.version += 1
