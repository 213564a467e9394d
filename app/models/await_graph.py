"""Who awaits whom, derived from the task model, plus pulses for propagation.

Each live task contributes a chain of nodes: the task itself, every coroutine it
is awaiting in-line (``print_sum`` -> ``compute``), and the thing it is parked on
(``sleep(1)``, ``Queue.get()``, ``gather(3)``). Edges run from awaiter to awaited;
when the awaited is another task the edge ends at that task's node.

When a task ends its node stays for ``linger_seconds`` of wall time, in its end
state with its outcome (``CancelledError``, ``ValueError: boom``, ``returned 3``),
while a pulse carries that outcome back along the edge to each task that awaited
it; then it fades out. Wall time, not loop time: the news travels at the speed a
person can follow whatever speed (or pause) the loop runs at. The clock is
injectable so tests need not sleep.

``layout`` places the graph on a grid of slots (columns) and rows: a task's chain
stacks down one slot, and the tasks it awaits sit in the rows below it, side by
side, each subtree in slots of its own (the first awaiter claims a task; a second
awaiter's edge is routed around). So boxes never share a slot and row, edges run
in the gaps between rows and slots, and the view can route them without crossing
a box. It places at most as many tasks as the view has room for.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from coroscope.loop.events import FoldsByKind, TaskEnded, TaskStep
from coroscope.loop.introspect import is_library_file
from coroscope.loop.states import Ending
from coroscope.models.task_model import TaskModel, TaskRow

# Tasks the graph lays out at most, whatever room the view has: what a frame costs
# stays bounded with thousands of live tasks.
MAX_TASKS = 40
# Ended tasks remembered at most while they linger (a burst of endings keeps the
# newest).
MAX_LINGERING = 100


@dataclass(frozen=True, slots=True)
class Node:
    key: str
    label: str
    kind: str  # "task" | "coro" | "wait"
    task: int
    depth: int
    ended: Ending | None = None  # set while an ended task's node lingers
    outcome: str = ""  # "CancelledError", "ValueError: boom", "returned 3"


@dataclass(frozen=True, slots=True)
class Edge:
    src: str
    dst: str


@dataclass(frozen=True, slots=True)
class Pulse:
    src: str  # the node the news comes from (the ended task)
    dst: str  # the node that receives it (the awaiter's innermost node)
    kind: Ending  # "done", "cancelled" or "failed"
    t: float  # wall time the task ended
    label: str = ""  # the outcome it carries
    progress: float = 0.0  # 0 at the ended task .. 1 at the awaiter


@dataclass(frozen=True, slots=True)
class Ended:
    """A task that ended a moment ago, as its lingering node shows it."""

    task: int
    name: str
    state: Ending
    outcome: str
    t: float  # wall time
    awaiters: tuple[int, ...]  # the live tasks that were waiting for it


@dataclass(frozen=True, slots=True)
class Layout:
    nodes: list[Node]
    edges: list[Edge]
    cells: dict[str, tuple[int, int]]  # node key -> (slot, row)
    slots: int
    rows: int
    hidden: int  # tasks left out for want of room


def task_key(task_id: int) -> str:
    return f"task:{task_id}"


def outcome_of(event: TaskEnded) -> str:
    if event.state == "done":
        return f"returned {event.result}"
    return event.exception or event.state


def _chain(row: TaskRow) -> list[Node]:
    nodes = [Node(task_key(row.id), row.name, "task", row.id, 0)]
    user_levels = [f for f in row.frames if not is_library_file(f[0])]
    for depth, (_file, _line, qualname) in enumerate(user_levels[1:], start=1):
        nodes.append(Node(f"{task_key(row.id)}/{depth}", qualname, "coro", row.id, depth))
    if row.state in ("sleep", "future") and row.awaiting:
        depth = len(nodes)
        nodes.append(Node(f"{task_key(row.id)}/wait", row.awaiting, "wait", row.id, depth))
    return nodes


def _ended_chain(ended: Ended) -> list[Node]:
    return [
        Node(task_key(ended.task), ended.name, "task", ended.task, 0, ended.state, ended.outcome)
    ]


class AwaitGraph(FoldsByKind):
    def __init__(
        self,
        tasks: TaskModel,
        pulse_seconds: float = 1.0,
        linger_seconds: float = 1.8,
        fade_seconds: float = 0.6,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tasks = tasks
        self.pulse_seconds = pulse_seconds  # how long the dot takes to arrive
        self.linger_seconds = linger_seconds  # how long an ended node stays
        self.fade_seconds = fade_seconds  # the end of the lingering, fading out
        self.wall = wall
        # Who waits for whom, kept from each step so an ending finds its awaiters
        # at once instead of scanning every live task (10,000 tasks ending would
        # otherwise cost 10,000 x 10,000 checks).
        self._waiting_for: dict[int, tuple[int, ...]] = {}
        self._awaiters: dict[int, set[int]] = {}
        # Ended tasks still shown, oldest first (they end in wall-time order).
        self._lingering: dict[int, Ended] = {}
        self._linger_order: deque[int] = deque()
        self._linger_version = 0
        self._cache_key: tuple[int, int, int, int] | None = None
        self._layout = Layout([], [], {}, 0, 0, 0)
        self._last: dict[int, str] = {}  # laid-out task -> its innermost node's key
        self._room = (MAX_TASKS, 1000)  # the slots and rows of the last layout

    # Subscribed before the task model, so an ending still finds its awaiters.
    def _step(self, event: TaskStep) -> None:
        targets = event.targets
        # Most steps wait on no task, by a task that waited on none before.
        if targets or event.task in self._waiting_for:
            self._waits(event.task, targets)

    def _ended(self, event: TaskEnded) -> None:
        self._waits(event.task, ())
        awaiters = self._awaiters.pop(event.task, ())
        row = self.tasks.get(event.task)
        if row is None:  # not one the task model shows (the app's own helpers)
            return
        now = self.wall()
        self._expire(now)
        live = []
        for awaiter in sorted(awaiters):
            awaiting = self.tasks.get(awaiter)
            if awaiting is not None and awaiting.live:
                live.append(awaiter)
        self._lingering[event.task] = Ended(
            event.task, row.name, event.state, outcome_of(event), now, tuple(live)
        )
        self._linger_order.append(event.task)
        while len(self._linger_order) > MAX_LINGERING:
            self._lingering.pop(self._linger_order.popleft(), None)
        self._linger_version += 1

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

    def _expire(self, now: float) -> None:
        order = self._linger_order
        while order:
            ended = self._lingering.get(order[0])
            if ended is not None and now - ended.t < self.linger_seconds:
                break
            order.popleft()
            if ended is not None:
                del self._lingering[ended.task]
                self._linger_version += 1

    def _build(self, max_slots: int, max_rows: int) -> None:
        key = (self.tasks.version, self._linger_version, max_slots, max_rows)
        if key == self._cache_key:
            return
        self._cache_key = key
        self._room = (max_slots, max_rows)
        live = {row.id: row for row in self.tasks.live_rows()}
        ended = {t: e for t, e in self._lingering.items() if t not in live}
        # Who each task waits for, among the tasks shown: live waits, and the
        # awaiters an ended task had when it ended (they may have moved on since).
        children: dict[int, list[int]] = {}
        awaited: set[int] = set()
        for row in live.values():
            if row.targets:
                kids = [t for t in row.targets if t != row.id and (t in live or t in ended)]
                if kids:
                    children[row.id] = kids
                    awaited.update(kids)
        for e in ended.values():
            for a in e.awaiters:
                if a in live or a in ended:
                    kids = children.setdefault(a, [])
                    if e.task not in kids:
                        kids.append(e.task)
                    awaited.add(e.task)
        for kids in children.values():
            kids.sort()  # creation order, so an ended task keeps its place
        everyone = sorted({*live, *ended})

        chains: dict[int, list[Node]] = {}
        tree: dict[int, list[int]] = {}
        top_row: dict[int, int] = {}
        roots: list[int] = []
        slots_used = 0
        cap = min(MAX_TASKS, max_slots * max_rows)

        def chain(task: int) -> list[Node]:
            nodes = chains.get(task)
            if nodes is None:
                row = live.get(task)
                nodes = _chain(row) if row is not None else _ended_chain(ended[task])
                chains[task] = nodes
            return nodes

        def claim(task: int, row: int) -> None:
            nonlocal slots_used
            top_row[task] = row
            kids: list[int] = []
            tree[task] = kids
            below = row + len(chain(task))
            if below >= max_rows:
                return
            for kid in children.get(task, ()):
                if kid in top_row or len(top_row) >= cap:
                    continue
                if kids:  # the first awaited task sits under its awaiter; others take a slot
                    if slots_used >= max_slots:
                        break
                    slots_used += 1
                kids.append(kid)
                claim(kid, below)

        # Roots first (tasks nobody shown awaits), then whatever a cycle left out.
        for group in ([t for t in everyone if t not in awaited], everyone):
            for task in group:
                if len(top_row) >= cap or slots_used >= max_slots:
                    break
                if task not in top_row:
                    slots_used += 1
                    roots.append(task)
                    claim(task, 0)

        width: dict[int, int] = {}

        def measure(task: int) -> int:
            width[task] = max(1, sum(measure(kid) for kid in tree[task]))
            return width[task]

        cells: dict[str, tuple[int, int]] = {}
        nodes: list[Node] = []

        def place(task: int, first: int) -> None:
            slot = first + (width[task] - 1) // 2
            for node in chain(task):
                cells[node.key] = (slot, top_row[task] + node.depth)
                nodes.append(node)
            for kid in tree[task]:
                place(kid, first)
                first += width[kid]

        first = 0
        for root in roots:
            measure(root)
            place(root, first)
            first += width[root]

        edges: list[Edge] = []
        self._last = {task: chain(task)[-1].key for task in top_row}
        for task in top_row:
            edges.extend(Edge(a.key, b.key) for a, b in pairwise(chain(task)))
            for kid in children.get(task, ()):
                if kid in top_row:
                    edges.append(Edge(self._last[task], task_key(kid)))
        rows = max((r for _s, r in cells.values()), default=-1) + 1
        self._layout = Layout(nodes, edges, cells, first, rows, len(everyone) - len(top_row))

    def layout(
        self, max_slots: int = MAX_TASKS, max_rows: int = 1000, now: float | None = None
    ) -> Layout:
        """The graph placed on the grid, with no more than ``max_slots`` slots (and
        as a rule ``max_rows`` rows: a deeper single chain still shows whole)."""
        self._expire(self.wall() if now is None else now)
        self._build(max(1, max_slots), max(1, max_rows))
        return self._layout

    def nodes(self) -> list[Node]:
        return list(self.layout().nodes)

    def edges(self) -> list[Edge]:
        return list(self.layout().edges)

    def labelled_edges(self) -> set[tuple[str, str]]:
        """Edges as (awaiter label, awaited label): handy for tests and tooltips."""
        layout = self.layout()
        labels = {n.key: n.label for n in layout.nodes}
        return {(labels[e.src], labels[e.dst]) for e in layout.edges}

    def ended(self, task: int) -> Ended | None:
        """The ending of a task whose node still lingers."""
        return self._lingering.get(task)

    def fade(self, task: int, now: float | None = None) -> float:
        """How opaque a task's node is: 1 while live, falling to 0 as an ended one goes."""
        ended = self._lingering.get(task)
        if ended is None:
            return 1.0
        now = self.wall() if now is None else now
        left = self.linger_seconds - (now - ended.t)
        return max(0.0, min(1.0, left / self.fade_seconds)) if self.fade_seconds > 0 else 1.0

    def pulses(self, now: float | None = None) -> list[Pulse]:
        """The dots on their way from an ended task to its awaiters, in the last
        layout (those whose awaiter or ended task is left out are not)."""
        now = self.wall() if now is None else now
        self._expire(now)
        self._build(*self._room)
        cells = self._layout.cells
        pulses = []
        for ended in self._lingering.values():
            progress = (now - ended.t) / self.pulse_seconds if self.pulse_seconds > 0 else 1.0
            src = task_key(ended.task)
            if progress >= 1.0 or src not in cells:
                continue
            for awaiter in ended.awaiters:
                dst = self._last.get(awaiter)
                if dst is not None:
                    pulses.append(
                        Pulse(src, dst, ended.state, ended.t, ended.outcome, max(0.0, progress))
                    )
        return pulses

    def clear(self) -> None:
        self._waiting_for.clear()
        self._awaiters.clear()
        self._lingering.clear()
        self._linger_order.clear()
        self._linger_version += 1
        self._cache_key = None
