"""Recording takes and exporting traces from the app.

* **Record** (toolbar and File menu, F9): starts recording the window,
  or the panel chosen under File > Record Panel, to a timestamped file in the
  takes folder; press again to stop. While recording, the button shows the
  elapsed time, as does the window title (outside the recorded picture).
* **Record Take As…** asks for the file first; its extension picks the format:
  ``.mp4`` (H.264), ``.webm`` (VP9) or ``.gif``.
* **Export Trace…** (Ctrl+Shift+E) saves the current run for Perfetto
  (``coroscope.widgets.features.trace_export_action``).

The take is written atomically by an encoder thread; the status bar says where
it went once the file is complete. Dialogs are opened with ``open()``, never
``exec()``, which would nest an event loop inside qasync's.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from coroscope.takes.atomic_file import OutputPathError, check_output
from coroscope.takes.options import VIDEO_EXTENSIONS
from coroscope.widgets.features.host import FeatureHost
from coroscope.widgets.features.trace_export_action import TraceExport
from coroscope.widgets.paint import theme
from PySide6.QtCore import QEvent, QObject, QPointF, QStandardPaths, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QWidget

if TYPE_CHECKING:
    from coroscope.widgets.features.live_recorder import LiveRecorder

# PyAV and numpy load only when the first take starts: importing them with the
# window would add a quarter of a second to every start-up.

SHORTCUT = "F9"
FPS = 30
PANELS = {
    "window": "Whole &Window",
    "stage": "&Stage",
    "lanes": "Task &Lanes",
    "code": "&Code",
    "console": "C&onsole",
}
_TITLE_PREFIX = re.compile(r"^● REC \d+:\d\d — ")
RECORD_COLOUR = "#E5484D"
SETTINGS_GROUP = "recording"


def install(window: FeatureHost) -> None:
    window.recording = RecordFeature(window)


def default_folder() -> Path:
    movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
    return Path(movies or Path.home()) / "Coroscope"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _icon(recording: bool) -> QIcon:
    """A red dot to start, a red square to stop (drawn, so no icon files are needed)."""
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(RECORD_COLOUR))
    if recording:
        painter.drawRoundedRect(8, 8, 16, 16, 3, 3)
    else:
        painter.drawEllipse(QPointF(16, 16), 10, 10)
    painter.end()
    return QIcon(pixmap)


class RecordFeature(QObject):
    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window)
        self.window = window
        self.folder = default_folder()
        self.extension = ".mp4"
        self.fps = FPS
        self.panel = "window"
        self.recorder: LiveRecorder | None = None
        self.finishing: LiveRecorder | None = None
        # The status bar's word on the recording under way, which no frame shows.
        self._recording_note = ""
        self._recording_note_until = 0.0
        self._recording_to: Path | None = None
        self.dialog: QFileDialog | None = None
        self._shown_second = -1
        self._icons = (_icon(False), _icon(True))
        self.traces = TraceExport(window)
        self._restore()
        self._build_actions()
        window.on_tick(self._tick)
        window.installEventFilter(self)

    # -- construction ---------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        keys = QKeySequence(SHORTCUT)
        self.record_action = QAction(self._icons[0], "Record", w)
        self.record_action.setCheckable(True)
        self.record_action.setShortcut(keys)
        self._record_tip = (
            "Record the window to a video in the takes folder; press again to stop "
            f"({keys.toString(QKeySequence.SequenceFormat.NativeText)})"
        )
        self.record_action.setToolTip(self._record_tip)
        self.record_action.setStatusTip("Record the window to a video; press again to stop")
        self.record_action.triggered.connect(self.toggle)
        w.addAction(self.record_action)

        self.record_as_action = QAction("Record Take &As…", w)
        self.record_as_action.setStatusTip("Choose the file (MP4, WebM or GIF), then record")
        self.record_as_action.setToolTip("Choose the file (MP4, WebM or GIF), then record")
        self.record_as_action.triggered.connect(self.choose_file)

        file_menu = w.menu("file")
        before = self._quit_action(file_menu)
        panel_menu = file_menu.addMenu("Record &Panel")
        panel_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.panel_actions: dict[str, QAction] = {}
        for key, label in PANELS.items():
            action = panel_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(key == self.panel)
            action.setStatusTip("What Record captures")
            action.triggered.connect(lambda _checked=False, k=key: self.set_panel(k))
            group.addAction(action)
            self.panel_actions[key] = action
        items = [self.record_action, self.record_as_action, panel_menu.menuAction(), None]
        items += [self.traces.action, None]
        for item in items:
            if item is None:
                if before is not None:
                    file_menu.insertSeparator(before)
                else:
                    file_menu.addSeparator()
            elif before is not None:
                file_menu.insertAction(before, item)
            else:
                file_menu.addAction(item)
        w.toolbar.addSeparator()
        w.toolbar.addAction(self.record_action)

    def _restore(self) -> None:
        settings = self.window.settings
        if settings is None:
            return
        folder = settings.value(f"{SETTINGS_GROUP}/folder")
        if isinstance(folder, str) and folder:
            self.folder = Path(folder)
        extension = settings.value(f"{SETTINGS_GROUP}/format")
        if extension in VIDEO_EXTENSIONS:
            self.extension = extension
        panel = settings.value(f"{SETTINGS_GROUP}/panel")
        if panel in PANELS:
            self.panel = panel

    def _remember(self) -> None:
        settings = self.window.settings
        if settings is None:
            return
        settings.setValue(f"{SETTINGS_GROUP}/folder", str(self.folder))
        settings.setValue(f"{SETTINGS_GROUP}/format", self.extension)
        settings.setValue(f"{SETTINGS_GROUP}/panel", self.panel)

    @staticmethod
    def _quit_action(menu) -> QAction | None:
        """File > Quit, so our actions go above it (some platforms bind no Quit keys)."""
        quit_keys = QKeySequence(QKeySequence.StandardKey.Quit)
        for action in menu.actions():
            if action.text().replace("&", "") == "Quit":
                return action
            if not quit_keys.isEmpty() and action.shortcut() == quit_keys:
                return action
        return None

    # -- intents -----------------------------------------------------------------
    def _message(self, text: str, ms: int = 10000) -> None:
        self.window.statusBar().showMessage(text, ms)

    @contextlib.contextmanager
    def as_when_not_recording(self) -> Iterator[None]:
        """Around each grab of a take: the frames show the app as it looks when not
        recording, with the Record button idle and no word of the recording in the
        status bar. Only the grab sees it: nothing is repainted on screen between."""
        action = self.record_action
        bar = self.window.statusBar()
        saying = bar.currentMessage() == self._recording_note
        shown = (action.text(), action.icon(), action.isChecked())
        # The button follows the action through events, which blocking its signals
        # keeps; what it blocks is toggled(), which would stop the recording.
        action.blockSignals(True)
        action.setText("Record")
        action.setIcon(self._icons[0])
        action.setChecked(False)
        if saying:
            bar.blockSignals(True)
            bar.clearMessage()
        try:
            yield
        finally:
            if saying:
                left = max(1, round((self._recording_note_until - time.monotonic()) * 1000))
                bar.showMessage(self._recording_note, left)
                bar.blockSignals(False)
            action.setText(shown[0])
            action.setIcon(shown[1])
            action.setChecked(shown[2])
            action.blockSignals(False)

    def set_panel(self, key: str) -> None:
        self.panel = key
        self.panel_actions[key].setChecked(True)
        self._remember()

    def panel_widget(self) -> QWidget:
        widget = getattr(self.window, self.panel, None) if self.panel != "window" else None
        return widget if isinstance(widget, QWidget) else self.window

    def toggle(self) -> None:
        if self.recorder is None:
            self.start()
        else:
            self.stop()

    def default_path(self) -> Path:
        target = self.window.controller.target
        name = Path(target.key).stem if target is not None else "session"
        stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
        return self.folder / f"coroscope-{name}-{stamp}{self.extension}"

    def start(self, path: str | Path | None = None) -> bool:
        """Start recording to ``path`` (default: a new file in the takes folder)."""
        if self.recorder is not None:
            return False
        from coroscope.takes import video_encoder as encoding
        from coroscope.widgets.features import live_recorder as live

        try:
            if path is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                path = self.default_path()
            output = check_output(path, VIDEO_EXTENSIONS)
            self.recorder = live.LiveRecorder(
                self.panel_widget(),
                output,
                self.fps,
                background=theme.current().window,
                while_grabbing=self.as_when_not_recording,
            )
        except (OutputPathError, encoding.EncoderError) as exc:
            return self._failed_to_start(str(exc))
        except OSError as exc:
            return self._failed_to_start(exc.strerror or str(exc))
        self._recording_to = output
        self._shown_second = -1
        self._show_state()
        what = "the window" if self.panel == "window" else f"the {self.panel} panel"
        format_label = encoding.FORMATS[output.suffix.lower()].label
        # No path here: the status bar is in view (but never in the take's frames);
        # the Record button's tooltip says where.
        self._recording_note = f"Recording {what} ({format_label}); press Record to stop"
        self._recording_note_until = time.monotonic() + 10
        self._message(self._recording_note)
        return True

    def _failed_to_start(self, reason: str) -> bool:
        self.record_action.setChecked(False)
        self._message(f"Could not start recording: {reason}")
        return False

    def stop(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        recorder.stop()
        self.recorder = None
        self.finishing = recorder
        self._show_state()
        self._message("Finishing the take…", 0)

    def choose_file(self) -> None:
        """Ask for the take's file (a non-modal dialog), then start recording."""
        if self.recorder is not None:
            self._message("Already recording; press Record to stop first")
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        with contextlib.suppress(OSError):  # the dialog opens in the takes folder if it can
            self.folder.mkdir(parents=True, exist_ok=True)
        from coroscope.takes.video_encoder import FORMATS

        filters = [f"{FORMATS[ext].label} (*{ext})" for ext in VIDEO_EXTENSIONS]
        dialog = QFileDialog(
            self.window, "Record Take As", str(self.default_path()), ";;".join(filters)
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.selectNameFilter(filters[VIDEO_EXTENSIONS.index(self.extension)])
        dialog.setDefaultSuffix(self.extension.lstrip("."))
        dialog.filterSelected.connect(
            lambda chosen: dialog.setDefaultSuffix(
                VIDEO_EXTENSIONS[filters.index(chosen)].lstrip(".")
            )
        )
        dialog.fileSelected.connect(self.record_to)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def record_to(self, path: str | Path) -> bool:
        """Start recording to a file the user chose; it sets the folder and format too."""
        self.dialog = None
        chosen = Path(path)
        if chosen.suffix.lower() in VIDEO_EXTENSIONS:
            self.extension = chosen.suffix.lower()
            self.folder = chosen.parent
            self._remember()
        return self.start(chosen)

    # -- frame tick ---------------------------------------------------------------
    def _tick(self) -> None:
        recorder = self.recorder
        if recorder is not None:
            if recorder.error is not None:
                self.recorder = None
                recorder.cancel()
                self._report(recorder)
            else:
                self._show_state()
        finishing = self.finishing
        if finishing is not None and finishing.done:
            self.finishing = None
            self._report(finishing)

    def _report(self, recorder: LiveRecorder) -> None:
        self._show_state()
        if recorder.error is not None or recorder.path is None:
            reason = recorder.error
            text = getattr(reason, "strerror", None) or str(reason or "the encoder stopped")
            self._message(f"Recording failed: {text}; nothing was saved", 15000)
            return
        late = f", {recorder.repeated} late frames repeated" if recorder.repeated else ""
        self._message(
            f"Saved a {recorder.video_seconds:.1f} s take to {recorder.path}{late}", 15000
        )

    def _show_state(self) -> None:
        recorder = self.recorder
        action = self.record_action
        title = _TITLE_PREFIX.sub("", self.window.windowTitle())
        if recorder is None:
            action.setChecked(False)
            action.setIcon(self._icons[0])
            action.setText("Record")
            action.setToolTip(self._record_tip)
            action.setEnabled(self.finishing is None)
            self.window.setWindowTitle(title)
            return
        second = int(recorder.elapsed)
        if second == self._shown_second and action.isChecked():
            return
        self._shown_second = second
        action.setChecked(True)
        action.setIcon(self._icons[1])
        action.setText(f"Stop {_clock(second)}")
        action.setToolTip(
            f"Recording to {self._recording_to} for {_clock(second)}; press to stop ({SHORTCUT})"
        )
        self.window.setWindowTitle(f"● REC {_clock(second)} — {title}")

    # -- closing ------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.finish_now()
        return False

    def finish_now(self) -> None:
        """Write out any take in progress before the window goes away."""
        for recorder in (self.recorder, self.finishing):
            if recorder is not None:
                recorder.wait()
        self.recorder = None
        self.finishing = None
