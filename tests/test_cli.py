import subprocess
import sys
from pathlib import Path

import pytest
from coroscope.about import __version__
from coroscope.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent


def test_list_prints_every_demo(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for key in ("countdown", "hello", "live_clock", "chained", "display_date"):
        assert key in out


@pytest.mark.parametrize("argv", [["--version"], ["run", "--version"], ["list", "--version"]])
def test_version_everywhere(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"Coroscope {__version__}"


def test_unknown_demo_is_one_line_and_exit_2():
    out = subprocess.run(
        [sys.executable, "-m", "coroscope", "run", "no_such_demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("coroscope: error: unknown demo 'no_such_demo'")
    assert "Traceback" not in out.stderr
