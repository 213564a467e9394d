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
from app.gui import make_application, run_app
from app.targets import demo_target

app = make_application()
settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
def close_all():
    for widget in QApplication.topLevelWidgets():
        widget.close()
QTimer.singleShot(int(sys.argv[1]), close_all)
sys.exit(run_app(demo_target("live_clock"), settings=settings))
"""


@pytest.mark.timeout(60)
@pytest.mark.parametrize("after_ms", [50, 1500])
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
