"""CodeView on its own: a demo's source and a TaskModel fed hand-made events.

No controller and no loop: every line a task is parked on is marked in the task's
colour (strongly where it is parked, faintly the awaits it is inside), its name
is tagged in the margin, and the marks follow the tasks as they move and end.
"""

import asyncio
import os
import textwrap

import pytest
from coroscope.loop.events import TaskCreated, TaskEnded, TaskStep
from coroscope.models.task_model import TaskModel
from coroscope.widgets.paint import theme
from coroscope.widgets.views.code_view import MAX_TAGS_PER_LINE, CodeView

from tests.view_helpers import PaintRecorder, shown

pytestmark = pytest.mark.timeout(30)

SOURCE = textwrap.dedent(
    """\
    import asyncio


    async def countdown(name, seconds):
        print(name, "sleeping for", seconds)
        await asyncio.sleep(seconds)
        return seconds


    async def main():
        await asyncio.gather(countdown("a", 2), countdown("b", 3))


    asyncio.run(main())
    """
)
SLEEP_LINE, GATHER_LINE, RUN_LINE = 6, 11, 14
ASYNCIO_SLEEP = (os.path.join(os.path.dirname(asyncio.__file__), "tasks.py"), 600, "sleep")
MAIN, A, B = 1, 2, 3


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "count.py"
    path.write_text(SOURCE)
    return str(path.resolve())


def parked(model, task, path, *lines, waiting="sleep"):
    frames = (*((path, line, "f") for line in lines), ASYNCIO_SLEEP)
    model.apply(TaskStep(1.0, task, 1.0, 0.0001, waiting, "", None, frames))


def countdown_model(path) -> TaskModel:
    model = TaskModel()
    for task, name in ((MAIN, "main"), (A, "a"), (B, "b")):
        model.apply(TaskCreated(0.0, task, name, None, name, (), 1))
    # main is parked in asyncio.run's line, then inside main() on the gather
    parked(model, MAIN, path, RUN_LINE, GATHER_LINE, waiting="task")
    parked(model, A, path, SLEEP_LINE)
    parked(model, B, path, SLEEP_LINE)
    return model


@pytest.fixture
def code(qtbot, demo):
    view = CodeView(countdown_model(demo))
    shown(qtbot, view, 900, 500)
    view.show_source(demo)
    return view


def names(marks, line):
    return [(name, innermost) for _colour, name, innermost in marks.get(line, [])]


def test_each_parked_line_is_marked_with_its_tasks(code):
    assert code.toPlainText() == SOURCE
    marks = code.marks()
    assert sorted(marks) == [SLEEP_LINE, GATHER_LINE, RUN_LINE]
    assert names(marks, SLEEP_LINE) == [("a", True), ("b", True)]
    assert names(marks, GATHER_LINE) == [("main", True)]  # where main is parked
    assert names(marks, RUN_LINE) == [("main", False)]  # an await it is inside
    colours = {name: colour for entries in marks.values() for colour, name, _i in entries}
    for task, name in ((MAIN, "main"), (A, "a"), (B, "b")):
        assert colours[name] == theme.current().task_colour(code.model.get(task).colour)


def test_the_marked_lines_are_highlighted_in_the_text(code):
    selections = {s.cursor.blockNumber() + 1: s for s in code.extraSelections()}
    assert sorted(selections) == [SLEEP_LINE, GATHER_LINE, RUN_LINE]
    # parked lines strongly, outer awaits faintly
    assert selections[SLEEP_LINE].format.background().color().alpha() == 70
    assert selections[GATHER_LINE].format.background().color().alpha() == 70
    assert selections[RUN_LINE].format.background().color().alpha() == 28
    sleep_text = code.document().findBlockByNumber(SLEEP_LINE - 1).text()
    assert sleep_text.strip() == "await asyncio.sleep(seconds)"


def test_the_margin_names_the_tasks_beside_their_lines(code, monkeypatch):
    recorder = PaintRecorder(monkeypatch)
    code.grab()
    # top to bottom: the sleep line's two tasks, main where it is parked, main outside
    assert recorder.texts(code._tags) == ["◀ a", "◀ b", "◀ main", "· main"]
    numbers = recorder.texts(code._numbers)
    assert numbers[:3] == ["1", "2", "3"] and str(RUN_LINE) in numbers
    assert code._tags.toolTip() == "<br>".join(
        [f"line {SLEEP_LINE}: a, b", f"line {GATHER_LINE}: main", f"line {RUN_LINE}: main"]
    )


def test_a_narrow_view_tags_with_dots_instead_of_names(code, monkeypatch):
    code.resize(60, 500)  # names would take more than half the width
    recorder = PaintRecorder(monkeypatch)
    code.grab()
    assert code._compact
    assert code._tags.width() > 0  # a dot per task still shows
    assert recorder.texts(code._tags) == []


def test_marks_follow_tasks_as_they_move_and_end(code, demo):
    model = code.model
    parked(model, A, demo, 5)  # a runs on to the print line
    model.apply(TaskEnded(2.0, B, "done", "3", None, None))
    code.refresh()
    marks = code.marks()
    assert names(marks, 5) == [("a", True)]
    assert SLEEP_LINE not in marks  # b ended, a moved on
    assert [s.cursor.blockNumber() + 1 for s in code.extraSelections()] == [
        5,
        GATHER_LINE,
        RUN_LINE,
    ]


def test_a_crowded_line_gets_one_tag(code, demo):
    model = code.model
    for task in range(10, 10 + MAX_TAGS_PER_LINE + 3):
        model.apply(TaskCreated(0.0, task, f"w{task}", None, "w", (), 1))
        parked(model, task, demo, SLEEP_LINE)
    code.refresh()
    entries = code.marks()[SLEEP_LINE]
    assert len(entries) == 1
    assert entries[0][1] == f"a +{2 + MAX_TAGS_PER_LINE + 3 - 1:,} more"


def test_tasks_in_other_files_leave_no_mark(qtbot, demo, tmp_path):
    other = tmp_path / "other.py"
    other.write_text("print('other')\n")
    view = CodeView(countdown_model(demo))
    qtbot.addWidget(view)
    view.show_source(str(other))
    assert view.marks() == {}
    assert view.extraSelections() == []


def test_an_unreadable_file_says_why(qtbot, tmp_path):
    view = CodeView(TaskModel())
    qtbot.addWidget(view)
    view.show_source(str(tmp_path / "missing.py"))
    assert view.toPlainText().startswith(f"# Cannot show {tmp_path / 'missing.py'}: ")
