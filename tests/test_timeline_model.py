"""TimelineModel folds steps into per-task run slices and waits."""

import asyncio
import os

from app.events import TaskCreated, TaskStep
from app.timeline import TimelineModel

USER = ("/home/me/work.py", 12, "work")
SLEEP = (os.path.join(os.path.dirname(asyncio.__file__), "tasks.py"), 0, "sleep")


def _run(model: TimelineModel, task: int, t: float) -> None:
    model.apply(TaskCreated(t, task, "worker", None, "work", (), run=1))
    model.apply(TaskStep(t + 0.5, task, t, 0.001, "sleep", "sleep(1)", t + 1.5, (USER, SLEEP)))


def test_steps_name_their_line_and_the_wait_that_follows_even_after_a_clear():
    model = TimelineModel()
    _run(model, 1, 0.0)
    assert model.slice_at(1, 0.25, 0.1) == (0.0, 0.5, USER)
    wait = model.wait_at(1, 1.0)
    assert (wait.kind, wait.label, wait.start) == ("sleep", "sleep(1)", 0.5)
    # A new run starts the tables afresh; the same await chain must still say its line.
    model.clear()
    _run(model, 2, 10.0)
    assert model.slice_at(2, 10.25, 0.1) == (10.0, 10.5, USER)
