"""Swimlane history of a run: when each task ran and what it waited for.

Every ``TaskStep`` adds a run slice (``started``..``t``) and opens a wait that
the task's next step closes. History lives in flat arrays (times as doubles,
labels and code lines as indexes into small intern tables), so a long run
scrolls back over its whole history without filling the garbage collector's
lists; past ``max_slices`` per lane the oldest half is dropped and the lane
says from when it is complete.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, field

from app.events import Event, Frame, TaskCreated, TaskEnded, TaskRenamed, TaskStep
from app.introspect import user_frame

EVENTS = (TaskCreated, TaskStep, TaskEnded, TaskRenamed)
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
    wait_starts: array = field(default_factory=lambda: array("d"))
    wait_ends: array = field(default_factory=lambda: array("d"))
    wait_kinds: array = field(default_factory=lambda: array("b"))
    wait_labels: array = field(default_factory=lambda: array("l"))
    complete_from: float = 0.0

    def slices_between(self, t0: float, t1: float) -> range:
        """Indices of run slices that overlap [t0, t1]."""
        first = bisect_left(self.ends, t0)
        last = bisect_right(self.starts, t1)
        return range(first, max(first, last))

    def open_wait(self, start: float, kind: str, label_code: int) -> None:
        self.wait_starts.append(start)
        self.wait_ends.append(_OPEN)
        self.wait_kinds.append(_KIND_CODE.get(kind, 0))
        self.wait_labels.append(label_code)

    def close_wait(self, end: float) -> None:
        if self.wait_ends and self.wait_ends[-1] == _OPEN:
            self.wait_ends[-1] = end


class TimelineModel:
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
        self._ended: deque[int] = deque()
        self._labels = _Interned()
        self._lines = _Interned()
        self._chain_lines: dict[tuple[Frame, ...], int] = {}  # await chain -> line code
        self._max = max_slices
        self._colours = colours
        self._runs_only = runs_only
        self.version = 0
        self.start = 0.0
        self.last = 0.0

    def apply(self, event: Event) -> None:
        kind = type(event)
        if kind is TaskStep:
            lane = self._lanes.get(event.task)
            if lane is None:
                return
            lane.close_wait(event.started)
            lane.starts.append(event.started)
            lane.ends.append(event.t)
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
            if event.waiting != "done":
                lane.open_wait(event.t, event.waiting, self._labels.code(event.awaiting))
                lane.state = event.waiting
            if len(lane.starts) > self._max:
                self._trim(lane)
            if event.t > self.last:
                self.last = event.t
        elif kind is TaskCreated:
            if self._runs_only and event.run is None:
                return
            if not self._lanes:
                self.start = event.t
            lane = Lane(event.task, event.name, len(self._lanes) % self._colours, event.t)
            lane.open_wait(event.t, "ready", self._labels.code("start"))
            lane.complete_from = event.t
            self._lanes[event.task] = lane
            self.last = max(self.last, event.t)
        elif kind is TaskEnded:
            lane = self._lanes.get(event.task)
            if lane is None:
                return
            lane.ended = event.t
            lane.state = event.state
            lane.close_wait(event.t)
            self._ended.append(event.task)
            while len(self._lanes) > self._max_lanes and self._ended:
                self._lanes.pop(self._ended.popleft(), None)
        elif kind is TaskRenamed:
            lane = self._lanes.get(event.task)
            if lane is not None:
                lane.name = event.name
        else:
            return
        self.version += 1

    def _chain_line(self, frames: tuple[Frame, ...]) -> int:
        frame = user_frame(frames)
        line = self._lines.code(frame) if frame else -1
        if len(self._chain_lines) > 10_000:  # chains that never repeat: start afresh
            self._chain_lines.clear()
        self._chain_lines[frames] = line
        return line

    def _trim(self, lane: Lane) -> None:
        half = len(lane.starts) // 2
        cut = lane.starts[half]
        lane.starts = lane.starts[half:]
        lane.ends = lane.ends[half:]
        lane.line_codes = lane.line_codes[half:]
        keep = bisect_left(lane.wait_starts, cut)
        keep = max(0, keep - 1)
        lane.wait_starts = lane.wait_starts[keep:]
        lane.wait_ends = lane.wait_ends[keep:]
        lane.wait_kinds = lane.wait_kinds[keep:]
        lane.wait_labels = lane.wait_labels[keep:]
        lane.complete_from = cut

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
        waits = []
        last = bisect_right(lane.wait_starts, t1)
        for i in range(last - 1, -1, -1):
            end = lane.wait_ends[i]
            if end < t0:
                # Waits do not overlap each other, so nothing earlier can reach t0.
                break
            waits.append(self._wait(lane, i))
        waits.reverse()
        return waits

    def _wait(self, lane: Lane, i: int) -> Wait:
        end = lane.wait_ends[i]
        return Wait(
            lane.wait_starts[i],
            None if end == _OPEN else end,
            WAIT_KINDS[lane.wait_kinds[i]],
            self._labels.values[lane.wait_labels[i]],
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
        if lane is None:
            return None
        i = bisect_right(lane.wait_starts, t) - 1
        if i >= 0 and t <= lane.wait_ends[i]:
            return self._wait(lane, i)
        return None

    def clear(self) -> None:
        self._lanes.clear()
        self._ended.clear()
        self._labels = _Interned()
        self._lines = _Interned()
        self._chain_lines.clear()  # its codes index the table just replaced
        self.start = self.last = 0.0
        self.version += 1
