"""The words the core uses for what a task is doing, as types.

They travel inside events and models as plain strings (cheap, and readable in a
trace file); these aliases let mypy catch a misspelt one.
"""

from __future__ import annotations

from typing import Literal, get_args

# What a task is parked on after a step (``TaskStep.waiting``): it yielded and is
# already queued again, it sleeps on a timer, awaits another task or a future, or
# its coroutine returned.
Waiting = Literal["ready", "sleep", "task", "future", "done"]

# How a task ended (``TaskEnded.state``).
Ending = Literal["done", "cancelled", "failed"]

# What a task's lane shows: a wait, running right now, or an ending.
TaskState = Literal["ready", "running", "sleep", "task", "future", "done", "cancelled", "failed"]

# A task as the trace file's summary states it.
TraceState = Literal["pending", "done", "cancelled", "failed"]

LIVE_STATES: tuple[TaskState, ...] = ("ready", "running", "sleep", "task", "future")
TRACE_STATES: tuple[TraceState, ...] = get_args(TraceState)

# What Python or asyncio itself said about the program (``PythonWarned.kind``).
Warned = Literal["never awaited", "destroyed pending", "never retrieved"]
