"""The core in app/ imports and works with Qt made unimportable."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CORE_MODULES = [
    "app.events",
    "app.clock",
    "app.scheduler",
    "app.introspect",
    "app.tracer",
    "app.traced_loop",
    "app.task_model",
    "app.console_model",
    "app.stage_model",
    "app.output",
    "app.run",
    "app.controller",
    "app.targets",
    "app.script_problems",
    "app.script_rewrite",
    "app.script_runtime",
    "app.script_loader",
    "app.watchdog",
    "app.cli",
    "app.ctrl_c",
    "app.shutdown",
    "app.atomic_file",
    "app.progress",
    "app.take_cli",
    "app.take_options",
    "app.view_prefs",
    "app.trace_export",
    "app.video_encoder",
    "app.anatomy_hooks",
    "app.io_taps",
    "app.outside_work",
    "app.protocol_proxy",
    "app.loop_model",
    "demos",
    "demos.countdown",
    "demos.callouts",
    "demos.echo_protocol",
    "demos.echo_streams",
    "demos.subprocess_pipes",
    "demos.thread_pool",
    "demos.results_exceptions",
    "demos.cancellation",
    "demos.gather_wait_taskgroup",
    "demos.producer_consumer",
    "demos.timeouts",
    "demos.stage",
]

PROGRAM = """
import sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
            raise ImportError(f"Qt is blocked in this test: {name}")
sys.meta_path.insert(0, BlockQt())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
from app.traced_loop import HeadlessLoop
from app.controller import Controller
from app.targets import demo_target
loop = HeadlessLoop(autojump=True)
controller = Controller(loop, capture_output=False)
run = controller.start(demo_target("countdown"))
loop.run_until_complete(run.main)
assert [r.state for r in controller.tasks.rows()] == ["done"] * 4
print("core ok")
"""


def test_core_imports_and_runs_without_qt():
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, *CORE_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "core ok" in out.stdout


# What the app imports before its window first paints (see app.gui). asyncio and
# the loop come after; importing them here would put ~100 ms back before the paint.
FRAME_PROGRAM = """
import sys
import app.cli, app.gui, app.main_window
from app.gui import make_application
from app.main_window import MainWindow
qt_app = make_application()
window = MainWindow(None, None, defer_features=True)
window.show()
qt_app.processEvents()
window.close()
print(sorted(name for name in ("asyncio", "qasync", "app.controller") if name in sys.modules))
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
