"""The Problems list in the real window: a mistake in a running script shows up
as an entry, badges its task's lane and marks its line; clicking the entry (or
Enter on it) selects the task and shows the line; a deadlock pauses the run; a
correct run shows nothing at all."""

import textwrap

import pytest
from coroscope.widgets.features.problems_feature import SHORTCUT
from coroscope.widgets.views.code_view import PROBLEM_MARK
from coroscope.widgets.views.problems_view import PLACEHOLDER
from coroscope.widgets.views.task_lanes import PROBLEM_BADGE
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QTabBar

pytestmark = pytest.mark.timeout(60)

FORGOTTEN = """\
import asyncio


async def main():
    asyncio.sleep(1)
    await asyncio.sleep(0.2)
    print("main is done")


asyncio.run(main())
"""
FORGOTTEN_LINE = 5

# Each task holds one lock and waits for the other's: neither can ever go on.
DEADLOCK = """\
import asyncio


async def one(mine, theirs):
    async with mine:
        await asyncio.sleep(0.1)
        async with theirs:
            pass


async def main():
    a, b = asyncio.Lock(), asyncio.Lock()
    left = asyncio.create_task(one(a, b), name="left")
    right = asyncio.create_task(one(b, a), name="right")
    await asyncio.gather(left, right)


asyncio.run(main())
"""


def run_script(window, tmp_path, text, name="mine.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    assert window.script_feature.open_path(str(path))
    return path


def wait_finding(qtbot, window, kind):
    findings = window.controller.models.findings
    qtbot.waitUntil(lambda: any(f.kind == kind for f in findings.findings), timeout=10000)
    window.tick()
    return next(f for f in findings.findings if f.kind == kind)


def front_tab(window, title_start):
    """The text of the current tab in the tab bar holding a tab named ``title_start...``."""
    for bar in window.findChildren(QTabBar):
        texts = [bar.tabText(i) for i in range(bar.count())]
        if any(text.startswith(title_start) for text in texts):
            return bar.tabText(bar.currentIndex())
    return None


@pytest.mark.filterwarnings("ignore:coroutine 'sleep' was never awaited")
def test_a_forgotten_await_is_listed_and_clicking_it_shows_its_task_and_line(
    qtbot, window, tmp_path
):
    problems = window.problems
    dock, view = problems.dock, problems.view
    assert dock.windowTitle() == "Problems"
    assert front_tab(window, "Problems") == "Console"  # nothing found yet: it stays behind
    window.activateWindow()
    window.lanes.setFocus()
    qtbot.waitUntil(window.lanes.hasFocus)

    path = run_script(window, tmp_path, FORGOTTEN)
    finding = wait_finding(qtbot, window, "never awaited")
    main = window.controller.tasks.by_name("Task-1")  # asyncio's own name for it
    assert finding.task == main.id
    assert finding.line == FORGOTTEN_LINE and finding.where() == f"mine.py:{FORGOTTEN_LINE}"

    # the list: titled with the count, in front, and the focus left where it was
    assert dock.windowTitle() == "Problems (1)"
    assert front_tab(window, "Problems") == "Problems (1)"
    assert window.lanes.hasFocus()
    assert view.shown() == [finding]
    tip = view.model().index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Never awaited" in tip and "never awaited, so its code never ran" in tip
    assert f"mine.py:{FORGOTTEN_LINE}" in tip

    # the lane's badge and the code line's mark, each with a tooltip
    assert window.lanes.problems() == {main.id: "Never awaited"}
    assert PROBLEM_BADGE in window.lanes._tooltip(window.controller.tasks.get(main.id), None)
    assert window.code.path == str(path.resolve())
    assert set(window.code.problems()) == {FORGOTTEN_LINE}
    block = window.code.document().findBlockByNumber(FORGOTTEN_LINE - 1)
    y = round(window.code.blockBoundingGeometry(block).translated(window.code.contentOffset()).y())
    gutter_tip = window.code._gutter_tip(QPoint(2, y + 2))
    assert PROBLEM_MARK in gutter_tip and "put await in front of it" in gutter_tip

    # click the entry: its task is selected and its line shown
    window.lanes.select(main.id + 1000)  # something else
    rect = view.row_rect(0)
    assert rect.isValid() and rect.height() > 0
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.lanes.selected == main.id
    cursor = window.code.textCursor()
    assert cursor.blockNumber() + 1 == FORGOTTEN_LINE
    assert cursor.selectedText().strip() == "asyncio.sleep(1)"
    assert window.code.viewport().rect().contains(window.code.cursorRect().center())

    # Enter on the entry does the same
    window.lanes.select(main.id + 1000)
    window.code.moveCursor(window.code.textCursor().MoveOperation.Start)
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert window.lanes.selected == main.id
    assert window.code.textCursor().blockNumber() + 1 == FORGOTTEN_LINE

    # a never-awaited coroutine is no reason to stop the run
    assert not window.controller.clock.paused
    qtbot.waitUntil(lambda: "main is done" in window.controller.console.texts(), timeout=5000)

    # a new run starts with a clean list and no marks anywhere
    window.run_demo("hello")
    qtbot.waitUntil(lambda: "hello world!" in window.controller.console.texts(), timeout=5000)
    window.tick()
    assert dock.windowTitle() == "Problems"
    assert view.shown() == []
    assert window.lanes.problems() == {} and window.code.problems() == {}


def test_a_deadlock_is_listed_and_pauses_the_run(qtbot, window, tmp_path):
    run_script(window, tmp_path, DEADLOCK, "locks.py")
    finding = wait_finding(qtbot, window, "deadlock")
    qtbot.waitUntil(lambda: window.controller.clock.paused, timeout=5000)
    tasks = window.controller.tasks
    left, right = tasks.by_name("left"), tasks.by_name("right")
    assert {left.id, right.id} <= set(finding.tasks)
    assert "left and right wait for" in finding.message
    window.tick()
    assert window.problems.dock.windowTitle() == "Problems (1)"
    assert front_tab(window, "Problems") == "Problems (1)"
    assert window.lanes.problems()[left.id] == "Deadlock"
    assert window.lanes.problems()[right.id] == "Deadlock"
    assert "Deadlock" in window.statusBar().currentMessage()
    assert window.pause_action.text() == "Resume"
    # the entry points at the stuck line of the first task named
    view = window.problems.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.row_rect(0).center())
    assert window.lanes.selected == finding.task
    code_line = window.code.textCursor().block().text().strip()
    assert code_line == "async with theirs:"
    assert finding.line in window.code.problems()
    # the run stays paused: the finding asks for nothing more
    for _ in range(3):
        window.tick()
    assert window.controller.clock.paused


# The thread ends without handing the loop anything, so the loop, waiting, never
# looks again: only the window's own look on its frame tick can see the stall.
SILENT_THREAD = """\
import asyncio
import threading
import time


async def main():
    never = asyncio.Event()
    threading.Thread(target=time.sleep, args=(0.3,), name="sleeper").start()
    await never.wait()


asyncio.run(main())
"""


def test_a_stall_left_by_a_thread_ending_is_found_from_the_frame_tick(qtbot, window, tmp_path):
    run_script(window, tmp_path, SILENT_THREAD, "silent.py")
    finding = wait_finding(qtbot, window, "deadlock")
    assert finding.task == window.controller.tasks.by_name("Task-1").id
    assert finding.message.startswith("main (Task-1) waits for Event.wait()")
    qtbot.waitUntil(lambda: window.controller.clock.paused, timeout=5000)
    assert window.problems.dock.windowTitle() == "Problems (1)"


def test_a_correct_run_finds_nothing_and_shows_nothing(qtbot, window):
    window.activateWindow()
    window.controller.set_speed(4)
    window.run_demo("countdown")

    def over():
        main = window.controller.tasks.by_name("main")
        return main is not None and main.state == "done"

    qtbot.waitUntil(over, timeout=10000)
    window.tick()
    assert window.controller.models.findings.findings == []
    assert window.problems.dock.windowTitle() == "Problems"
    assert front_tab(window, "Problems") == "Console"
    assert window.problems.view.shown() == []
    assert window.lanes.problems() == {} and window.code.problems() == {}
    assert not window.controller.clock.paused


def test_the_empty_list_says_so_quietly(qtbot, window):
    view = window.problems.view
    window.problems.show_panel()
    qtbot.waitUntil(lambda: not view.visibleRegion().isEmpty())
    assert view.model().rowCount() == 0
    image = view.viewport().grab().toImage()
    # a dim line of text and nothing else: a few pixels differ from the background
    background = image.pixelColor(2, 2)
    assert any(image.pixelColor(x, image.height() // 2) != background for x in range(image.width()))
    assert PLACEHOLDER == "No problems found"


def test_the_shortcut_shows_the_list_and_is_in_the_help(qtbot, window):
    action = window.problems.show_action
    assert action.shortcut() == QKeySequence(SHORTCUT)
    assert action in window.actions()
    assert "Ctrl+Shift+M" in action.toolTip()
    assert action in window.menu("view").actions()
    window.classroom.show_help()  # F1
    overlay = window.classroom.help_overlay
    try:
        assert ("Ctrl+Shift+M", "Show problems") in overlay._entries
    finally:
        overlay.close_overlay()
    window.problems.dock.hide()
    action.trigger()
    assert window.problems.dock.isVisible()
    assert front_tab(window, "Problems") == "Problems"
    assert QApplication.focusWidget() is window.problems.view or not window.isActiveWindow()
