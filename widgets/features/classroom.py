"""Classroom wiring: speed, narration, timeline, await graph, presentation mode.

Installed into the main window like any feature. Everything a teacher needs to
slow the loop to the speed of explanation and make it readable from the back of
a room; the choices (theme, presentation, input overlay) are remembered.
Presentation mode hides the status bar with the rest of the chrome, so a large
loop-clock badge in the toolbar carries the loop time and whether it is paused.
"""

from __future__ import annotations

from functools import partial

from coroscope.about import APP_NAME, __version__
from coroscope.models import view_prefs
from coroscope.widgets.features.host import FeatureHost
from coroscope.widgets.paint import theme
from coroscope.widgets.views.await_graph_view import AwaitGraphView
from coroscope.widgets.views.narration_view import NarrationView
from coroscope.widgets.views.overlays import HelpOverlay, InputOverlay
from coroscope.widgets.views.speed_control import SpeedControl
from coroscope.widgets.views.timeline_view import TimelineView
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QFontMetrics, QKeySequence, QPainter, QPolygonF
from PySide6.QtWidgets import QMessageBox, QSizePolicy, QWidget


class LoopClockBadge(QWidget):
    """The loop's time and whether it runs, large, for presentation mode.

    Its size comes from a template of the widest text, so a new time costs a
    repaint of this small patch of toolbar and never a layout of it (or the window).
    """

    TEMPLATE = "t = 00000.00 s"  # also holds "t = 9999999 s"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._paused = False
        self._time = self._format(0.0)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Loop time (seconds on the loop's clock); paused or running")
        self.setAccessibleName("Loop time")

    @staticmethod
    def _format(now: float) -> str:
        # Past the template's width (hours of loop time) the hundredths give way.
        return f"t = {now:.2f} s" if now < 100_000 else f"t = {now:.0f} s"

    def text(self) -> str:
        return f"{self._time} · {'paused' if self._paused else 'running'}"

    def show_time(self, now: float, paused: bool) -> None:
        shown = self._format(now)
        if (shown, paused) != (self._time, self._paused):
            self._time, self._paused = shown, paused
            self.update()

    def _fonts(self):
        t = theme.current()
        return t.font(10.5, bold=True), t.font(8, bold=True)

    def sizeHint(self) -> QSize:
        t = theme.current()
        big, small = (QFontMetrics(f) for f in self._fonts())
        word = small.height() + t.px(4) + small.horizontalAdvance("running")
        width = max(big.horizontalAdvance(self.TEMPLATE), word)
        return QSize(width + t.px(12), big.height() + small.height())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def event(self, event) -> bool:
        if event.type() in (event.Type.FontChange, event.Type.ApplicationFontChange):
            self.updateGeometry()  # larger in presentation mode
        return super().event(event)

    def paintEvent(self, _event) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)  # on the toolbar's own background
        colour = t.state_colour("ready" if self._paused else "running")
        big, small = self._fonts()
        big_h, small_h = QFontMetrics(big).height(), QFontMetrics(small).height()
        top = (self.height() - big_h - small_h) / 2
        x = t.px(6)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        p.setFont(big)
        p.setPen(t.colour("text"))
        p.drawText(QRectF(x, top, self.width() - x, big_h), align, self._time)
        # The state as a symbol, two bars (paused) or a triangle (running), and a word.
        size = small_h * 0.7
        box = QRectF(x, top + big_h + (small_h - size) / 2, size, size)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        if self._paused:
            bar = size * 0.36
            p.drawRect(QRectF(box.left(), box.top(), bar, size))
            p.drawRect(QRectF(box.right() - bar, box.top(), bar, size))
        else:
            corners = [box.topLeft(), QPointF(box.right(), box.center().y()), box.bottomLeft()]
            p.drawPolygon(QPolygonF(corners))
        word_x = x + small_h + t.px(4)
        p.setFont(small)
        p.setPen(colour)
        word = "paused" if self._paused else "running"
        p.drawText(QRectF(word_x, top + big_h, self.width() - word_x, small_h), align, word)


class Classroom:
    def __init__(self, window: FeatureHost) -> None:
        self.window = window
        c = window.controller
        self.controller = c
        self.narration = NarrationView(c.narration, c.tasks)
        self.timeline = TimelineView(c.timeline, c.clock)
        self.graph = AwaitGraphView(c.graph, c.clock)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        docks = [
            window.add_dock("Narration", self.narration, bottom, "narration_dock"),
            window.add_dock("Timeline", self.timeline, bottom, "timeline_dock"),
            window.add_dock("Await graph", self.graph, bottom, "graph_dock"),
        ]
        console_dock = window.console.parentWidget()
        # A dock tabbed behind another still counts as visible to Qt (it is moved off
        # screen), so the panels follow their docks' own word on being seen.
        self._on_screen: set[QWidget] = set()
        for dock, view in zip(docks, (self.narration, self.timeline, self.graph), strict=True):
            window.tabifyDockWidget(console_dock, dock)
            dock.visibilityChanged.connect(partial(self._seen, view))
            # Floated out from behind another tab it shows without saying so.
            dock.topLevelChanged.connect(partial(self._look_again, view))
        console_dock.raise_()

        self.speed = SpeedControl()
        self.speed.speedChosen.connect(self.set_speed)
        window.toolbar.addWidget(self.speed)
        self.clock_badge = LoopClockBadge()
        self.clock_badge_action = window.toolbar.addWidget(self.clock_badge)
        self.clock_badge_action.setVisible(False)  # the status bar shows it outside presentation
        self.faster_action = window.add_action("Faster", "+", "Run the loop faster", self.faster)
        self.slower_action = window.add_action("Slower", "-", "Run the loop slower", self.slower)
        self.faster_action.setShortcuts([QKeySequence("+"), QKeySequence("=")])
        run_menu = window.menu("run")
        run_menu.addAction(self.faster_action)
        run_menu.addAction(self.slower_action)

        self.input_overlay = InputOverlay(window)
        self.help_overlay = HelpOverlay(window)
        view = window.menu("view")
        view.addSeparator()
        self.presentation_action = self._toggle(
            "Presentation mode",
            "Ctrl+Shift+P",
            "Large fonts and thick lines; hides non-essential chrome",
            self.set_presentation,
        )
        self.light_action = self._toggle(
            "Light theme",
            "Ctrl+Shift+L",
            "Switch between the dark and light high-contrast themes",
            self.set_light,
        )
        self.overlay_action = self._toggle(
            "Show clicks and keys",
            "Ctrl+Shift+K",
            "Echo mouse clicks and key presses for screencasts",
            self.set_input_overlay,
        )
        for action in (self.presentation_action, self.light_action, self.overlay_action):
            view.addAction(action)
        window.toolbar.addSeparator()
        window.toolbar.addAction(self.presentation_action)
        help_menu = window.menu("help")
        help_menu.addAction(
            window.add_action("Keyboard shortcuts", "F1", "Show every shortcut", self.show_help)
        )
        help_menu.addAction(
            window.add_action("About Coroscope", "", "Version and credits", self.show_about)
        )
        window.on_tick(self.tick)
        # The code view keeps the chosen task's line in sight.
        window.lanes.taskSelected.connect(window.code.follow)
        self._restore()

    def _toggle(self, text: str, keys: str, tip: str, slot) -> QAction:
        action = self.window.add_action(text, keys, tip, lambda: None)
        action.triggered.disconnect()
        action.setCheckable(True)
        action.toggled.connect(slot)
        return action

    # -- speed -----------------------------------------------------------------
    def set_speed(self, speed: float) -> None:
        self.window.intent(self.controller.set_speed, speed)

    def faster(self) -> None:
        self.set_speed(SpeedControl.faster(self.controller.clock.speed))

    def slower(self) -> None:
        self.set_speed(SpeedControl.slower(self.controller.clock.speed))

    # -- view modes --------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self.presentation_action.isChecked()

    def _apply_theme(self) -> None:
        prefs = self._prefs()
        theme.apply_theme(prefs.theme_name, scale=prefs.scale)
        w = self.window
        w.code.apply_theme()
        w.console.apply_theme()
        w.scale_toolbar(prefs.scale)
        for widget in (
            w.lanes,
            w.code,
            w.console,
            w.stage,
            self.narration,
            self.timeline,
            self.graph,
        ):
            widget.update()
        w.lanes.refresh()
        self._save()

    def set_presentation(self, on: bool) -> None:
        self._apply_theme()
        self.window.show_chrome(not on)
        # The status bar goes with the chrome: the loop's time and state stay in sight.
        self.clock_badge_action.setVisible(on)
        self._show_clock()

    def _show_clock(self) -> None:
        clock = self.controller.clock
        self.clock_badge.show_time(clock.run_time(), clock.paused)  # from the run's start

    def set_light(self, _on: bool) -> None:
        self._apply_theme()

    def set_input_overlay(self, on: bool) -> None:
        self.input_overlay.set_enabled(on)
        self._save()

    def show_help(self) -> None:
        entries = []
        for action in self.window.actions():
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                entries.append((keys, action.text().replace("&", "")))
        lane_keys = [
            ("Delete", "Cancel the selected task (lanes)"),
            ("W", "Wake the selected sleeping task now"),
            ("D", "Delay the selected task's timer by one second"),
            ("Enter", "Type a new remaining time for the selected task"),
            ("R", "Run a finished task again"),
            ("Wheel / drag", "Zoom and pan the timeline; F follows now"),
        ]
        self.help_overlay.show_shortcuts(entries + lane_keys)

    def show_about(self) -> None:
        box = QMessageBox(self.window)
        box.setWindowTitle(f"About {APP_NAME}")
        box.setIconPixmap(self.window.windowIcon().pixmap(64, 64))
        box.setText(f"<b>{APP_NAME} {__version__}</b>")
        box.setInformativeText(
            "Watch asyncio run: a live, steerable view of a real Python event loop.<br><br>"
            "Qt and asyncio share one loop through qasync; the loop's timers run on a "
            "virtual clock so you can pause, step and slow it down."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Close)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()  # never exec(): a nested event loop would stall the asyncio loop
        self.about_box = box

    # -- frame tick ----------------------------------------------------------------
    def _seen(self, view: QWidget, on_screen: bool) -> None:
        if on_screen:
            self._on_screen.add(view)
        else:
            self._on_screen.discard(view)
        if view is self.narration:
            self.narration.set_on_screen(on_screen)

    def _look_again(self, view: QWidget, _floating: bool) -> None:
        # Once the dock has its new place (the change is still under way now).
        QTimer.singleShot(0, lambda: self._seen(view, not view.visibleRegion().isEmpty()))

    def tick(self) -> None:
        self.narration.refresh()
        if self.timeline in self._on_screen:
            self.timeline.refresh()
        if self.graph in self._on_screen:
            self.graph.refresh()
        if not self.speed.view().isVisible():
            self.speed.show_speed(self.controller.clock.speed)
        if self.presenting:
            self._show_clock()

    # -- settings ------------------------------------------------------------------
    def _actions(self) -> dict[str, QAction]:
        return {
            "light": self.light_action,
            "presentation": self.presentation_action,
            "input_overlay": self.overlay_action,
        }

    def _prefs(self) -> view_prefs.ViewPrefs:
        return view_prefs.ViewPrefs(
            **{key: action.isChecked() for key, action in self._actions().items()}
        )

    def _save(self) -> None:
        settings = self.window.settings
        if settings is None:
            return
        for key, action in self._actions().items():
            settings.setValue(f"{view_prefs.SETTINGS_GROUP}/{key}", action.isChecked())

    def _restore(self) -> None:
        # Read everything first: applying one choice saves all of them. The
        # window's frame already wears them (see MainWindow); this checks the boxes.
        saved = view_prefs.read(self.window.settings)
        for key, action in self._actions().items():
            action.setChecked(getattr(saved, key))


def install(window: FeatureHost) -> None:
    window.classroom = Classroom(window)
