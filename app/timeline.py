"""Swimlane history of a run: when each task ran and what it waited for.

Every ``TaskStep`` adds a run slice (``started``..``t``) and opens a wait that
the task's next step closes. Slices live in compact arrays so a long run scrolls
back over its whole history; past ``max_slices`` per lane the oldest half is
dropped and the lane says from when it is complete.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from app.events import Event, Frame, TaskCreated, TaskEnded, TaskRenamed, TaskStep
from app.introspect import user_frame


@dataclass(slots=True)
class Wait:
    start: float
    end: float | None
    kind: str  # ready | sleep | task | future
    label: str


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
    lines: list[Frame | None] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    complete_from: float = 0.0

    def slices_between(self, t0: float, t1: float) -> range:
        """Indices of run slices that overlap [t0, t1]."""
        first = max(0, bisect_left(self.ends, t0))
        last = bisect_right(self.starts, t1)
        return range(first, max(first, last))

    def waits_between(self, t0: float, t1: float) -> list[Wait]:
        return [w for w in self.waits if w.start <= t1 and (w.end is None or w.end >= t0)]


class TimelineModel:
    def __init__(self, max_slices: int = 50_000, colours: int = 10, runs_only: bool = True) -> None:
        self._lanes: dict[int, Lane] = {}
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
            if lane.waits and lane.waits[-1].end is None:
                lane.waits[-1].end = event.started
            lane.starts.append(event.started)
            lane.ends.append(event.t)
            lane.lines.append(user_frame(event.frames) if event.frames else None)
            if event.waiting != "done":
                lane.waits.append(Wait(event.t, None, event.waiting, event.awaiting))
                lane.state = event.waiting
            if len(lane.starts) > self._max:
                self._trim(lane)
            self.last = max(self.last, event.t)
        elif kind is TaskCreated:
            if self._runs_only and event.run is None:
                return
            if not self._lanes:
                self.start = event.t
            self._lanes[event.task] = Lane(
                event.task, event.name, len(self._lanes) % self._colours, event.t
            )
            lane = self._lanes[event.task]
            lane.waits.append(Wait(event.t, None, "ready", "start"))
            lane.complete_from = event.t
            self.last = max(self.last, event.t)
        elif kind is TaskEnded:
            lane = self._lanes.get(event.task)
            if lane is None:
                return
            lane.ended = event.t
            lane.state = event.state
            if lane.waits and lane.waits[-1].end is None:
                lane.waits[-1].end = event.t
        elif kind is TaskRenamed:
            lane = self._lanes.get(event.task)
            if lane is not None:
                lane.name = event.name
        else:
            return
        self.version += 1

    def _trim(self, lane: Lane) -> None:
        half = len(lane.starts) // 2
        cut = lane.starts[half]
        lane.starts = lane.starts[half:]
        lane.ends = lane.ends[half:]
        lane.lines = lane.lines[half:]
        lane.waits = [w for w in lane.waits if w.end is None or w.end >= cut]
        lane.complete_from = cut

    def lanes(self) -> list[Lane]:
        return list(self._lanes.values())

    def lane(self, task_id: int) -> Lane | None:
        return self._lanes.get(task_id)

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
        return lane.starts[i], lane.ends[i], lane.lines[i]

    def wait_at(self, task_id: int, t: float) -> Wait | None:
        lane = self._lanes.get(task_id)
        if lane is None:
            return None
        for wait in reversed(lane.waits):
            if wait.start <= t and (wait.end is None or t <= wait.end):
                return wait
        return None

    def clear(self) -> None:
        self._lanes.clear()
        self.start = self.last = 0.0
        self.version += 1
