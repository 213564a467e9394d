"""Who awaits whom, derived from the task model, plus pulses for propagation.

Each live task contributes a chain of nodes: the task itself, every coroutine it
is awaiting in-line (``print_sum`` -> ``compute``), and the thing it is parked on
(``sleep(1)``, ``Queue.get()``, ``gather(3)``). Edges run from awaiter to awaited;
when the awaited is another task the edge ends at that task's node. When an
awaited task is cancelled or fails, a pulse travels back along the edge to the
task that receives the ``CancelledError`` or exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from coroscope.loop.events import FoldsByKind, TaskEnded, TaskStep
from coroscope.loop.introspect import is_library_file
from coroscope.loop.states import Ending
from coroscope.models.task_model import TaskModel, TaskRow


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    label: str
    kind: str  # "task" | "coro" | "wait"
    task: int
    depth: int


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str


@dataclass(frozen=True, slots=True)
class Pulse:
    src: str  # the node the news comes from (the ended task)
    dst: str  # the node that receives it
    kind: Ending  # "cancelled" or "failed"
    t: float


def task_key(task_id: int) -> str:
    return f"task:{task_id}"


def _chain(row: TaskRow) -> list[Node]:
    nodes = [Node(task_key(row.id), row.name, "task", row.id, 0)]
    user_levels = [f for f in row.frames if not is_library_file(f[0])]
    for depth, (_file, _line, qualname) in enumerate(user_levels[1:], start=1):
        nodes.append(Node(f"{task_key(row.id)}/{depth}", qualname, "coro", row.id, depth))
    if row.state in ("sleep", "future") and row.awaiting:
        depth = len(nodes)
        nodes.append(Node(f"{task_key(row.id)}/wait", row.awaiting, "wait", row.id, depth))
    return nodes


class AwaitGraph(FoldsByKind):
    def __init__(self, tasks: TaskModel, pulse_seconds: float = 1.5) -> None:
        self.tasks = tasks
        self.pulse_seconds = pulse_seconds
        self._pulses: list[Pulse] = []
        # Who waits for whom, kept from each step so an ending finds its awaiters
        # at once instead of scanning every live task (10,000 tasks ending would
        # otherwise cost 10,000 x 10,000 checks).
        self._waiting_for: dict[int, tuple[int, ...]] = {}
        self._awaiters: dict[int, set[int]] = {}
        self._cache_version = -1
        self._nodes: list[Node] = []
        self._edges: list[Edge] = []

    # Subscribed before the task model, so an ending still finds its awaiters.
    def _step(self, event: TaskStep) -> None:
        targets = event.targets
        # Most steps wait on no task, by a task that waited on none before.
        if targets or event.task in self._waiting_for:
            self._waits(event.task, targets)

    def _ended(self, event: TaskEnded) -> None:
        self._waits(event.task, ())
        awaiters = self._awaiters.pop(event.task, ())
        if event.state == "done":
            return
        for awaiter in awaiters:
            row = self.tasks.get(awaiter)
            if row is not None and row.live:
                key = _chain(row)[-1].key
                self._pulses.append(Pulse(task_key(event.task), key, event.state, event.t))

    _handlers: ClassVar[dict[type, Callable[..., None]]] = {TaskStep: _step, TaskEnded: _ended}

    def _waits(self, task: int, targets: tuple[int, ...]) -> None:
        previous = self._waiting_for.pop(task, ())
        if previous == targets:
            if targets:
                self._waiting_for[task] = targets
            return
        for target in previous:
            awaiters = self._awaiters.get(target)
            if awaiters is not None:
                awaiters.discard(task)
        if targets:
            self._waiting_for[task] = targets
            for target in targets:
                self._awaiters.setdefault(target, set()).add(task)

    def _build(self) -> None:
        if self._cache_version == self.tasks.version:
            return
        self._cache_version = self.tasks.version
        nodes: list[Node] = []
        edges: list[Edge] = []
        for row in self.tasks.live_rows():
            chain = _chain(row)
            nodes.extend(chain)
            edges.extend(Edge(a.key, b.key) for a, b in pairwise(chain))
            for target in row.targets:
                edges.append(Edge(chain[-1].key, task_key(target)))
        known = {n.key for n in nodes}
        self._nodes = nodes
        self._edges = [e for e in edges if e.src in known and e.dst in known]

    def nodes(self) -> list[Node]:
        self._build()
        return list(self._nodes)

    def edges(self) -> list[Edge]:
        self._build()
        return list(self._edges)

    def labelled_edges(self) -> set[tuple[str, str]]:
        """Edges as (awaiter label, awaited label): handy for tests and tooltips."""
        self._build()
        labels = {n.key: n.label for n in self._nodes}
        return {(labels[e.src], labels[e.dst]) for e in self._edges}

    def pulses(self, now: float) -> list[Pulse]:
        self._pulses = [p for p in self._pulses if now - p.t < self.pulse_seconds]
        return list(self._pulses)

    def clear(self) -> None:
        self._pulses.clear()
        self._waiting_for.clear()
        self._awaiters.clear()
        self._cache_version = -1
