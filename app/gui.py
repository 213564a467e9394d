"""Starting and stopping the desktop app around one traced qasync loop.

When the last window closes, ``run_forever`` returns and ``app.shutdown``
stops the run and closes the loop in the order that keeps exit silent.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__
from app.controller import Controller
from app.main_window import MainWindow
from app.qt_loop import TracingLoop
from app.run import Target
from app.shutdown import close_loop
from widgets import theme

ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "coroscope.svg"


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


def run_app(target: Target | None = None, settings: QSettings | None = None) -> int:
    app = make_application()
    loop = TracingLoop(app)
    asyncio.set_event_loop(loop)
    controller = Controller(loop)
    settings = settings if settings is not None else QSettings()
    # The window shows first; its feature panels follow right after it paints.
    window = MainWindow(controller, settings, defer_features=True)
    window.built.connect(_freeze_startup_objects)
    if target is not None:
        # After the panels are in, so each of them sees the run from its start.
        window.built.connect(lambda: window.run_target(target))
    window.show()
    # Ctrl+C in the terminal closes the window like the user would; the frame
    # timer runs Python often enough for the handler to fire promptly.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    try:
        loop.run_forever()
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        close_loop(loop, controller)
    return 0
