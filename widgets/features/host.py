"""What a feature may use of the window it is installed into.

Features (the classroom tools, recording, scripts, the Loop panel) are written
against this protocol, not against ``MainWindow`` and its private members: the
window is one host that satisfies it (tests/test_feature_host.py checks that),
and a feature that needs more says so here first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target
    from coroscope.widgets.views.code_view import CodeView
    from coroscope.widgets.views.console_view import ConsoleView
    from coroscope.widgets.views.gallery import DemoGallery
    from coroscope.widgets.views.stages import StageHost
    from coroscope.widgets.views.task_lanes import TaskLanesView
    from PySide6.QtCore import QObject, QSettings, Qt
    from PySide6.QtGui import QAction, QIcon, QKeySequence
    from PySide6.QtWidgets import QDockWidget, QMenu, QStatusBar, QToolBar, QWidget


@runtime_checkable
class FeatureHost(Protocol):
    # -- the run and the views every feature may read ---------------------------------
    controller: Controller
    settings: QSettings | None  # None: nothing is remembered (tests, takes)
    toolbar: QToolBar
    run_action: QAction
    gallery: DemoGallery
    stage: StageHost
    lanes: TaskLanesView
    code: CodeView
    console: ConsoleView

    # -- what a feature adds -----------------------------------------------------------
    def add_dock(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea, name: str
    ) -> QDockWidget: ...

    def menu(self, name: str) -> QMenu: ...

    def add_action(
        self, text: str, shortcut: str | QKeySequence, tip: str, slot: Callable, icon: Any = None
    ) -> QAction: ...

    def on_tick(self, callback: Callable[[], None]) -> None: ...

    # -- what a feature asks of the window ---------------------------------------------
    def intent(self, method: Callable, *args: Any) -> bool: ...

    def run_selected(self) -> None: ...

    def run_target(self, target: Target) -> None: ...

    def show_chrome(self, visible: bool) -> None: ...

    def scale_toolbar(self, scale: float) -> None: ...

    # -- the Qt window calls features make ---------------------------------------------
    def statusBar(self) -> QStatusBar: ...

    def addAction(self, action: QAction) -> None: ...

    def actions(self) -> list[QAction]: ...

    def tabifyDockWidget(self, first: QDockWidget, second: QDockWidget) -> None: ...

    def findChild(self, kind: type, name: str = "") -> Any: ...

    def windowTitle(self) -> str: ...

    def setWindowTitle(self, title: str) -> None: ...

    def windowIcon(self) -> QIcon: ...

    def installEventFilter(self, watcher: QObject) -> None: ...

    def setAcceptDrops(self, on: bool) -> None: ...
