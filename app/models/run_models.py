"""Every model a run's events feed, built and subscribed in one place.

The order of subscription matters and lives here: for each kind of event the
await graph hears an ending before the task model forgets who awaited whom.
Models only some front ends need (the stage's published values, the Loop panel's
anatomy) are built when first asked for, so a headless trace pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from coroscope.loop.events import EventLog
from coroscope.models.await_graph import AwaitGraph
from coroscope.models.console_model import ConsoleModel
from coroscope.models.findings import FindingsModel
from coroscope.models.loop_model import LoopModel
from coroscope.models.narration import Narrator
from coroscope.models.stage_model import StageModel
from coroscope.models.task_model import TaskModel
from coroscope.models.timeline import TimelineModel
from coroscope.models.trace_collector import MAX_STEPS, MAX_TASKS, TraceCollector


class RunModels:
    def __init__(self, log: EventLog, now: Callable[[], float]) -> None:
        self._log = log
        self._now = now
        self.tasks = TaskModel(runs_only=True)
        self.console = ConsoleModel()
        self.narration = Narrator()
        self.narration.known_names = lambda: {row.id: row.name for row in self.tasks.rows()}
        self.timeline = TimelineModel()
        self.graph = AwaitGraph(self.tasks)
        self.findings = FindingsModel()
        models = (self.graph, self.tasks, self.console, self.narration, self.timeline)
        for model in (*models, self.findings):
            model.listen_to(log)
        # The narration says the blocking steps itself (as LoopBlocked), the rest here.
        self.findings.on_finding.append(self._narrate)

    def _narrate(self, finding) -> None:
        if finding.kind not in ("blocking call", "busy loop"):
            self.narration.say_finding(finding)

    @cached_property
    def stage(self) -> StageModel:
        """The latest values the demo published, for its stage picture."""
        return StageModel(self._now)

    @cached_property
    def loop(self) -> LoopModel:
        """Timers, I/O, threads and child processes of the runs, for the Loop panel."""
        model = LoopModel(runs_only=True)
        model.listen_to(self._log)
        return model

    def trace(self, max_steps: int = MAX_STEPS, max_tasks: int = MAX_TASKS) -> TraceCollector:
        """A new collector of what a trace file needs, listening from now on."""
        collector = TraceCollector(max_steps=max_steps, max_tasks=max_tasks)
        collector.listen_to(self._log)
        return collector

    def clear(self) -> None:
        """Forget the previous run's tasks before a new one starts."""
        self.tasks.clear()
        self.narration.clear()
        self.timeline.clear()
        self.graph.clear()
        self.findings.clear()

    def close(self) -> None:
        if "stage" in self.__dict__:
            self.stage.close()
