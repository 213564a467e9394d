"""File > Export Trace…: the current run as a Perfetto trace.

A ``TraceCollector`` listens to the loop's events from the moment the window
exists and starts over whenever a run starts, so the export holds the whole of
the current run even after the event log's ring has moved on. The save dialog is
opened with ``open()`` (never ``exec()``, which would nest a Qt event loop inside
qasync's) and writes when the user picks a file.
"""

from __future__ import annotations

from pathlib import Path

from coroscope.loop.events import SessionEvent
from coroscope.takes.atomic_file import OutputPathError, check_output
from coroscope.takes.trace_file import summary_line, write_trace
from coroscope.widgets.features.host import FeatureHost
from PySide6.QtCore import QObject, QStandardPaths
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

SHORTCUT = "Ctrl+Shift+E"
# Run ids start at 1: until the first run starts, nothing is collected.
_NO_RUN = 0


class TraceExport(QObject):
    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window)
        self.window = window
        self.controller = window.controller
        # The app keeps this for as long as it runs: a smaller cap than the
        # command line's (about 20 MB at most) keeps a day-long session bounded.
        self.collector = self.controller.models.trace(max_steps=100_000, max_tasks=20_000)
        self.collector.reset(run=_NO_RUN)
        self.folder = Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
            or Path.home()
        )
        self.dialog: QFileDialog | None = None
        self.controller.events.subscribe(self._on_session, kinds=(SessionEvent,))

        action = QAction("Export &Trace…", window)
        keys = QKeySequence(SHORTCUT)
        action.setShortcut(keys)
        tip = "Save the current run as a trace for Perfetto (ui.perfetto.dev)"
        action.setToolTip(f"{tip} ({keys.toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        action.triggered.connect(self.choose_file)
        window.addAction(action)
        self.action = action

    def _on_session(self, event: SessionEvent) -> None:
        if event.kind == "started":
            run = self.controller.run
            self.collector.reset(origin=event.t, run=run.id if run is not None else _NO_RUN)

    def _message(self, text: str, ms: int = 8000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def choose_file(self) -> None:
        """Ask where to save (a non-modal dialog); writing happens when a file is picked."""
        if not self.collector.task_count:
            self._message("Nothing to export yet: run a demo first")
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        target = self.controller.target
        name = f"{Path(target.key).stem if target else 'coroscope'}-trace.json"
        dialog = QFileDialog(
            self.window, "Export Trace", str(self.folder / name), "Chrome trace JSON (*.json)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(self.export_to)
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()

    def export_to(self, path: str | Path) -> Path | None:
        """Write the current run's trace to ``path``; says in the status bar how it went."""
        self.dialog = None
        try:
            output = check_output(path, (".json",))
        except OutputPathError as exc:
            self._message(f"Could not export the trace: {exc}")
            return None
        target = self.controller.target
        document = self.collector.build(
            end=self.controller.clock.now(),
            metadata={
                "target": target.key if target else None,
                "block_threshold": self.controller.tracer.block_threshold,
            },
            findings=self.controller.models.findings.findings,
        )
        try:
            write_trace(document, output)
        except OSError as exc:
            self._message(f"Could not export the trace: {exc.strerror or exc}")
            return None
        self.folder = output.parent
        self._message(f"Trace saved to {output}: {summary_line(document)}")
        return output
