"""The main window: wires the models, views and controller together.

Flow: the loop emits events -> the controller's models fold them -> every view
repaints from those models on one frame tick -> views emit intents -> the
controller applies them to the loop. Nothing here paints or schedules by itself.
"""

from __future__ import annotations

import importlib
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from coroscope.about import APP_NAME, __version__
from coroscope.models import view_prefs
from coroscope.widgets.paint import theme
from coroscope.widgets.paint.panel_sizes import (
    LANE_ROW_HEIGHT,
    LANES_HINT_ROWS,
    LANES_HINT_WIDTH,
    STAGE_HINT,
    STAGE_MIN_HEIGHT,
)
from coroscope.widgets.views.gallery import DemoGallery
from coroscope.widgets.views.status_readout import StatusReadout
from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QSplitter,
    QStyle,
    QTabBar,
    QToolBar,
    QToolButton,
    QWidget,
)

# This module imports nothing that imports asyncio, so the app can show this
# window before it loads the loop: asyncio and the views that watch it are
# imported in attach(), and the modules that need them where they are used.
if TYPE_CHECKING:
    from coroscope.control.controller import Controller
    from coroscope.control.run import Target

# Each feature module exposes install(window); listed in menu order. They are
# imported when installed, so the app can show its window before loading them.
FEATURES = (
    "coroscope.widgets.features.script_feature",
    "coroscope.widgets.features.classroom",
    "coroscope.widgets.features.record_feature",
    "coroscope.widgets.features.loop_anatomy",
    "coroscope.widgets.features.problems_feature",
)

# The share of the window's width the Code dock takes in presentation mode.
PRESENTED_CODE_SHARE = 0.45

# What Qt scroll areas such as the code and console views ask for by default.
_SCROLL_AREA_HINT = QSize(256, 192)
FRAME_MS = 33  # ~30 fps: smooth rings without burning a core
FIRST_PAINT_WAIT_MS = 500  # the panels come after the first paint, or after this
SETTINGS_GROUP = "main_window"


class MainWindow(QMainWindow):
    # Emitted once every feature is installed and the saved layout restored.
    built = Signal()

    def __init__(
        self,
        controller: Controller | None = None,
        settings: QSettings | None = None,
        defer_features: bool = False,
    ) -> None:
        """Without a ``controller`` this builds only the window's frame (menus,
        toolbar, demo gallery, empty panels) and the app calls ``attach`` once it
        has loaded the loop. ``defer_features``: install the feature panels just
        after the attached window first paints (the app does both so its window
        appears sooner)."""
        super().__init__()
        self.controller: Controller | None = None
        self.settings = settings
        # The first paint already wears the saved theme and presentation mode; the
        # Classroom feature that offers them arrives after it.
        view = view_prefs.read(settings)
        if view != view_prefs.ViewPrefs():
            theme.apply_theme(view.theme_name, scale=view.scale)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("MainWindow")
        self.resize(1360, 860)
        self._defer_features = defer_features
        self._tick_callbacks: list[Callable[[], None]] = []
        self._actions_version = -1
        self._counted_version = -1
        self._shown_paused: bool | None = None
        self._menus: dict[str, QMenu] = {}
        bar = self.menuBar()
        for key, title in (
            ("file", "&File"),
            ("run", "&Run"),
            ("view", "&View"),
            ("help", "&Help"),
        ):
            self._menus[key] = bar.addMenu(title)

        self.gallery = DemoGallery()
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("stage_lanes_split")
        # Stage, lanes, code and console watch the loop; until attach() they are
        # blank surfaces of the same colour, so the window can paint at once.
        preferred, expanding = QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding
        lanes_height = theme.current().px(LANE_ROW_HEIGHT) * LANES_HINT_ROWS
        split.addWidget(_StandIn(QSize(*STAGE_HINT), preferred, STAGE_MIN_HEIGHT))
        split.addWidget(_StandIn(QSize(LANES_HINT_WIDTH, lanes_height), expanding))
        split.setChildrenCollapsible(False)
        # Docks give way before the stage and lanes do, even in a small window.
        split.setMinimumWidth(360)
        self.setCentralWidget(split)
        self.splitter = split
        self._stretch_splitter()

        self.add_dock("Demos", self.gallery, Qt.DockWidgetArea.LeftDockWidgetArea, "demos_dock")
        self._code_dock = self.add_dock(
            "Code",
            _StandIn(_SCROLL_AREA_HINT, expanding),
            Qt.DockWidgetArea.RightDockWidgetArea,
            "code_dock",
        )
        self._code_width: int | None = None  # its width before presentation mode
        self.resizeDocks([self._code_dock], [470], Qt.Orientation.Horizontal)
        self._console_dock = self.add_dock(
            "Console",
            _StandIn(_SCROLL_AREA_HINT, expanding),
            Qt.DockWidgetArea.BottomDockWidgetArea,
            "console_dock",
        )

        self._build_actions()
        self._build_status()

        self.frame_timer = QTimer(self)
        self.frame_timer.setObjectName("frame-timer")
        self.frame_timer.setInterval(FRAME_MS)
        self.frame_timer.timeout.connect(self.tick)
        self.scale_toolbar(view.scale)
        self.show_chrome(not view.presentation)
        self._restore_window()
        self.features_installed = False
        self._first_paint: _AfterFirstPaint | None = None
        if controller is None:
            for action in self._loop_actions():
                action.setEnabled(False)  # until attach() gives them a loop to act on
        else:
            self.attach(controller)

    def show_chrome(self, visible: bool) -> None:
        """Show or hide what presentation mode leaves out: menus, status bar, demos."""
        self.menuBar().setVisible(visible)
        self.statusBar().setVisible(visible)
        self.gallery.parentWidget().setVisible(visible)
        code = self._code_dock
        if not visible and self._code_width is None:
            # The code's letters grow by half: give it the room the demos leave,
            # so a class reads whole lines instead of a scrolled slice of them.
            self._code_width = code.width()
            wider = max(code.width(), round(self.width() * PRESENTED_CODE_SHARE))
            self.resizeDocks([code], [wider], Qt.Orientation.Horizontal)
        elif visible and self._code_width is not None:
            self.resizeDocks([code], [self._code_width], Qt.Orientation.Horizontal)
            self._code_width = None
        QTimer.singleShot(0, self._hide_stale_tab_bars)

    def _hide_stale_tab_bars(self) -> None:
        """After docks are laid out again (a font or theme change), Qt can leave
        the old tab bar of a group of tabbed docks showing where the group used
        to be, beside the new one (it then floats over another panel). Of bars
        with the same tabs, only the one at its current dock's edge is real."""
        bars: dict[tuple[str, ...], list[QTabBar]] = {}
        for bar in self.findChildren(QTabBar):
            if bar.parent() is self and bar.isVisible():
                tabs = tuple(bar.tabText(i) for i in range(bar.count()))
                bars.setdefault(tabs, []).append(bar)
        docks = {dock.windowTitle(): dock for dock in self.findChildren(QDockWidget)}
        for same in bars.values():
            if len(same) < 2:
                continue
            for bar in same:
                dock = docks.get(bar.tabText(bar.currentIndex()))
                if dock is None or dock.isFloating():
                    continue
                area = dock.geometry()
                touches = (
                    abs(bar.y() - area.bottom()) <= 4
                    or abs(bar.geometry().bottom() - area.y()) <= 4
                )
                if not (touches and area.left() - 4 <= bar.x() <= area.right()):
                    bar.hide()

    def scale_toolbar(self, scale: float) -> None:
        size = round(24 * scale)
        self.toolbar.setIconSize(QSize(size, size))
        # Tool buttons cache their size for the old font; without this their
        # labels stay elided after the font grows.
        for button in self.toolbar.findChildren(QToolButton):
            button.setFont(QApplication.font())
            button.updateGeometry()
        self.toolbar.layout().invalidate()
        QTimer.singleShot(0, self._hide_stale_tab_bars)

    def _stretch_splitter(self) -> None:
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

    def call_after_first_paint(self, callback: Callable[[], None]) -> _AfterFirstPaint:
        """Call ``callback`` on the turn after the task lanes (or their blank
        stand-in) first paint, or after FIRST_PAINT_WAIT_MS without a paint."""
        surface = self.splitter.widget(1)
        if self.controller is not None:
            surface = self.lanes.viewport()
        return _AfterFirstPaint(surface, callback)

    def attach(self, controller: Controller) -> None:
        """Build the views that watch ``controller``'s loop in place of the blank
        panels, and start the frame tick; then install the features (after the
        next paint with ``defer_features``)."""
        from coroscope.widgets.views.code_view import CodeView
        from coroscope.widgets.views.console_view import ConsoleView
        from coroscope.widgets.views.stages import StageHost
        from coroscope.widgets.views.task_lanes import TaskLanesView

        self.controller = controller
        clock = controller.clock
        self.stage_model = controller.models.stage
        self.stage = StageHost(controller.tasks, self.stage_model, clock)
        self.lanes = TaskLanesView(controller.tasks, clock)
        self.code = CodeView(controller.tasks)
        self.console = ConsoleView(controller.console, controller.tasks)
        # The views take the stand-ins' places (and, once the window is on
        # screen, their sizes); a stretch factor belongs to the widget, not its slot.
        sizes = self.splitter.sizes() if self.isVisible() else None
        for index, view in enumerate((self.stage, self.lanes)):
            stand_in = self.splitter.widget(index)
            self.splitter.insertWidget(index, view)
            stand_in.setParent(None)
            stand_in.deleteLater()
        self._stretch_splitter()
        if sizes:
            self.splitter.setSizes(sizes)
        for dock, view in ((self._code_dock, self.code), (self._console_dock, self.console)):
            dock.widget().deleteLater()
            dock.setWidget(view)
        self._connect()
        self._restore_demo()
        self.frame_timer.start()
        for action in self._loop_actions():
            action.setEnabled(True)
        self._update_actions()
        if self._defer_features:
            self._first_paint = self.call_after_first_paint(self.install_features)
        else:
            self.install_features()

    def install_features(self) -> None:
        """Install every feature (once), then restore the saved dock layout, which
        needs their docks. Each feature adds its docks, menu actions and tick
        callbacks through add_dock / menu / on_tick."""
        if self.features_installed:
            return
        if self._first_paint is not None:
            self._first_paint.cancel()
        failed = []
        for name in FEATURES:
            try:
                importlib.import_module(name).install(self)
            except Exception:  # one broken panel must not keep the app from working
                traceback.print_exc()
                failed.append(name.rsplit(".", 1)[-1])
        if failed:
            self.statusBar().showMessage(
                f"Could not load {', '.join(failed)} (details on the terminal)", 15000
            )
        self.features_installed = True
        self._restore_layout()
        self._update_actions()
        self.built.emit()
        self.lanes.warm_up()  # after: the whole window shows before this off-screen work

    # -- construction ----------------------------------------------------------
    def add_dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        """Add a panel; it gets a toggle in the View menu and its place is remembered."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.menu("view").addAction(dock.toggleViewAction())
        return dock

    def menu(self, name: str) -> QMenu:
        """The File, Run, View or Help menu, for features to add their actions to."""
        return self._menus[name]

    def on_tick(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on every frame tick (after the models are up to date)."""
        self._tick_callbacks.append(callback)

    def add_action(
        self, text: str, shortcut: str | QKeySequence, tip: str, slot: Callable, icon=None
    ) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        keys = shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut)
        action.setShortcut(keys)
        label = keys.toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({label})" if label else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        icons = QStyle.StandardPixmap
        self.run_action = self.add_action(
            "Run", "F5", "Run the selected demo", self.run_selected, icons.SP_MediaPlay
        )
        self.stop_action = self.add_action(
            "Stop",
            "Shift+F5",
            "Cancel every task of this run cleanly",
            self.stop,
            icons.SP_MediaStop,
        )
        self.restart_action = self.add_action(
            "Restart",
            "Ctrl+R",
            "Stop, then run the same demo again",
            self.restart,
            icons.SP_BrowserReload,
        )
        self.pause_action = self.add_action(
            "Pause",
            "Space",
            "Pause or resume the loop's clock",
            self.toggle_pause,
            icons.SP_MediaPause,
        )
        self.step_action = self.add_action(
            "Step",
            "Right",
            "Run one ready callback, or jump to the next timer",
            self.step,
            icons.SP_MediaSkipForward,
        )
        toolbar = QToolBar("Run")
        toolbar.setObjectName("run_toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.run_action, self.stop_action, self.restart_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.step_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        run_menu = self.menu("run")
        for action in (self.run_action, self.stop_action, self.restart_action):
            run_menu.addAction(action)
        run_menu.addSeparator()
        run_menu.addAction(self.pause_action)
        run_menu.addAction(self.step_action)
        quit_action = self.add_action(
            "Quit", QKeySequence.StandardKey.Quit, "Quit Coroscope", self.close
        )
        self.menu("file").addAction(quit_action)

    def _loop_actions(self) -> tuple[QAction, ...]:
        return (
            self.run_action,
            self.stop_action,
            self.restart_action,
            self.pause_action,
            self.step_action,
        )

    def _build_status(self) -> None:
        self.time_label = StatusReadout(
            "  t = 00000.00 s   paused  ", "Loop time (seconds on the loop's clock) and speed"
        )
        self.count_label = StatusReadout(
            "  00,000 live · 000,000 finished · 000,000 folded  ",
            "Tasks alive / finished in this run; past 5,000 the oldest finished lanes "
            "are folded away (the run's main task always stays)",
        )
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.time_label)

    def _connect(self) -> None:
        c = self.controller
        for view in (self.lanes, self.stage.rings):
            view.cancelRequested.connect(lambda task_id: self.intent(c.cancel, task_id))
            view.wakeRequested.connect(lambda task_id: self.intent(c.wake, task_id))
            view.delayRequested.connect(lambda task_id, s: self.intent(c.delay, task_id, s))
            view.remainingRequested.connect(
                lambda task_id, s: self.intent(c.set_remaining, task_id, s)
            )
            view.rerunRequested.connect(lambda task_id: self.intent(c.rerun, task_id))
        self.stage.rings.remainingEditRequested.connect(self.lanes.edit_remaining)
        self.gallery.demoSelected.connect(self._preview)
        self.gallery.demoActivated.connect(self.run_demo)
        c.on_change(lambda _what: self._update_actions())

    # -- intents -----------------------------------------------------------------
    def intent(self, method: Callable, *args) -> bool:
        """Carry out a user intent; a refusal is shown in the status bar, not raised."""
        from coroscope.control.controller import IntentError

        try:
            method(*args)
        except IntentError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return False
        return True

    def _preview(self, key: str) -> None:
        from coroscope.control.targets import UnknownTargetError, demo_target

        if self.controller.running:
            return  # keep showing what runs; the choice applies on the next Run
        try:
            target = demo_target(key)
        except UnknownTargetError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.code.show_source(target.source_path)
        self._show_stage(target.stage)

    def _show_stage(self, name: str | None) -> None:
        self.stage.show_stage(name)
        # A run with no picture of its own gives the stage's share to the lanes
        # rather than a box that says so.
        self.stage.setVisible(self.stage.has_picture())

    def run_selected(self) -> None:
        key = self.gallery.current_key or (
            self.controller.target.key if self.controller.target else None
        )
        if key is None:
            self.statusBar().showMessage("Pick a demo in the gallery first", 4000)
            return
        self.run_demo(key)

    def run_demo(self, key: str) -> None:
        from coroscope.control.targets import UnknownTargetError, demo_target

        try:
            target = demo_target(key)
        except UnknownTargetError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        self.gallery.select(key)
        self.run_target(target)

    def run_target(self, target: Target) -> None:
        """Start ``target``, stopping whatever runs first."""
        # A run started in the instant before the panels arrive must not start
        # without them: the Loop panel and Export Trace watch a run from its start.
        self.install_features()
        c = self.controller

        async def switch() -> None:
            await c.stop()
            self._prepare(target)
            self.intent(c.start, target)

        if c.running:
            c.loop.create_task(switch(), name="coroscope-switch")
        else:
            self._prepare(target)
            self.intent(c.start, target)
        self._update_actions()

    def _prepare(self, target: Target) -> None:
        self.controller.reset_models()
        self.stage_model.clear()
        self.code.show_source(target.source_path)
        self._show_stage(target.stage)
        self.gallery.select(target.key)
        self.setWindowTitle(f"{target.title} — {APP_NAME}")

    def stop(self) -> None:
        self.controller.stop_soon()

    def restart(self) -> None:
        target = self.controller.target
        if target is None:
            self.run_selected()
            return

        async def again() -> None:
            await self.controller.stop()
            self._prepare(target)
            self.intent(self.controller.start, target)

        self.controller.loop.create_task(again(), name="coroscope-restart")

    def toggle_pause(self) -> None:
        self.controller.toggle_pause()

    def step(self) -> None:
        self.controller.step()

    # -- frame tick ------------------------------------------------------------------
    def tick(self) -> None:
        self.controller.tracer.announce()
        self.stage.refresh()
        self.lanes.refresh()
        self.code.refresh()
        self.console.refresh()
        for callback in self._tick_callbacks:
            callback()
        if self.controller.tasks.roster != self._actions_version:
            # Tasks ending can end a run without a Stop (the demo finished).
            self._actions_version = self.controller.tasks.roster
            self._update_actions()
        self._refresh_status()

    def _refresh_status(self) -> None:
        clock = self.controller.clock
        state = "paused" if clock.paused else f"{clock.speed:g}x"
        self.time_label.setText(f"  t = {clock.run_time():8.2f} s   {state}  ")
        tasks = self.controller.tasks
        if tasks.roster != self._counted_version:  # counting is O(tasks): only on change
            self._counted_version = tasks.roster
            rows = tasks.rows()
            live = sum(1 for r in rows if r.live)
            finished = len(rows) - live + tasks.folded
            folded = f" · {tasks.folded:,} folded" if tasks.folded else ""
            self.count_label.setText(f"  {live:,} live · {finished:,} finished{folded}  ")

    def _update_actions(self) -> None:
        running = self.controller.running
        self.stop_action.setEnabled(running)
        self.restart_action.setEnabled(self.controller.target is not None)
        paused = self.controller.clock.paused
        if paused != self._shown_paused:
            # Only on a change: a new icon makes the toolbar, and so the window,
            # redo its layout, and this runs on most frames of a busy run.
            self._shown_paused = paused
            self.pause_action.setText("Resume" if paused else "Pause")
            self.pause_action.setIcon(
                self.style().standardIcon(
                    QStyle.StandardPixmap.SP_MediaPlay
                    if paused
                    else QStyle.StandardPixmap.SP_MediaPause
                )
            )

    # -- settings ----------------------------------------------------------------------
    def _restore_window(self) -> None:
        if self.settings is None:
            return
        s = self.settings
        geometry = s.value(f"{SETTINGS_GROUP}/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def _restore_demo(self) -> None:
        # Not with the geometry: selecting a demo loads its module, and with it asyncio.
        if self.settings is None:
            return
        last = self.settings.value(f"{SETTINGS_GROUP}/demo")
        if isinstance(last, str) and last:
            self.gallery.select(last)

    def _restore_layout(self) -> None:
        if self.settings is None:
            return
        s = self.settings
        state = s.value(f"{SETTINGS_GROUP}/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = s.value(f"{SETTINGS_GROUP}/split")
        if isinstance(split, QByteArray):
            self.splitter.restoreState(split)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        s = self.settings
        s.setValue(f"{SETTINGS_GROUP}/geometry", self.saveGeometry())
        if not self.features_installed:
            return  # closed before its panels arrived: keep the saved layout as it was
        s.setValue(f"{SETTINGS_GROUP}/state", self.saveState())
        s.setValue(f"{SETTINGS_GROUP}/split", self.splitter.saveState())
        key = self.gallery.current_key
        if key:
            s.setValue(f"{SETTINGS_GROUP}/demo", key)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._first_paint is not None:
            self._first_paint.cancel()  # closed before its panels came: leave them out
        self.save_settings()
        self.frame_timer.stop()
        super().closeEvent(event)

    @staticmethod
    def version_text() -> str:
        return f"{APP_NAME} {__version__}"


class _AfterFirstPaint(QObject):
    """Calls ``callback`` once, on the next turn of the event loop after ``widget``
    first paints, so the window is on screen before the rest of it is built; or
    after ``FIRST_PAINT_WAIT_MS`` if no paint comes (a window started minimised)."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback = callback
        self._fallback = QTimer(self)
        self._fallback.setSingleShot(True)
        self._fallback.timeout.connect(self._fire)
        self._fallback.start(FIRST_PAINT_WAIT_MS)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self._widget.removeEventFilter(self)
            self._fallback.start(0)  # the next turn, after this paint
        return False

    def cancel(self) -> None:
        self._fallback.stop()
        self._widget.removeEventFilter(self)

    def _fire(self) -> None:
        self.cancel()
        self._callback()


class _StandIn(QWidget):
    """A blank panel with the colour and size hints of the view that replaces it
    in attach(), so the window's layout does not move when the views arrive."""

    def __init__(self, hint: QSize, policy: QSizePolicy.Policy, minimum_height: int = 0) -> None:
        super().__init__()
        self._hint = hint
        self.setMinimumHeight(minimum_height)
        self.setSizePolicy(policy, policy)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)

    def sizeHint(self) -> QSize:
        return self._hint

    def minimumSizeHint(self) -> QSize:
        return QSize(70, 70)  # a scroll area's, like the views'


def apply_default_theme() -> None:
    theme.apply_theme("dark")
