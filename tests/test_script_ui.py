"""Opening your own script in the real window, and the window surviving it.

Each test drives the window the way a person would (menu actions, a dropped
file, the Reload key, saving the file) and checks the loop state, the lanes,
the console and the problem banner; the misbehaving ones then run a demo to
show the app still responds.
"""

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from coroscope.loop.events import LoopBlocked
from coroscope.widgets.features.script_feature import SAMPLE_GROUPS, SAMPLES_DIR
from coroscope.widgets.views.code_view import MAX_TAGS_PER_LINE
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog

pytestmark = pytest.mark.timeout(45)


@pytest.fixture
def scripts(window):
    return window.script_feature


def wait_text(qtbot, window, text, timeout=5000):
    qtbot.waitUntil(lambda: text in window.controller.console.texts(), timeout=timeout)


def wait_state(qtbot, window, name, state, timeout=5000):
    def reached():
        row = window.controller.tasks.by_name(name)
        return row is not None and row.state == state

    qtbot.waitUntil(reached, timeout=timeout)
    return window.controller.tasks.by_name(name)


def still_responds(qtbot, window):
    """A demo runs to its end afterwards: the window and loop are fine."""
    window.run_demo("hello")
    wait_text(qtbot, window, "hello world!")
    wait_state(qtbot, window, "main", "done")


def banner(qtbot, window):
    feature = window.script_feature
    qtbot.waitUntil(lambda: feature.dock.isVisible(), timeout=5000)
    return feature.banner


def write(tmp_path, text, name="mine.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def drop(widget, path: Path):
    pos = QPoint(40, 40)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    actions = Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, actions, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    dropped = QDropEvent(QPointF(pos), actions, mime, buttons, modifiers)
    QApplication.sendEvent(widget, dropped)
    return enter.isAccepted(), dropped.isAccepted()


# -- opening --------------------------------------------------------------------------


def test_file_open_dialog_runs_the_chosen_script(qtbot, window, scripts):
    action = scripts.open_action
    assert action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert "runs as Python on this computer" in action.statusTip()
    action.trigger()
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QFileDialog))
    assert not dialog.isModal() or dialog.windowModality() != Qt.WindowModality.ApplicationModal
    dialog.fileSelected.emit(str(SAMPLES_DIR / "countdown_run.py"))
    dialog.close()
    row = wait_state(qtbot, window, "task1", "sleep")
    window.tick()
    # the code view shows the script with the suspended line marked
    assert window.code.path == str(SAMPLES_DIR / "countdown_run.py")
    lines = window.code.toPlainText().splitlines()
    assert lines[row.line[1] - 1].strip() == "await asyncio.sleep(seconds)"
    assert sorted(n for _c, n, _i in window.code.marks()[row.line[1]]) == [
        "task1",
        "task2",
        "task3",
    ]
    # print() goes to the console tagged with the task
    assert "[task2] task2 sleeping for 3 s" in window.console.toPlainText()
    assert window.windowTitle().startswith("countdown_run.py")
    assert window.gallery.current_key is None  # F5 now means this script


def test_every_sample_is_in_the_samples_menu_and_runs(qtbot, window, scripts):
    listed = [name for names in SAMPLE_GROUPS.values() for name in names]
    assert sorted(listed) == sorted(p.name for p in SAMPLES_DIR.glob("*.py"))
    action = next(a for a in scripts.samples_menu.actions() if a.text() == "wait_and_gather.py")
    assert action.toolTip() and action.statusTip() == action.toolTip()
    action.trigger()
    qtbot.waitUntil(
        lambda: window.controller.run is not None and window.controller.run.over, timeout=15000
    )
    assert window.controller.tasks.by_name("Task-1").state == "done"
    assert not scripts.dock.isVisible()  # a correct program: nothing to say


def test_a_script_that_runs_no_loop_is_told_why_nothing_ran(qtbot, window, scripts):
    """As under python, a module that only defines main() runs nothing; the banner
    says so, with the fix, rather than Coroscope running main() behind its back."""
    action = next(a for a in scripts.samples_menu.actions() if a.text() == "main_only.py")
    action.trigger()
    shown = banner(qtbot, window)
    assert shown.headline.text() == (
        "main_only.py ended without running an event loop, so no task ever ran."
    )
    assert "asyncio.run(main())" in shown.hint.text()
    assert window.controller.tasks.rows() == []
    assert "without running an event loop" in window.console.toPlainText()


def test_dropping_a_file_on_the_window_or_the_code_view_runs_it(qtbot, window, scripts):
    accepted = drop(window, SAMPLES_DIR / "run_no_guard.py")
    assert accepted == (True, True)
    wait_text(qtbot, window, "hello, again")
    # a drop on a child (the read-only code view) reaches the window as well
    drop(window.code.viewport(), SAMPLES_DIR / "countdown_run.py")
    wait_text(qtbot, window, "task3 sleeping for 2 s")


def test_dropping_a_file_that_is_not_python_says_so(qtbot, window, scripts, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list")
    drop(window, notes)
    shown = banner(qtbot, window)
    assert "notes.txt: is not a Python script" in shown.title.text()
    assert "is not a Python script" in window.statusBar().currentMessage()
    still_responds(qtbot, window)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.py", "", "empty.py: is empty: there is no code to run"),
        ("huge.py", "x = 1\n" * 200_000, "huge.py: is too large to open (1.2 MB"),
    ],
)
def test_empty_and_huge_files_get_a_clear_message(
    qtbot, window, scripts, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_text(content)
    assert not scripts.open_path(str(path))
    assert message in banner(qtbot, window).title.text()
    assert window.controller.run is None  # nothing ran
    still_responds(qtbot, window)


def test_syntax_error_shows_file_line_and_caret_and_app_stays_usable(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "syntax_error.py"))
    shown = banner(qtbot, window)
    assert shown.headline.text() == "syntax_error.py is not valid Python: fix it, then Reload."
    assert shown.title.text() == "syntax_error.py, line 7: SyntaxError: '(' was never closed"
    code, caret = shown.excerpt.text().splitlines()
    assert code.startswith("7 |     print(")
    assert caret.index("^") == code.index("(")
    # the broken file is shown with the line selected
    cursor = window.code.textCursor()
    assert cursor.blockNumber() == 6 and cursor.selectedText().strip().startswith("print(")
    shown.close_button.click()
    window.tick()
    assert not scripts.dock.isVisible()
    still_responds(qtbot, window)


def test_show_line_jumps_to_the_problem(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "import_error.py"))
    shown = banner(qtbot, window)
    assert "No module named 'no_such_module_for_coroscope'" in shown.title.text()
    window.code.show_source(str(SAMPLES_DIR / "countdown_run.py"))
    shown.show_line.click()
    assert window.code.path == str(SAMPLES_DIR / "import_error.py")
    assert window.code.textCursor().selectedText() == "import no_such_module_for_coroscope"
    still_responds(qtbot, window)


# -- reloading ----------------------------------------------------------------------------


def test_reload_and_run_rerun_the_edited_file(qtbot, window, scripts, tmp_path):
    scripts.auto_reload_action.setChecked(False)
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            print("version 1")

        asyncio.run(main())
        """,
    )
    scripts.open_path(str(path))
    wait_text(qtbot, window, "version 1")
    path.write_text(path.read_text().replace("version 1", "version 2"))
    qtbot.keyClick(
        window,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    wait_text(qtbot, window, "version 2")
    assert "version 2" in window.code.toPlainText()
    path.write_text(path.read_text().replace("version 2", "version 3"))
    window.run_action.trigger()  # F5 with no demo picked: the script again
    wait_text(qtbot, window, "version 3")


def test_saving_the_file_reruns_it(qtbot, window, scripts, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            while True:
                print("old")
                await asyncio.sleep(0.2)

        asyncio.run(main())
        """,
    )
    scripts.open_path(str(path))
    wait_text(qtbot, window, "old")
    path.write_text(path.read_text().replace('"old"', '"new"'))
    wait_text(qtbot, window, "new", timeout=8000)
    assert window.controller.tasks.by_name("Task-1").state != "done"
    # a save that breaks the file shows why, and the next good save runs again
    path.write_text("import asyncio\nprint('oops'\n")
    shown = banner(qtbot, window)
    assert "SyntaxError" in shown.title.text()
    path.write_text(
        "import asyncio\n\nasync def main():\n    print('fixed')\n\nasyncio.run(main())\n"
    )
    wait_text(qtbot, window, "fixed", timeout=8000)
    qtbot.waitUntil(lambda: not scripts.dock.isVisible(), timeout=3000)


def test_recent_scripts_are_remembered(qtbot, controller, tmp_path):
    from coroscope.widgets.shell.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    path = write(tmp_path, "import asyncio\nasync def main():\n    pass\n")
    first = MainWindow(controller, settings=settings)
    qtbot.addWidget(first)
    first.script_feature.open_path(str(path))
    assert [a.toolTip() for a in first.script_feature.recent_menu.actions()] == [str(path)]
    first.close()
    second = MainWindow(controller, settings=settings)
    qtbot.addWidget(second)
    recent = second.script_feature.recent_menu
    assert recent.isEnabled() and recent.actions()[0].text() == "mine.py"
    second.close()


# -- misbehaving scripts ----------------------------------------------------------------------


def test_exception_in_a_task_shows_on_its_lane_and_in_the_console(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "task_exception.py"))
    divide = wait_state(qtbot, window, "divide", "failed")
    window.tick()
    assert divide.exception == "ZeroDivisionError: division by zero"
    assert window.lanes._info_text(divide) == "ZeroDivisionError: division by zero"
    # where it was raised is on the lane; the console shows only what Python
    # printed, and it prints nothing for an exception main then caught
    assert "raised at task_exception.py:9 in divide" in window.lanes._tooltip(divide, None)
    wait_text(qtbot, window, "main saw: ZeroDivisionError('division by zero')")
    assert "Traceback (most recent call last):" not in window.console.toPlainText()
    still_responds(qtbot, window)


def test_a_crashed_script_gets_the_banner(qtbot, window, scripts, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            await asyncio.sleep(0.1)
            return {}["missing"]

        asyncio.run(main())
        """,
    )
    scripts.open_path(str(path))
    shown = banner(qtbot, window)
    assert shown.headline.text() == "mine.py failed with KeyError: 'missing' (exit code 1)."
    assert shown.title.text() == "mine.py, line 5: KeyError: 'missing'"
    # and python's own traceback, unchanged, in the console
    text = window.console.toPlainText()
    assert "Traceback (most recent call last):" in text and "KeyError: 'missing'" in text
    assert text.count("Traceback (most recent call last):") == 1  # once, as python prints it
    still_responds(qtbot, window)
    # a new run clears the old problem
    qtbot.waitUntil(lambda: not scripts.dock.isVisible(), timeout=2000)


def test_sys_exit_is_reported_and_the_app_keeps_running(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "sys_exit.py"))
    # sys.exit(0) is how a program ends well: no banner, the console says where
    wait_text(qtbot, window, "■ sys_exit.py ended (sys.exit() at line 11, exit code 0)")
    assert not scripts.dock.isVisible()
    assert window.isVisible()
    still_responds(qtbot, window)


def test_input_is_reported_without_waiting(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "input_call.py"))
    shown = banner(qtbot, window)
    assert "EOFError: EOF when reading a line" in shown.title.text()
    assert "no keyboard" in shown.hint.text()
    assert "name = input(" in shown.excerpt.text()
    still_responds(qtbot, window)


def test_a_blocking_sleep_is_shown_at_its_line_while_the_window_stays_free(qtbot, window, scripts):
    """time.sleep(30) holds the script's loop, not the window's: the banner says
    where it is stuck while it is, and Stop ends the script without waiting 30 s."""
    scripts.open_path(str(SAMPLES_DIR / "blocking_sleep.py"))
    shown = banner(qtbot, window)
    qtbot.waitUntil(lambda: "sleeper" in shown.headline.text(), timeout=8000)
    assert shown.headline.text().startswith("sleeper is holding the loop")
    assert shown.excerpt.text().splitlines()[0] == "20 |     time.sleep(30)"
    assert "has waited for" in shown.title.text()
    assert "await asyncio.sleep" in shown.hint.text()
    # its lane says it is running (holding the loop), not the "ready" it last was
    assert window.controller.tasks.by_name("sleeper").state == "running"
    run = window.controller.run
    started = time.monotonic()
    window.stop()
    qtbot.waitUntil(lambda: run.over, timeout=8000)
    assert time.monotonic() - started < 6
    assert run.child.outcome.killed == "terminated"  # it could not hear the Stop in time.sleep
    still_responds(qtbot, window)


def test_a_busy_loop_never_freezes_the_window(qtbot, window, scripts, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            await asyncio.sleep(0.1)
            while True:
                pass

        asyncio.run(main())
        """,
    )
    scripts.open_path(str(path))
    shown = banner(qtbot, window)
    qtbot.waitUntil(lambda: "has computed for" in shown.title.text(), timeout=8000)
    assert shown.headline.text().startswith("Task-1 is holding the loop")
    assert shown.excerpt.text().split("|")[0].strip() in ("5", "6")
    # the window's own loop runs on while the script spins
    ran = []
    window.controller.loop.call_later(0.05, ran.append, True)
    qtbot.waitUntil(lambda: ran == [True], timeout=1000)
    run = window.controller.run
    window.stop()
    qtbot.waitUntil(lambda: run.over, timeout=8000)
    # where it was stuck when it was ended is on record, as a blocking step
    (blocked,) = [e for e in window.controller.events.of_type(LoopBlocked) if e.line in (5, 6)]
    assert blocked.cpu > 0.5 and blocked.wall > 0.2
    still_responds(qtbot, window)


def test_print_flood_keeps_the_console_bounded_and_responsive(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "print_flood.py"))
    wait_text(qtbot, window, "flood over", timeout=30000)
    window.tick()
    console = window.controller.console
    assert len(console.lines()) == console.capacity
    assert console.dropped > 90_000
    assert window.console.document().blockCount() <= console.capacity
    assert "[Task-1] flood over" in window.console.toPlainText()
    still_responds(qtbot, window)


def test_ten_thousand_tasks_paint_only_the_visible_lanes(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "many_tasks.py"))
    tasks = window.controller.tasks

    def all_created():
        # Says what it saw if the wait times out (this once failed only in full runs).
        events = window.controller.events
        assert len(tasks) >= 10_001, (
            f"{len(tasks)} tasks; running={window.controller.running}; "
            f"held={events._holding}, pending={len(events._pending)}; "
            f"console tail={window.controller.console.texts()[-3:]}"
        )

    qtbot.waitUntil(all_created, timeout=15000)
    qtbot.waitUntil(lambda: sum(r.state == "sleep" for r in tasks.rows()) > 100, timeout=5000)
    window.tick()
    lanes = window.lanes
    painted = []
    original = lanes._paint_row
    lanes._paint_row = lambda p, row, *rest: (painted.append(row.id), original(p, row, *rest))
    lanes._pictures.clear()  # draw every visible row afresh, not from last frame's pictures
    lanes.new_looks_budget = math.inf  # and all of them in this one frame
    lanes.viewport().repaint()
    visible = lanes.viewport().height() // lanes.row_height + 2
    assert 0 < len(painted) <= visible
    lanes.verticalScrollBar().setValue(lanes.verticalScrollBar().maximum())
    painted.clear()
    lanes.viewport().repaint()
    assert painted and painted[-1] == lanes._rows[-1].id and len(painted) <= visible
    lanes._paint_row = original
    # the code view names a few tasks on the busy line and counts the rest
    window.code._version = -1
    window.code.refresh()
    marks = window.code.marks()
    assert all(len(tags) <= MAX_TAGS_PER_LINE for tags in marks.values())
    sleep_line = 8  # await asyncio.sleep(random.uniform(1, 5))
    parked = sum(
        1 for r in window.controller.tasks.rows() if r.live and r.line and r.line[1] == sleep_line
    )
    assert parked > MAX_TAGS_PER_LINE
    assert len(marks[sleep_line]) == 1
    assert marks[sleep_line][0][1].endswith(f" +{parked - 1:,} more")
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=15000)
    still_responds(qtbot, window)


CLI_PROGRAM = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from coroscope.cli import commands as cli
from coroscope.widgets.shell.gui import make_application

make_application()

def check():
    window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "MainWindow")
    feature = getattr(window, "script_feature", None)  # installed once the window painted
    if feature is not None and "hello, again" in window.controller.console.texts():
        sys.__stdout__.write(f"ran; watching {feature.watcher.files()}\\n")
        window.close()
    else:
        QTimer.singleShot(50, check)

QTimer.singleShot(50, check)
sys.exit(cli.main(["run", sys.argv[1]]))
"""


def test_coroscope_run_script_opens_the_app_on_it(tmp_path):
    root = Path(__file__).resolve().parent.parent
    script = root / "resources" / "samples" / "run_no_guard.py"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", CLI_PROGRAM, str(script)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"ran; watching ['{script}']"]
    assert "Traceback" not in out.stderr
    assert "was destroyed" not in out.stderr


def test_the_rerun_note_after_a_save_goes_away_by_itself(
    qtbot, window, scripts, tmp_path, monkeypatch
):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def main():
            print("first")
            await asyncio.sleep(30)

        asyncio.run(main())
        """,
    )
    scripts.open_path(str(path))
    wait_text(qtbot, window, "first")
    notes = []
    bar = window.statusBar()
    monkeypatch.setattr(bar, "showMessage", lambda text, timeout=0: notes.append((text, timeout)))
    path.write_text(path.read_text().replace('"first"', '"second"'))
    wait_text(qtbot, window, "second", timeout=8000)
    [(text, timeout)] = [note for note in notes if "changed" in note[0]]
    assert text == f"{path.name} changed: running it again"
    assert 0 < timeout <= 10_000


CLI_PYTHON_PROGRAM = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from coroscope.cli import commands as cli
from coroscope.widgets.shell.gui import make_application

make_application()

def check():
    window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "MainWindow")
    run = window.controller.run if window.controller is not None else None
    if run is not None and run.over:
        sys.__stdout__.write("\\n".join(window.controller.console.texts()) + "\\n")
        window.close()
    else:
        QTimer.singleShot(50, check)

QTimer.singleShot(50, check)
sys.exit(cli.main(sys.argv[1:]))
"""


def _other_python():
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob("3.1[23]*/bin/python"))
    return found[-1] if found else None


@pytest.mark.skipif(_other_python() is None, reason="no Python 3.12 or 3.13 under pyenv")
def test_coroscope_run_takes_the_scripts_python_and_arguments(tmp_path):
    python = _other_python()
    script = tmp_path / "which.py"
    script.write_text(
        "import asyncio, sys\n\n"
        "async def main():\n"
        "    print('%d.%d' % sys.version_info[:2], sys.argv[1:])\n\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI_PYTHON_PROGRAM,
            "run",
            str(script),
            "--python",
            str(python),
            "--",
            "--port",
            "8080",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    wanted = python.parent.parent.name.rsplit(".", 1)[0]
    assert f"{wanted} ['--port', '8080']" in out.stdout.splitlines(), out.stdout


def test_a_missing_module_is_named_at_its_line_with_where_to_install_it(qtbot, window, scripts):
    scripts.open_path(str(SAMPLES_DIR / "import_error.py"))
    shown = banner(qtbot, window)
    title = "ModuleNotFoundError: No module named 'no_such_module_for_coroscope'"
    assert shown.title.text() == f"import_error.py, line 4: {title}"
    assert shown.excerpt.text().splitlines()[0].startswith("4 | import no_such_module")
    assert "the Python the script runs on" in shown.hint.text()
    still_responds(qtbot, window)
