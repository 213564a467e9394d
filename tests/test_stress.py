"""Stress on the pinned Qt: PySide6 6.12.0 crashed under qasync after ~8,000
callbacks, so a version bump must get past these in a child process."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import asyncio, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
import qasync
from coroscope.widgets.shell.qt_loop import TracingLoop

app = QApplication([])
N = int(sys.argv[1])

async def callbacks(loop):
    done = loop.create_future()
    count = 0
    def tick():
        nonlocal count
        count += 1
        if count < N:
            loop.call_soon(tick)
        else:
            done.set_result(count)
    loop.call_soon(tick)
    return await done

async def tasks(n):
    async def worker():
        await asyncio.sleep(0.001)
        await asyncio.sleep(0)
    await asyncio.gather(*(worker() for _ in range(n)))

plain = qasync.QEventLoop(app)
print("qasync", plain.run_until_complete(callbacks(plain)))
plain.close()
traced = TracingLoop(app)
print("traced", traced.run_until_complete(callbacks(traced)))
traced.run_until_complete(tasks(10_000))
print("tasks", sum(1 for e in traced.events if type(e).__name__ == "TaskEnded"))
traced.close()
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_100k_callbacks_and_10k_tasks_without_a_crash():
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, "100000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert out.returncode == 0, f"child crashed ({out.returncode}): {out.stderr[-2000:]}"
    lines = out.stdout.split("\n")
    assert "qasync 100000" in lines
    assert "traced 100000" in lines
    assert "tasks 10002" in lines  # 10,000 workers, their gather's task, the callbacks task
    assert "Fatal Python error" not in out.stderr
