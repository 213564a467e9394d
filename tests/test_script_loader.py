"""A user's file is checked before a process is started for it: one clear line
(and, in the window, a banner with the caret) for a file Python could not run.

How a script then runs, unmodified in its own process, is tested in
tests/test_script_host.py (coroscope trace), tests/test_script_ui.py and
tests/test_script_steering.py (the window) and tests/test_cli_record.py (takes).
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from coroscope.control.targets import UnknownTargetError
from coroscope.scripts.loader import MAX_SCRIPT_BYTES, ScriptError, check_script

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


def write(tmp_path, text, name="mine.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problem_of(path):
    with pytest.raises(ScriptError) as info:
        check_script(path)
    assert isinstance(info.value, UnknownTargetError)  # the CLI catches this one
    return info.value.problem


def test_a_runnable_script_is_its_full_path(tmp_path):
    path = write(tmp_path, "import asyncio\nasyncio.run(asyncio.sleep(0))\n")
    assert check_script(path) == str(path.resolve())
    # another Python judges the syntax itself (a newer one may accept more)
    broken = write(tmp_path, "print('oops'\n", "broken.py")
    assert check_script(broken, syntax=False) == str(broken.resolve())


def test_syntax_error_gives_file_line_and_caret():
    problem = problem_of(SAMPLES / "syntax_error.py")
    assert problem.line == 7
    assert problem.title.startswith("SyntaxError: '(' was never closed")
    assert str(problem.one_line()).startswith("syntax_error.py:7:10: SyntaxError")
    code, caret = problem.excerpt().splitlines()
    assert code.startswith("7 |     print(")
    assert caret.index("^") == code.index("(")  # the caret sits under the open bracket
    assert "is not valid Python" in problem.details()


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
        check_script(path)
    assert str(info.value).startswith(message)


def test_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.py"
    path.write_bytes(b"x = 1\n" * (MAX_SCRIPT_BYTES // 6 + 10))
    with pytest.raises(ScriptError, match=r"huge.py: is too large to open \(1.0 MB; scripts"):
        check_script(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ScriptError, match=r"gone\.py: no such file"):
        check_script(tmp_path / "gone.py")
    with pytest.raises(ScriptError, match="is a folder"):
        check_script(tmp_path)


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
