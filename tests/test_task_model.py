import pytest
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep, TimerMoved
from coroscope.models.task_model import TaskModel


def test_model_folds_a_task_life():
    model = TaskModel()
    model.apply(TaskCreated(0.0, 1, "task1", None, "countdown", (("f.py", 3, "countdown"),), 1))
    assert model.get(1).state == "ready"
    model.apply(
        TaskStep(0.0, 1, 0.0, 0.0001, "sleep", "sleep(4)", 4.0, (("f.py", 5, "countdown"),))
    )
    row = model.get(1)
    assert row.state == "sleep"
    assert row.remaining(1.0) == pytest.approx(3.0)
    assert row.sleep_fraction(1.0) == pytest.approx(0.75)
    assert row.line == ("f.py", 5, "countdown")
    model.apply(TimerMoved(1.0, 7, 2.0, sleeper=1))
    assert row.due == 2.0
    assert row.sleep_fraction(1.0) == pytest.approx(0.5)
    model.apply(TaskStep(2.0, 1, 2.0, 0.0001, "done", "", None, ()))
    model.apply(TaskEnded(2.0, 1, "done", "'ok'", None, None))
    assert row.state == "done"
    assert row.resumes == 2
    assert row.outcome == "returned 'ok'"
    assert not row.live


def test_runs_only_hides_app_tasks_and_finished_rows_are_bounded():
    model = TaskModel(keep_finished=3, runs_only=True)
    model.apply(TaskCreated(0.0, 99, "coroscope-stop", None, "stop", (), None))
    assert model.get(99) is None
    for i in range(1, 7):
        model.apply(TaskCreated(0.0, i, f"t{i}", None, "c", (), 1))
        model.apply(TaskEnded(0.0, i, "done", "None", None, None))
    # The oldest finished rows are folded away and counted; the run's first task
    # (its main, created by the loop) always stays, whatever came after it.
    assert [r.name for r in model.rows()] == ["t1", "t4", "t5", "t6"]
    assert model.folded == 2
    model.clear()
    assert model.folded == 0


def test_version_changes_only_on_visible_changes():
    model = TaskModel()
    v0 = model.version
    model.apply(TimerMoved(0.0, 1, 1.0))  # a timer no task sleeps on
    assert model.version == v0
    model.apply(TaskCreated(0.0, 1, "a", None, "a", ()))
    assert model.version > v0


def test_roster_changes_when_tasks_arrive_or_end_but_not_when_they_step():
    model = TaskModel()
    model.apply(TaskCreated(0.0, 1, "task1", None, "countdown", (), 1))
    arrived = model.roster
    for t in range(1, 4):
        model.apply(TaskStep(float(t), 1, float(t), 0.0001, "sleep", "sleep(1)", t + 1.0, ()))
    assert model.roster == arrived  # steps change the row, not who is there
    model.apply(TaskEnded(4.0, 1, "done", "None", None, None))
    ended = model.roster
    assert ended > arrived
    model.clear()
    assert model.roster > ended


def test_a_task_asyncio_made_for_itself_is_named_by_its_coroutine(headless_controller):
    """A subprocess transport starts a task of asyncio's own (Task-N, running
    _connect_pipes): its lane says what it is rather than a bare number."""
    from coroscope.control.targets import demo_target

    c = headless_controller
    run = c.start(demo_target("subprocess_pipes"))
    c.loop.run_until_complete(run.main)
    names = [row.name for row in c.tasks.rows()]
    assert "asyncio _connect_pipes" in names
    assert not [name for name in names if name.startswith("Task-")]
