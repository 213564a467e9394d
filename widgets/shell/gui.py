"""Starting and stopping the desktop app around one traced qasync loop.

Start-up comes in three steps, so the window is on screen as soon as Qt can
paint it: the window's frame shows and paints; then asyncio, the loop and the
views that watch it load (most of start-up) and take their places; then, after
the next paint, the feature panels. When the last window closes,
``run_forever`` returns and ``coroscope.control.shutdown`` stops the run and closes the loop
in the order that keeps exit silent.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from coroscope import resources
from coroscope.about import APP_NAME, __version__
from coroscope.widgets.paint import theme
from coroscope.widgets.shell.main_window import MainWindow
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from coroscope.control.run import Target

ICON_PATH = resources.path("icons", "coroscope.svg")


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("coroscope")
    if ICON_PATH.exists():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    theme.apply_theme("dark", app=app)
    return app


def _freeze_startup_objects() -> None:
    # Everything built so far lives as long as the app: move it out of the
    # collector's sight so full collections during a run stay short.
    gc.collect()
    gc.freeze()


def run_app(
    target: Target | None = None,
    settings: QSettings | None = None,
    observe: Callable[[MainWindow], None] | None = None,
    script: str | None = None,
    python: str | None = None,
    script_args: tuple[str, ...] = (),
) -> int:
    """Open the app (running ``target``, or opening ``script``, once it is built)
    until its window closes. ``observe`` is handed the window before it shows
    (the start-up benchmark watches its signals)."""
    app = make_application()
    settings = settings if settings is not None else QSettings()
    window = MainWindow(None, settings, defer_features=True)
    if observe is not None:
        observe(window)
    waiting = QEventLoop()
    window.call_after_first_paint(waiting.quit)
    window.show()
    waiting.exec()  # the asyncio loop does not exist yet: Qt's own loop paints the frame
    if not window.isVisible():  # closed already
        return 0
    import asyncio
    import signal

    from coroscope.control.controller import Controller
    from coroscope.control.shutdown import close_loop
    from coroscope.widgets.shell.qt_loop import TracingLoop

    loop = TracingLoop(app)
    asyncio.set_event_loop(loop)
    controller = Controller(loop)
    window.built.connect(_freeze_startup_objects)
    if target is not None:
        # After the panels are in, so each of them sees the run from its start.
        window.built.connect(lambda: window.run_target(target))
    if script is not None:
        # As File > Open Script: in a process of its own, watched for saves.
        def open_script() -> None:
            feature = window.script_feature
            feature.python, feature.script_args = python, script_args
            feature.open_path(script)

        window.built.connect(open_script)
    window.attach(controller)
    # Ctrl+C in the terminal closes the window like the user would; the frame
    # timer runs Python often enough for the handler to fire promptly.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    try:
        loop.run_forever()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        close_loop(loop, controller)
    return 0
