"""A user's script, in every common form, runs headless to the expected trace.

Each test loads a file through ``resolve`` (what ``coroscope run`` and
``coroscope trace`` use), runs it on the autojump loop, and checks the tasks,
their states and loop-clock finish times, and what they printed.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from coroscope.control.controller import Controller
from coroscope.control.targets import UnknownTargetError
from coroscope.scripts.loader import MAX_SCRIPT_BYTES, ScriptError, load_script, resolve, script_of

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


@pytest.fixture
def capturing(headless):
    controller = Controller(headless, capture_output=True)
    yield controller
    controller.close()


def run_script(controller, path):
    target = resolve(str(path))
    run = controller.start(target)
    controller.loop.run_until_complete(run.main)
    return controller


def printed(controller):
    return [line.text for line in controller.console.lines() if line.kind == "stdout"]


def states(controller):
    return {row.name: row.state for row in controller.tasks.rows()}


def finished(controller, name):
    """Loop seconds from the script's start (the loop clock began when the loop was made)."""
    return controller.tasks.by_name(name).finished - controller.tasks.by_name("main").created


def write(tmp_path, text, name="script.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# -- each form runs ---------------------------------------------------------------


def test_asyncio_run_with_main_guard(capturing):
    run_script(capturing, SAMPLES / "countdown_run.py")
    assert states(capturing) == {n: "done" for n in ("main", "task1", "task2", "task3")}
    for name, seconds in (("task1", 4), ("task2", 3), ("task3", 2)):
        assert finished(capturing, name) == pytest.approx(seconds, abs=0.05)
    assert printed(capturing)[-4:] == [
        "task3 is finished",
        "task2 is finished",
        "task1 is finished",
        "main: slept [4, 3, 2]",
    ]
    # print() output is tagged with the task that printed it
    by_task = {line.text: line.task for line in capturing.console.lines()}
    assert by_task["task2 sleeping for 3 s"] == capturing.tasks.by_name("task2").id


def test_asyncio_run_without_guard(capturing):
    run_script(capturing, SAMPLES / "run_no_guard.py")
    assert printed(capturing) == ["hello, world", "hello, again"]
    assert finished(capturing, "main") == pytest.approx(1.5, abs=0.05)


def test_tutorial_get_event_loop_run_until_complete_close(capturing):
    run_script(capturing, SAMPLES / "tutorial_loop.py")
    rows = capturing.tasks.rows()
    assert [r.state for r in rows] == ["done"] * 4  # main + three countdowns
    assert sorted(r.finished - rows[0].created for r in rows[1:]) == pytest.approx(
        [2, 3, 4], abs=0.05
    )
    assert printed(capturing) == [
        "task1 sleeping for: 4 seconds",
        "task2 sleeping for: 3 seconds",
        "task3 sleeping for: 2 seconds",
        "task3 is finished",
        "task2 is finished",
        "task1 is finished",
    ]
    assert not capturing.loop.is_closed()  # loop.close() did not close the app's loop


def test_wait_and_gather_of_tasks(capturing):
    run_script(capturing, SAMPLES / "wait_and_gather.py")
    assert printed(capturing) == [
        "first finished: ['job1 after 1 s']; still running: 2",
        "all: ['job3 after 3 s', 'job1 after 1 s', 'job2 after 2 s']",
    ]
    assert finished(capturing, "main") == pytest.approx(3, abs=0.05)
    assert capturing.tasks.by_name("job2").result == "'job2 after 2 s'"


def test_generator_based_coroutines(capturing):
    run_script(capturing, SAMPLES / "generator_coroutines.py")
    assert printed(capturing)[-1] == "slept [2, 1]"
    rows = [r for r in capturing.tasks.rows() if r.coro == "countdown"]
    assert [r.state for r in rows] == ["done", "done"]
    assert sorted(finished(capturing, r.name) for r in rows) == pytest.approx([1, 2], abs=0.05)
    assert all(r.resumes == 2 for r in rows)


def test_module_that_only_defines_async_main(capturing):
    run_script(capturing, SAMPLES / "main_only.py")
    assert printed(capturing) == [
        "left tick 1",
        "right tick 1",
        "left tick 2",
        "right tick 2",
        "left tick 3",
        "both done",
    ]
    assert states(capturing) == {"main": "done", "left": "done", "right": "done"}
    assert finished(capturing, "left") == pytest.approx(1.5, abs=0.05)


def test_plain_script_with_no_asyncio_runs_and_says_so(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        def main():
            print("never called, as with python")

        print("top level ran")
        """,
    )
    run_script(capturing, path)
    assert printed(capturing) == ["top level ran"]
    problem = script_of(capturing.target).outcome
    assert problem.kind == "info"
    assert problem.headline == "script.py ran to the end without starting asyncio."
    assert "script.py ran to the end without starting asyncio" in [
        line.text for line in capturing.console.lines() if line.kind == "session"
    ]


def test_plain_def_main_that_drives_the_loop(capturing):
    run_script(capturing, SAMPLES / "sync_main.py")
    assert printed(capturing) == ["Compute 1 + 2 ...", "1 + 2 = 3"]
    assert finished(capturing, "main") == pytest.approx(1, abs=0.05)
    assert script_of(capturing.target).converted == ("main",)


def test_run_forever_until_a_callback_stops_the_loop(capturing):
    run_script(capturing, SAMPLES / "run_forever.py")
    lines = printed(capturing)
    assert len(lines) == 5 and lines[-1] == "loop stopped"  # ticks at 0, 1, 2, 3
    assert finished(capturing, "main") == pytest.approx(3.5, abs=0.05)
    ticker = next(r for r in capturing.tasks.rows() if r.coro == "display_date")
    assert ticker.state == "cancelled"  # left running when the script ended
    notes = [line.text for line in capturing.console.lines() if line.kind == "session"]
    assert any("cancelling 1 task(s) it left running" in text for text in notes)


def test_aliases_and_from_imports(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio as aio
        from asyncio import get_event_loop, run as start

        async def main():
            await aio.sleep(2)
            print("slept", get_event_loop().time() >= 2)

        start(main())
        """,
    )
    run_script(capturing, path)
    assert printed(capturing) == ["slept True"]


def test_layered_plain_functions_and_a_call_split_over_lines(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio

        async def work():
            await asyncio.sleep(1)
            return 7

        def drive():
            return asyncio.run(
                work()
            )

        def cli():
            print("result", drive())
            return 0

        if __name__ == "__main__":
            raise SystemExit(cli())
        """,
    )
    run_script(capturing, path)
    assert printed(capturing) == ["result 7"]
    assert script_of(capturing.target).converted == ("cli", "drive")
    assert finished(capturing, "main") == pytest.approx(1, abs=0.05)


def test_script_globals_look_like_python_script(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio
        print(__name__, __file__.endswith("script.py"))

        async def main():
            print(asyncio.get_running_loop().is_running())

        asyncio.run(main())
        """,
    )
    run_script(capturing, path)
    assert printed(capturing) == ["__main__ True", "True"]


def test_sibling_module_imports_and_reload_sees_its_edits(capturing, tmp_path):
    write(tmp_path, "VALUE = 1\n", "helper_for_coroscope_test.py")
    path = write(
        tmp_path,
        """\
        import asyncio
        import helper_for_coroscope_test

        async def main():
            print("value", helper_for_coroscope_test.VALUE)

        asyncio.run(main())
        """,
    )
    run_script(capturing, path)
    write(tmp_path, "VALUE = 2\n", "helper_for_coroscope_test.py")
    run_script(capturing, path)
    assert printed(capturing) == ["value 1", "value 2"]


def test_code_marks_point_at_lines_of_the_file(capturing):
    path = SAMPLES / "countdown_run.py"
    target = resolve(str(path))
    capturing.start(target)
    for _ in range(20):
        capturing.loop.run_until_complete(asyncio_sleep(0.1))
        row = capturing.tasks.by_name("task1")
        if row is not None and row.state == "sleep":
            break
    line = row.line
    assert line[0] == str(path.resolve())
    assert path.read_text().splitlines()[line[1] - 1].strip() == "await asyncio.sleep(seconds)"
    main = capturing.tasks.by_name("main")
    levels = [f for f in main.frames if f[0] == str(path.resolve())]
    # main is parked in the module body's asyncio.run line, then in main()'s gather
    texts = [path.read_text().splitlines()[f[1] - 1].strip() for f in levels]
    assert texts == ["asyncio.run(main())", "results = await asyncio.gather(*tasks)"]


async def asyncio_sleep(seconds):
    import asyncio

    await asyncio.sleep(seconds)


def test_demo_keys_still_resolve():
    assert resolve("countdown").key == "countdown"
    with pytest.raises(UnknownTargetError, match="unknown demo 'nope'"):
        resolve("nope")


# -- files that cannot run ------------------------------------------------------------


def problem_of(path):
    with pytest.raises(ScriptError) as info:
        resolve(str(path))
    assert isinstance(info.value, UnknownTargetError)  # the CLI catches this one
    return info.value.problem


def test_syntax_error_gives_file_line_and_caret():
    problem = problem_of(SAMPLES / "syntax_error.py")
    assert problem.line == 7
    assert problem.title.startswith("SyntaxError: '(' was never closed")
    assert str(problem.one_line()).startswith("syntax_error.py:7:10: SyntaxError")
    code, caret = problem.excerpt().splitlines()
    assert code.startswith("7 |     print(")
    assert caret.index("^") == code.index("(")  # the caret sits under the open bracket
    assert "is not valid Python" in problem.details()


def test_missing_module_is_reported_before_running():
    problem = problem_of(SAMPLES / "import_error.py")
    assert problem.title == "ModuleNotFoundError: No module named 'no_such_module_for_coroscope'"
    assert problem.line == 4
    code, caret = problem.excerpt().splitlines()
    assert code[caret.index("^") :].startswith("no_such_module_for_coroscope")
    assert caret.count("^") == len("no_such_module_for_coroscope")


def test_optional_import_inside_try_is_not_checked(capturing, tmp_path):
    path = write(
        tmp_path,
        """\
        import asyncio
        try:
            import no_such_module_for_coroscope
        except ImportError:
            print("optional module missing")

        async def main():
            pass

        asyncio.run(main())
        """,
    )
    run_script(capturing, path)
    assert printed(capturing) == ["optional module missing"]


def test_top_level_await_is_a_syntax_error_like_python(tmp_path):
    path = write(tmp_path, "import asyncio\nawait asyncio.sleep(1)\n")
    problem = problem_of(path)
    assert problem.title == "SyntaxError: 'await' outside function"
    assert (problem.line, problem.column) == (2, 1)


def test_return_outside_function_found_by_the_compiler(tmp_path):
    problem = problem_of(write(tmp_path, "x = 1\nreturn x\n"))
    assert problem.title == "SyntaxError: 'return' outside function"
    assert problem.line == 2
    assert problem.source_line == "return x"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"print('hi')\n", "notes.txt: is not a Python script: Coroscope opens .py"),
        ("empty.py", b"", "empty.py: is empty: there is no code to run"),
        ("blank.py", b"\n\n   \n", "blank.py: is empty"),
        ("comments.py", b"# just a comment\n", "comments.py: has no code to run"),
        ("binary.py", b"\x7fELF\x02\x01\x01\x00\x00", "binary.py: is not a Python script: it "),
        ("latin1.py", "print('café')\n".encode("latin-1"), "latin1.py: is not a Python script"),
    ],
)
def test_files_that_are_not_runnable_python(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScriptError) as info:
        resolve(str(path))
    assert str(info.value).startswith(message)


def test_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.py"
    path.write_bytes(b"x = 1\n" * (MAX_SCRIPT_BYTES // 6 + 10))
    with pytest.raises(ScriptError, match=r"huge.py: is too large to open \(1.0 MB; scripts"):
        load_script(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScriptError, match=r"gone\.py: no such file"):
        resolve(str(tmp_path / "gone.py"))
    with pytest.raises(ScriptError, match="is a folder"):
        load_script(tmp_path)


def test_cli_run_of_a_broken_script_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "coroscope", "run", str(SAMPLES / "syntax_error.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "coroscope: error: syntax_error.py:7:10: SyntaxError: '(' was never closed"
    ]
