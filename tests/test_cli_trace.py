"""``coroscope trace``: a headless run written as a trace, and every bad input as one line."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from coroscope.about import __version__
from coroscope.cli.commands import main

from tests.trace_schema import problems

ROOT = Path(__file__).resolve().parent.parent


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("coroscope: error: ")
    return lines[0].removeprefix("coroscope: error: ")


def test_trace_of_the_countdown(tmp_path, capsys):
    out = tmp_path / "trace.json"
    assert main(["trace", "countdown", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    # the program's own output, as it ran
    assert "task3 is finished" in captured.out
    assert captured.out.index("task3 is finished") < captured.out.index("task1 is finished")
    [summary] = captured.err.strip().splitlines()
    # (real time spent running steps adds a few ms of loop time on a busy machine)
    assert re.fullmatch(
        rf"coroscope: wrote {re.escape(str(out))}: 4 tasks \(4 done\), 8 steps, "
        r"\d+ blocking, 4\.0\d s of loop time",
        summary,
    ), summary
    document = json.loads(out.read_text())
    assert problems(document) == []
    tasks = {t["name"]: t for t in document["tasks"]}
    for name, seconds in (("task1", 4), ("task2", 3), ("task3", 2)):
        assert tasks[name]["finished"] == pytest.approx(seconds, abs=0.1)  # plus busy steps
        assert tasks[name]["resumes"] == 2
    assert document["otherData"]["block_threshold"] == 0.1
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


def test_default_output_name_and_duration_limit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["trace", "live_clock", "--duration", "3.5"]) == 0
    err = capsys.readouterr().err
    assert "stopped at the 3.5 s limit (--duration)" in err
    document = json.loads((tmp_path / "live_clock-trace.json").read_text())
    assert problems(document) == []
    tasks = {t["name"]: t for t in document["tasks"]}
    assert tasks["main"]["state"] == "cancelled"
    assert tasks["main"]["finished"] == pytest.approx(3.5, abs=0.05)
    assert tasks["main"]["resumes"] == 2  # start, then the cancellation
    assert tasks["clock"]["state"] == "cancelled"
    # its ticks align to wall-clock seconds, so their count varies; it ticked and was cancelled
    assert tasks["clock"]["resumes"] >= 3


def test_block_threshold_is_passed_to_the_tracer(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["trace", "hello", "-o", str(out), "--block-threshold", "0.25"]) == 0
    assert json.loads(out.read_text())["otherData"]["block_threshold"] == 0.25


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["trace", "nope"], "unknown demo 'nope'"),
        (["trace", "missing_script.py"], "no such file: missing_script.py"),
        (["trace", "countdown", "-o", "{tmp}/t.txt"], "unsupported output extension ('.txt')"),
        (["trace", "countdown", "-o", "{tmp}/no/such/dir/t.json"], "does not exist"),
        (["trace", "countdown", "-o", "{tmp}/afile/t.json"], "is not a folder"),
        (["trace", "countdown", "-o", "{tmp}"], "unsupported output extension"),
        (["trace", "countdown", "--block-threshold", "0"], "--block-threshold must be"),
        (["trace", "countdown", "--block-threshold", "soon"], "--block-threshold must be"),
        (["trace", "countdown", "--duration", "-1"], "--duration must be"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert message in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


def test_a_directory_as_output_is_refused(tmp_path, capsys):
    folder = tmp_path / "out.json"
    folder.mkdir()
    assert main(["trace", "countdown", "-o", str(folder)]) == 2
    assert "it is a directory" in one_error_line(capsys)


@pytest.mark.parametrize("command", ["trace", "record"])
def test_version_and_help(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"Coroscope {__version__}"
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "DEMO_OR_SCRIPT" in capsys.readouterr().out


QT_BLOCKED_TRACE = """
import sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
            raise ImportError(f"Qt is blocked in this test: {name}")
sys.meta_path.insert(0, BlockQt())
from coroscope.cli.commands import main
sys.exit(main(["trace", "countdown", "-o", sys.argv[1]]))
"""


def test_trace_needs_no_qt(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", QT_BLOCKED_TRACE, str(tmp_path / "t.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert problems(json.loads((tmp_path / "t.json").read_text())) == []


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coroscope",
            "trace",
            "countdown",
            "-o",
            str(tmp_path / "x" / "t.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"coroscope: error: cannot write {tmp_path / 'x' / 't.json'}: "
        f"folder {tmp_path / 'x'} does not exist"
    ]


def test_ctrl_c_during_a_trace_writes_nothing(tmp_path, monkeypatch, capsys):
    import asyncio

    from coroscope.control import targets
    from coroscope.control.run import Target

    async def interrupted():
        await asyncio.sleep(1)
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C mid-run
        await asyncio.sleep(100)

    monkeypatch.setattr(
        targets, "demo_target", lambda _name: Target("x", "X", __file__, interrupted)
    )
    assert main(["trace", "x", "-o", str(tmp_path / "t.json")]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["coroscope: error: interrupted; no file was written"]
    assert list(tmp_path.iterdir()) == []
