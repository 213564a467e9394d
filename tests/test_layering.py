"""The layers hold: the import contracts pass, and the core imports and runs with
Qt made unimportable (which also catches an import hidden in a function that runs)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The Qt-free packages, walked module by module in the child; the command line is
# among them (it reaches the window only inside the command that opens it).
CORE_PACKAGES = [
    "coroscope.loop",
    "coroscope.models",
    "coroscope.scripts",
    "coroscope.takes",
    "coroscope.control",
    "coroscope.cli",
    "coroscope.demos",
    "coroscope.resources",
]

PROGRAM = """
import sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
            raise ImportError(f"Qt is blocked in this test: {name}")
sys.meta_path.insert(0, BlockQt())
import importlib
import pkgutil
imported = 0
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(module.name)
        imported += 1
assert imported > 40, imported
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.control.controller import Controller
from coroscope.control.targets import demo_target
loop = HeadlessLoop(autojump=True)
controller = Controller(loop, capture_output=False)
run = controller.start(demo_target("countdown"))
loop.run_until_complete(run.main)
assert [r.state for r in controller.tasks.rows()] == ["done"] * 4
print("core ok")
"""


def test_core_imports_and_runs_without_qt():
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, *CORE_PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "core ok" in out.stdout


# What the app imports before its window first paints (see coroscope.widgets.shell.gui). asyncio and
# the loop come after; importing them here would put ~100 ms back before the paint.
FRAME_PROGRAM = """
import sys
import coroscope.cli.commands, coroscope.widgets.shell.gui, coroscope.widgets.shell.main_window
from coroscope.widgets.shell.gui import make_application
from coroscope.widgets.shell.main_window import MainWindow
qt_app = make_application()
window = MainWindow(None, None, defer_features=True)
window.show()
qt_app.processEvents()
window.close()
print(sorted(n for n in ("asyncio", "qasync", "coroscope.control.controller") if n in sys.modules))
"""


def test_the_window_frame_shows_before_asyncio_is_imported():
    out = subprocess.run(
        [sys.executable, "-c", FRAME_PROGRAM],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_import_contracts_hold():
    """pyproject.toml's import-linter contracts: no Qt in the core, layers in order."""
    out = subprocess.run(
        [Path(sys.executable).with_name("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout
