"""Closing the window mid-run exits cleanly: no pending-task or closed-loop noise."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from coroscope.widgets.shell.gui import make_application, run_app
from coroscope.control.targets import demo_target

app = make_application()
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
def close_all():
    for widget in QApplication.topLevelWidgets():
        widget.close()
QTimer.singleShot(int(sys.argv[1]), close_all)
sys.exit(run_app(demo_target("live_clock"), settings=settings))
"""


@pytest.mark.timeout(60)
# 0: closed before the window's frame first paints, so before the loop exists.
@pytest.mark.parametrize("after_ms", [0, 50, 1500])
def test_closing_mid_run_prints_nothing_and_exits_fast(tmp_path, after_ms):
    settings = tmp_path / "settings.ini"
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(after_ms), str(settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    for noise in (
        "Task was destroyed",
        "Event loop is closed",
        "Traceback",
        "never awaited",
        "Error",
    ):
        assert noise not in out.stderr, out.stderr
    assert elapsed < 20
    assert settings.exists()  # window state was remembered


BUSY_PROGRAM = """
import asyncio, os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from concurrent.futures import ThreadPoolExecutor
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from coroscope.widgets.shell.gui import make_application, run_app
from coroscope.control.run import Target

async def busy():
    loop = asyncio.get_running_loop()
    loop.call_later(100, print, "never")
    async def echo(reader, writer):
        while data := await reader.read(100):
            writer.write(data)
            await writer.drain()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)", stdout=asyncio.subprocess.PIPE
    )
    pool = ThreadPoolExecutor(2)
    job = loop.run_in_executor(pool, time.sleep, 0.3)
    async def chatter():
        while True:
            writer.write(b"ping")
            await reader.read(4)
            await asyncio.sleep(0.05)
    talk = asyncio.create_task(chatter(), name="chatter")
    print("all busy", flush=True)
    try:
        await asyncio.gather(talk, child.wait(), job)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

app = make_application()
settings = QSettings(sys.argv[1], QSettings.Format.IniFormat)
def close_all():
    global closed_at
    closed_at = time.monotonic()
    for widget in QApplication.topLevelWidgets():
        widget.close()
closed_at = None
QTimer.singleShot(1500, close_all)
code = run_app(Target("busy", "Busy", "", busy), settings=settings)
print(f"exit after close: {time.monotonic() - closed_at:.3f}", file=sys.__stdout__)
sys.exit(code)
"""


@pytest.mark.timeout(60)
def test_closing_with_sockets_subprocess_threads_and_timers_in_flight(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", BUSY_PROGRAM, str(tmp_path / "settings.ini")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert out.returncode == 0, out.stderr
    closing = float(out.stdout.strip().splitlines()[-1].split(":")[1])
    assert closing < 2.0
    for noise in (
        "Task was destroyed",
        "Event loop is closed",
        "Traceback",
        "never awaited",
        "Error",
        "ResourceWarning",
        "unclosed",
    ):
        assert noise not in out.stderr, out.stderr
