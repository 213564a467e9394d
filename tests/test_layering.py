"""The core in app/ imports and works with Qt made unimportable."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CORE_MODULES = [
    "coroscope.loop.events",
    "coroscope.loop.clock",
    "coroscope.loop.scheduler",
    "coroscope.loop.introspect",
    "coroscope.loop.tracer",
    "coroscope.loop.traced_loop",
    "coroscope.models.task_model",
    "coroscope.models.console_model",
    "coroscope.models.stage_model",
    "coroscope.control.output",
    "coroscope.control.run",
    "coroscope.control.controller",
    "coroscope.control.targets",
    "coroscope.scripts.problems",
    "coroscope.scripts.rewrite",
    "coroscope.scripts.runtime",
    "coroscope.scripts.loader",
    "coroscope.scripts.watchdog",
    "coroscope.cli.commands",
    "coroscope.control.ctrl_c",
    "coroscope.control.shutdown",
    "coroscope.takes.atomic_file",
    "coroscope.cli.progress",
    "coroscope.cli.takes",
    "coroscope.takes.options",
    "coroscope.models.view_prefs",
    "coroscope.models.trace_collector",
    "coroscope.takes.video_encoder",
    "coroscope.loop.anatomy.hooks",
    "coroscope.loop.anatomy.io_taps",
    "coroscope.loop.anatomy.outside_work",
    "coroscope.loop.anatomy.protocol_proxy",
    "coroscope.models.loop_model",
    "demos",
    "coroscope.demos.countdown",
    "coroscope.demos.callouts",
    "coroscope.demos.echo_protocol",
    "coroscope.demos.echo_streams",
    "coroscope.demos.subprocess_pipes",
    "coroscope.demos.thread_pool",
    "coroscope.demos.results_exceptions",
    "coroscope.demos.cancellation",
    "coroscope.demos.gather_wait_taskgroup",
    "coroscope.demos.producer_consumer",
    "coroscope.demos.timeouts",
    "coroscope.demos.stage",
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
        [sys.executable, "-c", PROGRAM, *CORE_MODULES],
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
