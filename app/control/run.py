"""One execution of a demo or script on a traced loop.

A run tags everything it starts with its id (``RUN_ID`` in the context every
task copies), so Stop can cancel exactly its tasks and timers and wait for them
to unwind, leaving nothing pending behind ("Task was destroyed but it is pending"
is a bug here, not a warning to live with).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import types
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from coroscope.control.cycles import cancel_tasks
from coroscope.loop.scheduler import RUN_ID
from coroscope.loop.tracer import TaskInfo

# Remembering how to start tasks again costs their arguments; cap it.
MAX_RECIPES = 5000


@dataclass(frozen=True)
class Target:
    """Something runnable: a demo or a user's script."""

    key: str
    title: str
    source_path: str
    make_main: Callable[[], Coroutine]
    stage: str | None = None
    summary: str = ""
    # Set for a program that runs somewhere else (a script in its own process):
    # makes its run, given the run's id. Then ``make_main`` is not used.
    external: Callable[[int], ExternalRun] | None = None


@dataclass(frozen=True)
class Recipe:
    """How to call a coroutine function again with the arguments a task began with."""

    function: Callable
    args: tuple
    kwargs: dict
    name: str

    def call(self) -> Coroutine:
        return self.function(*self.args, **self.kwargs)


class RerunError(Exception):
    pass


class Recipes:
    """How to start each task of a run again (Run again on a finished lane), up
    to ``MAX_RECIPES`` of them: kept as each task is created."""

    def __init__(self) -> None:
        self._by_task: dict[int, Recipe] = {}

    def remember(self, task: asyncio.Task, info: TaskInfo) -> None:
        if len(self._by_task) < MAX_RECIPES:
            recipe = capture_recipe(task.get_coro(), info.name)
            if recipe is not None:
                self._by_task[info.id] = recipe

    def call(self, task_id: int, name: str) -> Coroutine:
        """A new coroutine of the task's function, with the arguments it began with."""
        recipe = self._by_task.get(task_id)
        if recipe is None:
            raise RerunError(f"{name} cannot be run again: its start was not recorded")
        return recipe.call()


def capture_recipe(coro: object, name: str) -> Recipe | None:
    """Rebuild a callable from a coroutine that has not started yet.

    An unstarted coroutine's frame holds exactly its arguments, so the code object,
    its globals and those locals are enough to call the function again.
    """
    # Only called before a task's first step, while the frame holds just the arguments.
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    if frame is None:
        return None
    code = frame.f_code
    values = dict(frame.f_locals)
    try:
        closure = tuple(types.CellType(values[n]) for n in code.co_freevars) or None
    except KeyError:
        return None
    function: Callable[..., Any] = types.FunctionType(
        code, frame.f_globals, code.co_name, None, closure
    )
    if code.co_flags & inspect.CO_GENERATOR:
        function = types.coroutine(function)
    names = code.co_varnames
    positional = code.co_argcount
    kwonly = code.co_kwonlyargcount
    try:
        args = [values[n] for n in names[:positional]]
        kwargs = {n: values[n] for n in names[positional : positional + kwonly]}
        index = positional + kwonly
        if code.co_flags & inspect.CO_VARARGS:
            args.extend(values[names[index]])
            index += 1
        if code.co_flags & inspect.CO_VARKEYWORDS:
            kwargs.update(values[names[index]])
    except KeyError:
        return None
    return Recipe(function, tuple(args), kwargs, name)


class Run:
    _ids = 0

    @classmethod
    def next_id(cls) -> int:
        cls._ids += 1
        return cls._ids

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Target) -> None:
        self.id = Run.next_id()
        self.loop = loop
        self.target = target
        self.main: asyncio.Task | None = None
        self.recipes = Recipes()
        self.stopped = False

    def start(self) -> asyncio.Task:
        context = contextvars.copy_context()
        context.run(RUN_ID.set, self.id)
        coro = self.target.make_main()
        self.main = self.loop.create_task(coro, name="main", context=context)
        return self.main

    def remember(self, task: asyncio.Task, info: TaskInfo) -> None:
        """Tracer hook: keep a recipe for each task of this run, to run it again."""
        if info.run == self.id:
            self.recipes.remember(task, info)

    def rerun(self, task_id: int, name: str) -> asyncio.Task:
        coro = self.recipes.call(task_id, name)
        context = contextvars.copy_context()
        context.run(RUN_ID.set, self.id)
        return self.loop.create_task(coro, name=name, context=context)

    def tasks(self) -> list[asyncio.Task]:
        tracer = self.loop.tracer  # type: ignore[attr-defined]
        return [
            t for t, info in tracer.live_tasks().items() if info.run == self.id and not t.done()
        ]

    async def stop(self, grace: float = 2.0) -> list[str]:
        """Cancel the run's tasks and timers and wait for them to unwind.

        Returns the names of tasks that ignored cancellation within ``grace``.
        """
        self.stopped = True
        self.loop.scheduler.cancel_run(self.id)  # type: ignore[attr-defined]
        stubborn: list[str] = []
        for _attempt in range(3):
            tasks = self.tasks()
            if not tasks:
                break
            # Not task.cancel() one by one: tasks awaiting each other would make it
            # recurse until RecursionError (see coroscope.control.cycles).
            cancel_tasks(tasks)
            done, pending = await asyncio.wait(tasks, timeout=grace / 3)
            for task in done:
                if not task.cancelled():
                    task.exception()  # mark retrieved: the lane already shows it
            stubborn = [t.get_name() for t in pending]
        # Children, threads and connections the run left behind: terminate, join,
        # close, and say so in the console.
        outside = getattr(self.loop, "outside", None)
        if outside is not None:
            await outside.reap(self.id, grace)
        self.loop.scheduler.cancel_run(self.id)  # type: ignore[attr-defined]
        return stubborn


def make_main_from(function: Callable[..., Coroutine], *args: Any) -> Callable[[], Coroutine]:
    return lambda: function(*args)


class ExternalRun:
    """A run whose program runs elsewhere (a script's own process): its events
    arrive in the controller's event log, and intents are asked of it by name
    (``cancel``, ``set_remaining``, ``delay``, ``rerun``, ``cancel_timer``,
    ``move_timer``, ``step``), to be carried out by ``loop_intents`` over there.
    """

    main: asyncio.Task | None = None  # nothing of it runs on this loop

    def __init__(self, run_id: int, target: Target) -> None:
        self.id = run_id
        self.target = target
        self.stopped = False
        # Called once the program has ended (by itself, or stopped).
        self.on_end: list[Callable[[], None]] = []

    def _ended(self) -> None:
        for listener in self.on_end:
            listener()

    @property
    def over(self) -> bool:
        """The program has ended: nothing of it can be asked any more."""
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def tasks(self) -> list[object]:
        """Something, while the program runs (the controller counts it as running)."""
        return [] if self.over else [self]

    def ask(self, intent: str, *args: Any) -> None:
        raise NotImplementedError

    def clock_changed(self, state: tuple[float, float, float, bool]) -> None:
        """This side's clock was paused, resumed or set to a speed: follow it."""
        raise NotImplementedError

    async def stop(self, grace: float = 2.0) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """End the program at once (the window is closing)."""

    def ready_sample(self) -> tuple[list[tuple[str, int | None]], int, int] | None:
        """The program's ready queue as last seen: its head as (label, task id),
        how many callbacks are queued and how many have run; None if not known."""
        return None
