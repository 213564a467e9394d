"""Real, correct asyncio programs (tests/corpus/) run as written and under Coroscope.

Each program must exit 0 under plain ``python``, and ``coroscope trace`` must run it
to its end with exit code 0 and no ``problems``: a problem found in a correct
program is a false finding, which would teach the wrong thing. A program whose
library is not installed is skipped (the libraries are test-only extras; see
tests/corpus/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"

# Each program, and the modules it needs beyond the standard library.
PROGRAMS: dict[str, tuple[str, ...]] = {
    "aiohttp_web": ("aiohttp",),
    "httpx_uvicorn": ("httpx", "uvicorn", "starlette"),
    "websockets_echo": ("websockets.asyncio.server",),  # websockets 13 or later
    "anyio_run": ("anyio",),
    "anyio_on_asyncio": ("anyio",),
    "aiofiles_io": ("aiofiles",),
    "aiosqlite_db": ("aiosqlite",),
    "streams_echo": (),
    "subprocess_pipes": (),
    "executor_threads": (),
    "process_pool": (),
    "taskgroup_timeout": (),
    "queue_sync": (),
    "signal_handler": (),
    "threadsafe_calls": (),
    "asyncio_runner": (),
}


def _program(name: str) -> Path:
    for module in PROGRAMS[name]:
        pytest.importorskip(module)
    return CORPUS / f"{name}.py"


def _marker(name: str) -> str:
    """The line each program prints last, once it has done everything."""
    return f"{name}: ok"


def _shown(result: subprocess.CompletedProcess) -> str:
    return (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def _problem(problem: dict) -> str:
    where = problem["line"] or "no line"
    task = problem["task"] or "no task"
    return f"{problem['kind']} at {where} in {task} (x{problem['count']}): {problem['message']}"


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in PROGRAMS])
@pytest.mark.timeout(90)
def test_runs_under_python(name, tmp_path):
    program = _program(name)
    result = subprocess.run(
        [sys.executable, str(program)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, _shown(result)
    assert _marker(name) in result.stdout.splitlines(), _shown(result)


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in PROGRAMS])
@pytest.mark.timeout(90)
def test_no_problems_under_coroscope(name, tmp_path):
    program = _program(name)
    out = tmp_path / "trace.json"
    result = subprocess.run(
        [sys.executable, "-m", "coroscope", "trace", str(program), "-o", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, _shown(result)
    document = json.loads(out.read_text())
    found = document["problems"]
    assert found == [], (
        f"coroscope found {len(found)} problem(s) in the correct program {program.name}:\n"
        + "\n".join(_problem(p) for p in found)
    )
    # It ran to its end, as under python: not cut short, not failed.
    summary = result.stderr
    assert "main failed with" not in summary, _shown(result)
    assert "--duration" not in summary, _shown(result)
    assert _marker(name) in result.stdout.splitlines(), _shown(result)
    assert document["otherData"]["exit_code"] == 0
