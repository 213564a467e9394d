"""A script traced by ``coroscope trace`` runs in a child process exactly as
``python SCRIPT`` runs it: the same output, exit code and traceback, every way of
starting a loop traced, and nothing it does can hang or crash the watcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.trace_schema import script_tasks

ROOT = Path(__file__).resolve().parent.parent
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"

pytestmark = pytest.mark.timeout(60)


def _write(tmp_path: Path, source: str, name: str = "prog.py") -> Path:
    script = tmp_path / name
    script.write_text(textwrap.dedent(source))
    return script


def _trace(script: Path, *extra: str, cwd: Path | None = None, timeout: float = 40):
    out = script.with_name("trace.json")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "coroscope", "trace", str(script), "-o", str(out), *extra],
        cwd=cwd or script.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    done.seconds = time.monotonic() - started
    document = json.loads(out.read_text()) if out.exists() else None
    return done, document


def _python(script: Path, *args: str):
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _traceback(stderr: str) -> list[str]:
    """The traceback's lines, without the summary lines coroscope adds."""
    return [line for line in stderr.splitlines() if not line.startswith("coroscope:")]


FAILING = """
    import asyncio

    async def divide(a, b):
        await asyncio.sleep(0.1)
        return a / b

    async def main():
        print("dividing")
        await divide(1, 0)

    asyncio.run(main())
"""


def test_a_failing_script_exits_and_reports_as_python_does(tmp_path):
    script = _write(tmp_path, FAILING)
    plain = _python(script)
    done, document = _trace(script)
    assert plain.returncode == done.returncode == 1
    assert done.stdout == plain.stdout == "dividing\n"
    ours, theirs = _traceback(done.stderr), _traceback(plain.stderr)
    assert ours[-1] == theirs[-1] == "ZeroDivisionError: division by zero"
    assert ours[0] == "Traceback (most recent call last):"
    # the traceback is the script's: no frame of Coroscope's own in it
    assert "coroscope" not in "\n".join(ours)
    assert document["otherData"]["exit_code"] == 1
    assert [(t["coro"], t["state"]) for t in script_tasks(document)] == [("main", "failed")]


def test_sys_exit_is_the_scripts_exit_code_not_a_task_result(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, sys

        async def main():
            await asyncio.sleep(0.2)
            sys.exit(3)

        asyncio.run(main())
        """,
    )
    done, document = _trace(script)
    assert done.returncode == _python(script).returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert document["otherData"]["exit_code"] == 3
    [main] = script_tasks(document)
    # as asyncio leaves it: failed with SystemExit, which ended the loop
    assert (main["state"], main["exception"], main["result"]) == ("failed", "SystemExit: 3", None)
    assert document["problems"] == []  # the program saw how it ended: nothing unretrieved
    assert 0.2 <= document["otherData"]["loop_time"] < 1


def test_arguments_after_the_script_are_its_argv(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, sys

        async def main():
            print(sys.argv[1:], __name__)

        asyncio.run(main())
        """,
    )
    done, _document = _trace(script, "--", "--port", "8080", "x y")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['--port', '8080', 'x y'] __main__\n"


def test_runner_new_event_loop_and_a_loop_in_a_thread_are_all_traced(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, threading

        async def nap(label, seconds):
            await asyncio.sleep(seconds)
            return label

        def in_thread(results):
            results.append(asyncio.run(nap("thread", 0.3)))

        results = []
        worker = threading.Thread(target=in_thread, args=(results,))
        worker.start()
        with asyncio.Runner() as runner:
            results.append(runner.run(nap("runner", 0.1)))
        loop = asyncio.new_event_loop()
        results.append(loop.run_until_complete(nap("new loop", 0.1)))
        loop.close()
        worker.join()
        print(sorted(results))
        """,
    )
    done, document = _trace(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['new loop', 'runner', 'thread']\n"
    naps = [t for t in script_tasks(document) if t["coro"] == "nap"]
    assert sorted(t["result"] for t in naps) == ["'new loop'", "'runner'", "'thread'"]
    assert {t["state"] for t in naps} == {"done"}
    # three loops, one task each: ids stay unique across a child's loops
    assert len({t["id"] for t in naps}) == 3


def test_a_busy_loop_is_stopped_at_the_duration_and_named(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio

        async def spin():
            while True:
                pass

        asyncio.run(spin())
        """,
    )
    done, document = _trace(script, "--duration=1")
    assert done.seconds < 15, done.seconds
    assert done.returncode == 0, done.stderr
    assert "--duration" in done.stderr
    kinds = {p["kind"]: p for p in document["problems"]}
    assert kinds["busy loop"]["line"].rsplit(":", 1)[1] in ("4", "5"), kinds


def test_a_long_blocking_sleep_is_stopped_at_the_duration(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, time

        async def main():
            time.sleep(60)

        asyncio.run(main())
        """,
    )
    done, document = _trace(script, "--duration=1")
    assert done.seconds < 15, done.seconds
    assert "--duration" in done.stderr
    blocking = [p for p in document["problems"] if p["kind"] == "blocking call"]
    assert blocking and blocking[0]["line"].endswith("prog.py:5"), document["problems"]


def test_a_segfault_is_an_exit_by_signal_not_a_crash_of_ours(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, ctypes

        async def main():
            await asyncio.sleep(0.1)
            ctypes.string_at(0)

        asyncio.run(main())
        """,
    )
    done, document = _trace(script)
    assert done.returncode == 128 + 11, done.stderr
    assert "Traceback" not in _traceback(done.stderr)[:1]
    assert document is not None and document["otherData"]["exit_code"] == -11


def test_a_script_that_ignores_sigterm_is_killed(tmp_path):
    script = _write(
        tmp_path,
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        import asyncio

        async def main():
            while True:
                time.sleep(0.05)

        asyncio.run(main())
        """,
    )
    done, document = _trace(script, "--duration=0.5")
    assert done.seconds < 20, done.seconds
    assert done.returncode == 0, done.stderr
    assert document is not None


def test_a_users_own_app_package_is_the_one_the_script_imports(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("NAME = 'the user app'\n")
    script = _write(
        tmp_path,
        """
        import asyncio
        import app

        async def main():
            print(app.NAME)

        asyncio.run(main())
        """,
    )
    done, _document = _trace(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "the user app\n"


def test_a_missing_interpreter_is_one_line_and_exit_2(tmp_path):
    script = _write(tmp_path, "print('hi')\n")
    done, document = _trace(script, "--python", str(tmp_path / "nope"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no such interpreter" in done.stderr
    assert document is None


def _newest_other_python() -> Path | None:
    for version in ("3.13", "3.12"):
        for candidate in sorted(PYENV.glob(f"{version}*/bin/python")):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


@pytest.mark.skipif(_newest_other_python() is None, reason="no Python 3.12 or 3.13 under pyenv")
def test_python_chooses_the_interpreter_the_script_runs_on(tmp_path):
    python = _newest_other_python()
    script = _write(
        tmp_path,
        """
        import asyncio, sys

        async def main():
            await asyncio.sleep(0.1)
            print("%d.%d" % sys.version_info[:2])

        asyncio.run(main())
        """,
    )
    done, document = _trace(script, "--python", str(python))
    assert done.returncode == 0, done.stderr
    wanted = python.parent.parent.name.rsplit(".", 1)[0]
    assert done.stdout.strip() == wanted
    assert document["otherData"]["python"].startswith(wanted)
    [main] = script_tasks(document)
    assert main["state"] == "done" and main["name"] == "Task-1"


def test_os_exit_keeps_its_code_and_the_run_up_to_it(tmp_path):
    script = _write(
        tmp_path,
        """
        import asyncio, os

        async def main():
            await asyncio.sleep(0.1)  # no real time under autojump: gone within 1 ms
            os._exit(4)

        asyncio.run(main())
        """,
    )
    done, document = _trace(script)
    assert done.returncode == _python(script).returncode == 4, done.stderr
    [main] = script_tasks(document)
    assert main["state"] == "pending" and main["resumes"] == 1  # as far as it got
    assert document["otherData"]["loop_time"] >= 0.1
