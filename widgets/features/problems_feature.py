"""The "Problems" panel: the asyncio mistakes Coroscope noticed, as they happen.

``install(window)`` adds a Problems dock, a tab beside the Console (the Code view
stays in sight, since an entry points into it), that lists the run's findings
(``controller.models.findings``). The tab reads "Problems (N)" while there are N
and comes to the front when the run's first one arrives, without taking the
keyboard focus. Clicking an entry, or Enter on it, selects its task's lane and
shows its line in the code view. Lanes of tasks with a finding wear a ⚠ and the
code view marks each finding's line, both fed from here on the frame tick.
View > Show problems (Ctrl+Shift+M) brings the list forward any time.

A finding changes nothing in the run, with one exception: at a deadlock the
window pauses the clock, so the class sees where every task is stuck.

The loop looks for a stall whenever it is about to wait; a thread or child
process that ends without handing the loop an event would leave a stall unseen,
so the tick also asks ``loop.check_stall()`` every ``STALL_CHECK_TICKS`` frames
(about half a second; counted in frames, not seconds, so a recorded take finds a
stall on the same frame however fast the machine draws).
"""

from __future__ import annotations

import os

from coroscope.models.findings import Finding
from coroscope.widgets.features.host import FeatureHost
from coroscope.widgets.views.problems_view import ProblemsView
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget

TITLE = "Problems"
SHORTCUT = "Ctrl+Shift+M"
STALL_CHECK_TICKS = 15  # at the window's ~30 frames a second


def dock_title(count: int) -> str:
    return f"{TITLE} ({count})" if count else TITLE


class ProblemsFeature(QObject):
    def __init__(self, window: FeatureHost) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller = window.controller
        self.findings = controller.models.findings
        self.view = ProblemsView(self.findings)
        self.dock = window.add_dock(
            TITLE, self.view, Qt.DockWidgetArea.BottomDockWidgetArea, "problems_dock"
        )
        # Coming forward must never pull the focus from where the person types.
        self.dock.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        console_dock = window.findChild(QDockWidget, "console_dock")
        if console_dock is not None:
            window.tabifyDockWidget(console_dock, self.dock)
            console_dock.raise_()  # the console stays in front until something is found
        self._version = -1
        self._count = 0
        self._marked: tuple = ()  # (findings version, shown file) the marks were made for
        self._paths: dict[str, str] = {}  # a finding's file -> as the code view names it
        self._deadlocks: list[Finding] = []
        self._ticks = 0
        self.findings.on_finding.append(self._found)
        self.view.findingActivated.connect(self.show_finding)

        self.show_action = window.add_action(
            "Show problems",
            SHORTCUT,
            "Show the Problems list: the asyncio mistakes noticed in this run",
            self.show_panel,
        )
        window.menu("view").addAction(self.show_action)
        window.on_tick(self.tick)

    # -- intents -------------------------------------------------------------------
    def show_panel(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.view.setFocus()

    def show_finding(self, finding: Finding) -> None:
        """Select the finding's task in the lanes and show its line in the code view."""
        window = self.window
        if finding.task is not None:
            window.lanes.reveal(finding.task)
        elif finding.tasks:
            window.lanes.reveal(finding.tasks[0])
        if not finding.file or not finding.line:
            return
        if self._path(finding.file) == window.code.path:
            window.code.show_line(finding.line)
        else:
            window.statusBar().showMessage(
                f"{finding.where()} is not in the file the code view shows", 5000
            )

    # -- what the model says -------------------------------------------------------
    def _found(self, finding: Finding) -> None:
        # Said while the model takes in an event: act on the next tick, outside it.
        if finding.kind == "deadlock":
            self._deadlocks.append(finding)

    def _path(self, file: str) -> str:
        path = self._paths.get(file)
        if path is None:
            path = self._paths[file] = os.path.realpath(file)
        return path

    # -- frame tick ----------------------------------------------------------------
    def tick(self) -> None:
        controller = self.controller
        self._ticks += 1
        if self._ticks % STALL_CHECK_TICKS == 0 and controller.running:
            controller.loop.check_stall()
        if self._deadlocks:
            self._deadlocks.clear()
            if controller.running and not controller.clock.paused:
                self.window.intent(controller.pause)
                self.window.statusBar().showMessage(
                    "Deadlock: the run is paused where every task is stuck (see Problems)", 8000
                )
        self.view.refresh()
        findings = self.findings
        if findings.version != self._version:
            self._version = findings.version
            count = len(findings.findings)
            if count != self._count:
                if count and not self._count:  # the run's first: bring the list forward
                    self.dock.show()
                    self.dock.raise_()
                self._count = count
                self.dock.setWindowTitle(dock_title(count))
        shown = (findings.version, self.window.code.path)
        if shown != self._marked:
            self._marked = shown
            self._mark(findings.findings, self.window.code.path)

    def _mark(self, findings: list[Finding], path: str | None) -> None:
        """Feed the lanes their badges and the code view its line marks."""
        tasks: dict[int, list[str]] = {}
        lines: dict[int, list[str]] = {}
        for finding in findings:
            for task in {finding.task, *finding.tasks} - {None}:
                titles = tasks.setdefault(task, [])
                if finding.title not in titles:
                    titles.append(finding.title)
            if path and finding.line and finding.file and self._path(finding.file) == path:
                lines.setdefault(finding.line, []).append(f"{finding.title}: {finding.message}")
        self.window.lanes.set_problems({task: ", ".join(t) for task, t in tasks.items()})
        self.window.code.set_problems({line: "\n".join(m) for line, m in lines.items()})


def install(window: FeatureHost) -> None:
    window.problems = ProblemsFeature(window)
