"""Your own scripts in the app: open, drop, reload, and clear help when they misbehave.

``install(window)`` adds File > Open Script… (Ctrl+O), Open Sample and Open
Recent, Reload Script (Ctrl+Shift+R) and Auto-reload; accepts a ``.py`` file
dropped anywhere on the window; watches the open script on disk and reruns it
when it is saved; and shows a problem banner (file, line, caret, hint) for a
script that cannot run, that holds its loop, or that ended badly.

Opening a script runs it as Python on this machine, like ``python script.py``,
unmodified, in a process of its own (``script_process``).
"""

from __future__ import annotations

from pathlib import Path

from coroscope import resources
from coroscope.host.remote import RemoteRun, ended_badly
from coroscope.scripts.loader import ScriptError, check_script
from coroscope.scripts.problems import ProblemModel, ScriptProblem, at_line
from coroscope.scripts.watchdog import Watchdog
from coroscope.widgets.features.host import FeatureHost
from coroscope.widgets.features.script_process import script_target
from coroscope.widgets.views.problem_banner import ProblemBanner
from PySide6.QtCore import QEvent, QFileSystemWatcher, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QTextCursor
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

SAMPLES_DIR = resources.path("samples")
SAMPLE_GROUPS: dict[str, tuple[str, ...]] = {
    "Script forms": (
        "countdown_run.py",
        "run_no_guard.py",
        "tutorial_loop.py",
        "sync_main.py",
        "run_forever.py",
        "wait_and_gather.py",
        "generator_coroutines.py",
        "main_only.py",
    ),
    "Misbehaving scripts": (
        "syntax_error.py",
        "import_error.py",
        "task_exception.py",
        "blocking_sleep.py",
        "busy_loop.py",
        "sys_exit.py",
        "input_call.py",
        "print_flood.py",
        "many_tasks.py",
    ),
    # One for each mistake the Problems list names.
    "Asyncio mistakes": (
        "forgotten_await.py",
        "blocking_call.py",
        "never_yields.py",
        "unretrieved_exception.py",
        "deadlock_cycle.py",
        "deadlock_event.py",
        "dropped_task.py",
        "left_pending.py",
        "await_not_awaitable.py",
        "other_loop_future.py",
    ),
}
MAX_RECENT = 8
RECENT_KEY = "scripts/recent"
RELOAD_NOTE_MS = 4000  # "changed: running it again" is news for a moment, not for minutes
# Editors save by writing or by replacing the file, often in several steps;
# wait for the writes to settle before reading it again.
RELOAD_DELAY_MS = 250
RUNS_AS_PYTHON = "It runs as Python on this computer, like python script.py."

_BLOCKING_HINT = (
    "time.sleep() and long loops hold the whole event loop: use await asyncio.sleep(...), "
    "and await something (asyncio.sleep(0)) inside long loops so other tasks can run."
)


def _first_line(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    doc = text.split('"""', 2)
    return doc[1].strip().splitlines()[0] if len(doc) == 3 and doc[1].strip() else ""


class ScriptFeature(QObject):
    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller = window.controller
        self.path: str | None = None  # the script Open/Reload/auto-reload act on
        self._target = None
        self._recent: list[str] = []
        # The interpreter scripts run on (None: the active venv's, else ours) and
        # their arguments, as `coroscope run SCRIPT --python P -- ARGS` gave them.
        self.python: str | None = None
        self.script_args: tuple[str, ...] = ()
        self._stuck_problem: ScriptProblem | None = None
        self._running_task: int | None = None
        self._stuck_held = 0.0

        self.problems = ProblemModel()
        self.banner = ProblemBanner(self.problems)
        self.dock = window.add_dock(
            "Script Problem", self.banner, Qt.DockWidgetArea.TopDockWidgetArea, "problem_dock"
        )
        self.dock.setTitleBarWidget(QWidget())  # a banner, not a panel with a title
        self.dock.hide()
        self._problem_version = self.problems.version
        self.banner.showLineRequested.connect(self.show_line)
        self.banner.reloadRequested.connect(self.reload)
        self.banner.dismissRequested.connect(self.problems.clear)

        # The window's own loop runs the demos: a step of theirs that blocks is
        # sampled for its line (a script's process has its own watchdog). It only
        # reports: a finding never changes what the program does.
        self.watchdog = Watchdog(controller.tracer)
        self.watchdog.start()

        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._file_changed)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self._auto_reload)

        self._build_actions()
        self._load_recent()
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        window.on_tick(self.tick)
        # Run (F5) runs the open script when no demo is picked in the gallery.
        window.run_action.triggered.disconnect(window.run_selected)
        window.run_action.triggered.connect(self.run_current)

    # -- actions ---------------------------------------------------------------
    def _action(self, text: str, keys, tip: str, slot) -> QAction:
        action = QAction(text, self.window)
        if keys:
            sequence = keys if isinstance(keys, QKeySequence) else QKeySequence(keys)
            action.setShortcut(sequence)
            shown = sequence.toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({shown})")
        else:
            action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _build_actions(self) -> None:
        menu = self.window.menu("file")
        first = menu.actions()[0] if menu.actions() else None
        self.open_action = self._action(
            "&Open Script…",
            QKeySequence.StandardKey.Open,
            f"Open a .py file and run it. {RUNS_AS_PYTHON}",
            self.choose_file,
        )
        self.reload_action = self._action(
            "Re&load Script",
            "Ctrl+Shift+R",
            "Read the script again from disk and run it",
            self.reload,
        )
        self.auto_reload_action = self._action(
            "Reload on &Save",
            None,
            "Run the script again whenever its file changes on disk",
            self._auto_reload_toggled,
        )
        self.auto_reload_action.setCheckable(True)
        self.auto_reload_action.setChecked(True)
        self.samples_menu = QMenu("Open &Sample", self.window)
        self.samples_menu.setToolTipsVisible(True)
        for group, names in SAMPLE_GROUPS.items():
            self.samples_menu.addSection(group)
            for name in names:
                path = SAMPLES_DIR / name
                action = self.samples_menu.addAction(name)
                action.setToolTip(_first_line(path))
                action.setStatusTip(_first_line(path))
                action.triggered.connect(lambda _=False, p=str(path): self.open_path(p))
        self.recent_menu = QMenu("Open &Recent", self.window)
        self.recent_menu.setToolTipsVisible(True)
        for item in (
            self.open_action,
            self.samples_menu.menuAction(),
            self.recent_menu.menuAction(),
            self.reload_action,
            self.auto_reload_action,
        ):
            menu.insertAction(first, item)
        menu.insertSeparator(first)
        self.reload_action.setEnabled(False)

    # -- opening ----------------------------------------------------------------
    def choose_file(self) -> QFileDialog:
        """File > Open: a non-modal dialog (a modal exec() would nest the loop)."""
        dialog = QFileDialog(self.window, "Open a Python script")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["Python scripts (*.py)", "All files (*)"])
        start = Path(self.path).parent if self.path else SAMPLES_DIR
        dialog.setDirectory(str(start))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.open_path)
        dialog.open()
        return dialog

    def open_path(self, path: str) -> bool:
        """Run ``path`` as Python runs it, in a process of its own; a file that
        cannot run shows why in the banner."""
        self._watch(str(Path(path).expanduser().resolve()))
        self.reload_action.setEnabled(True)
        self._remember(self.path)
        try:
            full = check_script(path)
        except ScriptError as exc:
            self.problems.show(exc.problem)
            self.window.statusBar().showMessage(str(exc), 8000)
            if exc.problem.line and not self.controller.running:
                self.show_line(exc.problem.path, exc.problem.line)
            return False
        self.problems.clear()
        self.window.run_target(
            script_target(
                full,
                self.controller,
                self,
                self._script_over,
                python=self.python,
                args=self.script_args,
            )
        )
        return True

    def _script_over(self, run: RemoteRun) -> None:
        """The script's process ended: if it failed, say how, at its line."""
        if run.stopped or self.controller.run is not run:
            return
        problem = ended_badly(run.target.source_path, run.child.outcome, bool(run.child.loops))
        if problem is not None:
            self.problems.show(problem)
            self.window.statusBar().showMessage(problem.headline or problem.title, 8000)

    def reload(self) -> None:
        if self.path is None:
            self.window.statusBar().showMessage("Open a script first (Ctrl+O)", 4000)
            return
        self.open_path(self.path)

    def run_current(self) -> None:
        if self.window.gallery.current_key is None and _script_path(self.controller.target):
            self.reload()
        else:
            self.window.run_selected()

    # -- watching the file ---------------------------------------------------------
    def _watch(self, path: str | None) -> None:
        if self.watcher.files():
            self.watcher.removePaths(self.watcher.files())
        self.path = path
        if path and self.auto_reload_action.isChecked() and Path(path).exists():
            self.watcher.addPath(path)

    def _auto_reload_toggled(self, _checked: bool) -> None:
        self._watch(self.path)

    def _file_changed(self, path: str) -> None:
        if path == self.path and self.auto_reload_action.isChecked():
            self._reload_timer.start()

    def _auto_reload(self) -> None:
        if self.path is None:
            return
        # Saving by replacing the file drops it from the watcher: watch it again.
        if Path(self.path).exists() and self.path not in self.watcher.files():
            self.watcher.addPath(self.path)
        self.window.statusBar().showMessage(
            f"{Path(self.path).name} changed: running it again", RELOAD_NOTE_MS
        )
        self.reload()

    # -- recent files ----------------------------------------------------------------
    def _load_recent(self) -> None:
        settings = self.window.settings
        value = settings.value(RECENT_KEY) if settings is not None else None
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            self._recent = [v for v in value if isinstance(v, str)][:MAX_RECENT]
        self._fill_recent()

    def _remember(self, path: str | None) -> None:
        if not path or str(SAMPLES_DIR) in path:
            return
        self._recent = [path, *(p for p in self._recent if p != path)][:MAX_RECENT]
        if self.window.settings is not None:
            self.window.settings.setValue(RECENT_KEY, self._recent)
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self._recent))

    # -- problems and the code view ------------------------------------------------------
    def show_line(self, path: str, line: int) -> None:
        code = self.window.code
        if code.path != str(Path(path).resolve()):
            code.show_source(path)
        block = code.document().findBlockByNumber(line - 1)
        if not block.isValid():
            return
        # Select the line from its end back to its start, so the view scrolls to
        # where the line begins rather than to its far end.
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
        cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock, QTextCursor.MoveMode.KeepAnchor)
        code.setTextCursor(cursor)
        code.centerCursor()
        code.horizontalScrollBar().setValue(0)

    # -- frame tick --------------------------------------------------------------
    def tick(self) -> None:
        target = self.controller.target
        if target is not self._target:
            self._target_changed(target)
        self._show_stuck()
        run = self.controller.run
        can_rerun = not (isinstance(run, RemoteRun) and run.over)
        lanes = self.window.lanes
        if lanes.can_rerun != can_rerun:
            lanes.can_rerun = can_rerun  # nothing is left to run a task again in
            lanes.viewport().update()
        if self.problems.version != self._problem_version:
            self._problem_version = self.problems.version
            self.dock.setVisible(self.problems.current is not None)
        self.banner.refresh()

    def _show_stuck(self) -> None:
        """While a script's step holds its loop, say so at the line it is stuck on
        (the window itself never waits: the script runs in its own process)."""
        run = self.controller.run
        stuck = run.child.stuck_now if isinstance(run, RemoteRun) and not run.over else None
        if stuck is None:
            if self._stuck_problem is not None and self.problems.current is self._stuck_problem:
                self.problems.clear()
            self._stuck_problem = None
            self._show_running(None)
            return
        _loop, task, what, held, file, line, cpu, _excuse = stuck
        self._show_running(task)
        shown = round(held * 2) / 2  # news every half second, not every frame
        if self._stuck_problem is not None and self._stuck_held == shown:
            return
        self._stuck_held = shown
        spinning = cpu > 0.5
        doing = "has computed" if spinning else "has waited"
        self._stuck_problem = at_line(
            file,
            line,
            f"{what} {doing} for {shown:.1f} s without reaching an await",
            headline=f"{what} is holding the loop: nothing else in the script can run "
            "until it returns.",
            hint=_BLOCKING_HINT,
        )
        self.problems.show(self._stuck_problem)

    def _show_running(self, task: int | None) -> None:
        """The lane of the task whose step holds the loop reads "running" (its last
        event left it "ready"; the step's own event comes only when it ends)."""
        if task != self._running_task:
            self._running_task = task
            self.controller.tasks.set_running(task)

    def _target_changed(self, target) -> None:
        self._target = target
        path = _script_path(target)
        self.problems.clear()
        if path is None:
            self._watch(None)  # a demo runs now; stop following the script
            self.reload_action.setEnabled(False)
            return
        if path != self.path:
            self._watch(path)
            self._remember(path)
        self.reload_action.setEnabled(True)
        # The gallery's old pick would make Run (F5) start that demo instead.
        self.window.gallery.tree.setCurrentItem(None)

    # -- window events -------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if _local_files(event):
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            files = _local_files(event)
            if files:
                event.acceptProposedAction()
                self.open_path(files[0])
                return True
        elif kind == QEvent.Type.Close:
            self.watchdog.stop()
        elif kind == QEvent.Type.Show and not self.watchdog.running:
            self.watchdog.start()
        return super().eventFilter(watched, event)


def _script_path(target) -> str | None:
    """The script a target runs in its own process, if it is a script."""
    if target is not None and target.external is not None:
        return target.source_path
    return None


def _local_files(event) -> list[str]:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


def install(window: FeatureHost) -> None:
    window.script_feature = ScriptFeature(window)
