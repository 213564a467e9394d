"""TimelineModel folds steps into per-task run slices and waits."""

import asyncio
import os

from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models.timeline import TimelineModel
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- waits are kept as the gaps between slices: checked against every wait written out --
KINDS = ("ready", "sleep", "task", "future")


def _history(steps: list, done: bool, ended: bool) -> tuple[list, list]:
    """Events for one task, and the waits they describe written out in full:
    (start, end or None, kind, label)."""
    events = [TaskCreated(1.0, 7, "worker", None, "work", (), run=1)]
    waits = [[1.0, None, "ready", "start"]]
    t = 1.0
    for gap, length, kind in steps + ([(0.25, 0.5, "done")] if done else []):
        started, t = t + gap, t + gap + length
        waits[-1][1] = started
        label = f"{kind}-{round(gap * 10)}"
        events.append(TaskStep(t, 7, started, length, kind, label, None, (USER,)))
        if kind != "done":
            waits.append([t, None, kind, label])
    if ended:
        t += 0.5
        events.append(TaskEnded(t, 7, "cancelled", None, "CancelledError", None))
        if waits[-1][1] is None:
            waits[-1][1] = t
    return events, [tuple(w) for w in waits]


def _written(wait) -> tuple:
    return (wait.start, wait.end, wait.kind, wait.label) if wait else None


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from((0.0, 0.25, 1.0)),
            st.sampled_from((0.0, 0.5)),
            st.sampled_from(KINDS),
        ),
        max_size=12,
    ),
    done=st.booleans(),
    ended=st.booleans(),
    max_slices=st.sampled_from((3, 50)),
    # Every time in these histories is a multiple of 0.25: windows start on them too.
    windows=st.lists(
        st.tuples(st.floats(0, 30) | st.integers(0, 120).map(lambda k: k / 4), st.floats(0, 8)),
        min_size=1,
        max_size=5,
    ),
)
def test_waits_read_back_as_written(steps, done, ended, max_slices, windows):
    events, waits = _history(steps, done, ended)
    model = TimelineModel(max_slices=max_slices)
    for event in events:
        model.apply(event)
    lane = model.lane(7)
    # Past max_slices the oldest slices go, each with the wait before it.
    dropped = len(events) - 1 - ended - len(lane.starts)
    kept = waits[dropped:]
    assert (dropped > 0) == (len(steps) + done > max_slices)
    assert lane.complete_from == (events[dropped + 1].started if dropped else 1.0)
    assert [_written(w) for w in model.waits_between(lane, -1.0, 1e9)] == kept
    edges = [(t, 0.0) for w in waits for t in w[:2] if t is not None]
    for t0, width in windows + edges:
        t1 = t0 + width
        expected = [w for w in kept if w[0] <= t1 and (w[1] is None or w[1] >= t0)]
        assert [_written(w) for w in model.waits_between(lane, t0, t1)] == expected
        covering = [w for w in kept if w[0] <= t0 and (w[1] is None or t0 <= w[1])]
        assert _written(model.wait_at(7, t0)) == (covering[-1] if covering else None)
    assert lane.ended == (events[-1].t if ended else None)
