"""One real window on an X server (Xvfb in CI): the app draws something."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from coroscope.widgets.shell.gui import make_application, run_app
from coroscope.control.targets import demo_target

app = make_application()
out = sys.argv[1]
def shoot():
    window = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "MainWindow")
    screen = window.screen()
    image = screen.grabWindow(0).toImage()
    image.save(out)
    window.close()
QTimer.singleShot(2500, shoot)
sys.exit(run_app(demo_target("countdown")))
"""


@pytest.fixture(scope="module")
def display():
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("needs an X server: install xvfb (.ci/run does)")
    number = f":{90 + os.getpid() % 9}"
    proc = subprocess.Popen([xvfb, number, "-screen", "0", "1440x900x24", "-nolisten", "tcp"])
    # Ready once it listens on its socket.
    socket = Path("/tmp/.X11-unix") / f"X{number[1:]}"
    deadline = time.monotonic() + 10
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait(10)
            pytest.fail(f"Xvfb {number} did not start (exit code {proc.returncode})")
        time.sleep(0.02)
    try:
        yield number
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.xvfb
@pytest.mark.timeout(90)
def test_real_window_screenshot_is_not_blank(tmp_path, display):
    from PySide6.QtGui import QImage

    shot = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(shot)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert out.returncode == 0, out.stderr
    image = QImage(str(shot))
    assert not image.isNull()
    assert image.width() >= 800
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 50  # a blank or single-colour screen has a handful
