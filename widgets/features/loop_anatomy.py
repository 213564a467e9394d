"""The "Loop" panel: the event loop's anatomy, live, and its timers steerable.

From the top: loop health (lag meter and blocked-loop warning), the ready queue
(what runs next, in order), the timer heap (click ✕ to cancel, drag to move),
the fds the loop watches with the bytes crossing each connection or pipe, the
thread-pool workers with their jobs, and the child processes.

Everything is painted from ``LoopModel`` on the window's frame tick; the ready
queue is sampled from the scheduler once per tick, because it changes far more
often than anyone could read. Timer intents go to the controller.
"""

from __future__ import annotations

from collections.abc import Callable

from coroscope import demos
from coroscope.control.run import ExternalRun
from coroscope.demos import BASE_LOOP
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import PROCESS_POOL
from coroscope.models.loop_model import ChannelRow, JobRow, LoopModel, ProcessRow, ReadyItem
from coroscope.models.task_model import TaskModel
from coroscope.widgets.features.host import FeatureHost
from coroscope.widgets.paint import theme
from coroscope.widgets.views.anatomy_health import LoopHealthView
from coroscope.widgets.views.anatomy_rows import Column, Line, RowTable
from coroscope.widgets.views.anatomy_timers import TimerListView
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

# Demos outside "The base event loop" whose lesson is in this panel too.
PANEL_DEMOS = {"timeouts"}
GLOW_SECONDS = 0.8  # how long a connection row stays lit after bytes cross it
_RECENT_JOBS = 4


def size_text(nbytes: int) -> str:
    if nbytes < 10_000:
        return f"{nbytes} B"
    if nbytes < 10_000_000:
        return f"{nbytes / 1024:.0f} KiB"
    return f"{nbytes / 1048576:.0f} MiB"


class SectionHeader(QWidget):
    """A section's title and count on the left, a hint on the right that gives way
    (elides) when the panel is narrow, e.g. in presentation mode."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.count = ""
        self.hint = ""
        self.warn = False
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fit()

    def _fit(self) -> None:
        height = theme.current().px(30)
        if height != self.height():
            self.setFixedHeight(height)

    def event(self, event) -> bool:
        if event.type() in (event.Type.FontChange, event.Type.ApplicationFontChange):
            self._fit()  # taller in presentation mode
        return super().event(event)

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())

    def set_text(self, count: str, hint: str, warn: bool = False) -> None:
        if (self.count, self.hint, self.warn) == (count, hint, warn):
            return
        self.count, self.hint, self.warn = count, hint, warn
        self.update()

    def text(self) -> str:
        return f"{self.title} · {self.count} — {self.hint}"

    def paintEvent(self, event) -> None:
        t = theme.current()
        p = QPainter(self)
        area = self.rect().adjusted(t.px(10), t.px(6), -t.px(10), 0)
        align = Qt.AlignmentFlag.AlignVCenter
        p.setFont(t.font(10, bold=True))
        p.setPen(t.colour("text"))
        p.drawText(area, align | Qt.AlignmentFlag.AlignLeft, self.title)
        x = area.left() + p.fontMetrics().horizontalAdvance(self.title)
        if self.count:
            p.setFont(t.font(10))
            p.setPen(t.colour("dim_text"))
            count = f" · {self.count}"
            p.drawText(area.adjusted(x - area.left(), 0, 0, 0), align, count)
            x += p.fontMetrics().horizontalAdvance(count)
        p.setFont(t.font(8.5))
        p.setPen(t.state_colour("failed") if self.warn else t.colour("dim_text"))
        room = area.right() - x - t.px(12)
        if room > t.px(30):
            hint = p.fontMetrics().elidedText(self.hint, Qt.TextElideMode.ElideRight, room)
            p.drawText(area, align | Qt.AlignmentFlag.AlignRight, hint)


class LoopAnatomyPanel(QScrollArea):
    def __init__(
        self,
        model: LoopModel,
        tasks: TaskModel,
        clock: VirtualClock,
        threshold: Callable[[], float],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.tasks = tasks
        self.clock = clock
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Loop anatomy")
        self.setMinimumWidth(360)
        self._on_screen = True

        self.health = LoopHealthView(model, tasks, clock, threshold)
        self.ready = RowTable(
            [Column(26, "right", mono=True), Column(0, mono=True)],
            "Empty between iterations: pause and step (→) to watch it fill.",
            max_rows=8,
            name="Ready queue",
        )
        self.timers = TimerListView(model, tasks, clock)
        self.watches = RowTable(
            [Column(30, "right", mono=True), Column(34, mono=True), Column(0)],
            "The loop watches no sockets or pipes.",
            max_rows=8,
            name="Watched file descriptors",
        )
        self.channels = RowTable(
            [
                Column(0),
                Column(56, "right", mono=True),
                Column(56, "right", mono=True),
                Column(120, mono=True),
            ],
            "No connections or pipes yet.",
            max_rows=8,
            name="Connections and pipes",
        )
        self.threads = RowTable(
            [Column(96, mono=True), Column(0, mono=True), Column(70), Column(84)],
            "No run_in_executor jobs yet.",
            max_rows=8,
            name="Threads",
        )
        self.processes = RowTable(
            [Column(52, "right", mono=True), Column(0, mono=True), Column(96), Column(70)],
            "No child processes yet.",
            max_rows=6,
            name="Subprocesses",
        )
        self.headers = {
            key: SectionHeader(title)
            for key, title in (
                ("ready", "Ready queue"),
                ("timers", "Timers"),
                ("io", "I/O"),
                ("threads", "Threads"),
                ("processes", "Subprocesses"),
            )
        }
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(0)
        layout.addWidget(self.health)
        for key, widgets in (
            ("ready", [self.ready]),
            ("timers", [self.timers]),
            ("io", [self.watches, self.channels]),
            ("threads", [self.threads]),
            ("processes", [self.processes]),
        ):
            layout.addWidget(self.headers[key])
            for widget in widgets:
                layout.addWidget(widget)
        layout.addStretch(1)
        self.setWidget(body)
        self._tips()

    def _tips(self) -> None:
        self.headers["ready"].setToolTip(
            "Callbacks queued for this loop iteration, in the order they will run:\n"
            "task steps, call_soon callbacks, timers that just fell due, I/O callbacks."
        )
        self.headers["timers"].setToolTip(
            "Every scheduled TimerHandle (call_later, call_at, sleep, timeouts), soonest first."
        )
        self.headers["io"].setToolTip(
            "File descriptors the loop asks the OS about, and the bytes each transport moved."
        )
        self.headers["threads"].setToolTip(
            "run_in_executor / to_thread jobs: which worker runs what, for which task."
        )
        self.headers["processes"].setToolTip(
            "Child processes started with subprocess_exec / create_subprocess_exec."
        )

    # -- frame tick ----------------------------------------------------------------------
    def showing(self) -> bool:
        """On screen: Qt calls a dock tab behind another visible, so the dock tells us."""
        return self._on_screen and self.isVisible()

    def set_on_screen(self, on_screen: bool) -> None:
        self._on_screen = on_screen

    def refresh(self) -> None:
        self.health.refresh()
        self.timers.refresh()
        now = self.clock.now()
        self._refresh_ready()
        self.headers["timers"].set_text(
            str(len(self.model.timers)),
            f"bars: now → +{self.timers.horizon:g} s · drag to move · ✕ cancels",
        )
        self._refresh_io(now)
        self._refresh_threads(now)
        self._refresh_processes(now)

    def _task_name(self, task_id: int | None) -> str:
        if task_id is None:
            return ""
        row = self.tasks.get(task_id)
        return row.name if row is not None else f"task #{task_id}"

    def _task_colour(self, task_id: int | None):
        row = self.tasks.get(task_id) if task_id is not None else None
        return theme.current().task_colour(row.colour) if row is not None else None

    def _refresh_ready(self) -> None:
        model = self.model
        lines = [
            Line((str(i), item.label), accent=self._task_colour(item.task))
            for i, item in enumerate(model.ready, 1)
        ]
        self.ready.set_lines(lines)
        paused = "paused · " if self.clock.paused else ""
        self.headers["ready"].set_text(str(model.ready_total), f"{paused}runs top to bottom")

    def _refresh_io(self, now: float) -> None:
        watches = []
        for row in self.model.io_rows():
            mode = ("R" if row.read else "") + ("W" if row.write else "")
            watches.append(
                Line(
                    (str(row.fd), mode, row.label),
                    tooltip=f"fd {row.fd}: {row.label}\nwatched for "
                    + " and ".join(
                        k for k, on in (("reading", row.read), ("writing", row.write)) if on
                    ),
                    dim=row.internal,
                )
            )
        self.watches.set_lines(watches)
        channels = [self._channel_line(row, now) for row in self.model.channel_rows()]
        self.channels.set_lines(channels)
        open_count = sum(1 for r in self.model.channels.values() if r.open)
        listening = [r for r in self.model.watches.values() if r.label.startswith("listening on")]
        exposed = [r for r in listening if not _loopback(r.label)]
        hint = "⚠ listening beyond loopback" if exposed else "R read · W write · ↓ in · ↑ out"
        self.headers["io"].set_text(
            f"{len(self.model.watches)} fds · {open_count} open", hint, warn=bool(exposed)
        )

    def _channel_line(self, row: ChannelRow, now: float) -> Line:
        t = theme.current()
        last = max((x for x in (row.last_in, row.last_out) if x is not None), default=None)
        glow = 0.0
        if row.open and last is not None and now - last < GLOW_SECONDS:
            glow = 1.0 - (now - last) / GLOW_SECONDS
        arrow = "↓" if row.preview_direction == "in" else "↑"
        preview = f"{arrow} {row.preview}" if row.preview else ""
        state = "open" if row.open else "closed"
        # A pipe only goes one way: leave its other column empty.
        down = f"↓{size_text(row.bytes_in)}" if row.kind != "write pipe" else ""
        up = f"↑{size_text(row.bytes_out)}" if row.kind != "read pipe" else ""
        return Line(
            (row.label, down, up, preview),
            colours=(None, t.state_colour("sleep"), t.state_colour("cancelled"), None),
            tooltip=f"{row.kind}: {row.label} ({state})\nreceived {row.bytes_in} bytes, "
            f"sent {row.bytes_out} bytes\nlast data: {preview or 'none'}",
            glow=glow,
            dim=not row.open,
        )

    def _refresh_threads(self, now: float) -> None:
        t = theme.current()
        lines = []
        for name, job in self.model.workers():
            if job is None:
                continue
            lines.append(self._job_line(job, name, now))
        for job in self.model.queued_jobs():
            lines.append(self._job_line(job, job.thread or "queued", now))
        # Idle workers matter only while the pool has work; a finished demo may
        # have shut its pool down, and we cannot tell.
        idle = [name for name, job in self.model.workers() if job is None] if lines else []
        for name in idle:
            lines.append(Line((name, "idle", "", ""), dim=True))
        finished = [r for r in self.model.job_rows() if not r.live][:_RECENT_JOBS]
        for job in finished:
            outcome = job.detail if job.state in ("done", "failed") else job.state
            colour = t.state_colour("failed" if job.state == "failed" else "done")
            lines.append(
                Line(
                    (
                        job.thread or "—",
                        f"{job.function} → {outcome}",
                        job.state,
                        self._task_name(job.task),
                    ),
                    colours=(None, None, colour, None),
                    tooltip=self._job_tip(job),
                    dim=True,
                )
            )
        self.threads.set_lines(lines)
        busy = sum(1 for _n, job in self.model.workers() if job is not None)
        self.headers["threads"].set_text(
            f"{busy} busy · {len(self.model.queued_jobs())} queued" if lines else "",
            "worker · job · state · awaited by",
        )

    def _job_line(self, job: JobRow, thread: str, now: float) -> Line:
        t = theme.current()
        if job.state == "submitted" and job.thread == PROCESS_POOL:
            state, colour = "in a process", t.state_colour("running")
        elif job.state == "submitted":
            state, colour = "queued", t.state_colour("ready")
        elif job.state == "abandoned":
            state, colour = "orphaned", t.state_colour("cancelled")
        else:
            elapsed = now - job.started if job.started is not None else 0.0
            state, colour = f"{elapsed:.1f} s", t.state_colour("running")
        return Line(
            (thread, job.function, state, self._task_name(job.task)),
            colours=(None, None, colour, self._task_colour(job.task)),
            tooltip=self._job_tip(job),
            accent=self._task_colour(job.task),
        )

    def _job_tip(self, job: JobRow) -> str:
        lines = [f"{job.function}: {job.state}"]
        if job.thread:
            lines.append(f"in thread {job.thread}")
        if job.task is not None:
            lines.append(f"submitted by {self._task_name(job.task)}")
        if job.state == "abandoned":
            lines.append("its awaiter was cancelled; a thread cannot be stopped, so it runs on")
        if job.detail:
            lines.append(f"→ {job.detail}")
        return "\n".join(lines)

    def _refresh_processes(self, now: float) -> None:
        lines = [self._process_line(row, now) for row in self.model.process_rows()]
        self.processes.set_lines(lines)
        running = sum(1 for r in self.model.processes.values() if r.state == "running")
        self.headers["processes"].set_text(
            f"{running} running" if lines else "", "pid · command · state · task"
        )

    def _process_line(self, row: ProcessRow, now: float) -> Line:
        t = theme.current()
        if row.state == "running":
            state = f"running {now - row.started:.1f} s"
            colour = t.state_colour("running")
        else:
            code = row.returncode
            state = f"exit code {code}"
            colour = t.state_colour("done" if code == 0 else "failed")
        return Line(
            (str(row.pid), row.command, state, self._task_name(row.task)),
            colours=(None, None, colour, self._task_colour(row.task)),
            tooltip=f"pid {row.pid}: {row.command}\n{state}"
            + (f"\nstarted by {self._task_name(row.task)}" if row.task is not None else "")
            + ("\n(negative exit code: ended by that signal)" if (row.returncode or 0) < 0 else ""),
            dim=row.state != "running",
            accent=self._task_colour(row.task),
        )


def _loopback(label: str) -> bool:
    host = label.removeprefix("listening on ").rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def install(window: FeatureHost) -> LoopAnatomyPanel:
    """Add the Loop dock to the main window and feed it on every frame tick."""
    controller = window.controller
    model = controller.models.loop
    panel = LoopAnatomyPanel(
        model, controller.tasks, controller.clock, lambda: controller.tracer.block_threshold
    )
    dock = window.add_dock("Loop", panel, Qt.DockWidgetArea.RightDockWidgetArea, "loop_dock")
    # Share the Code dock's place as a tab: the panel needs the height. Runs of the
    # base-event-loop demos bring it to the front; Ctrl+L does it any time.
    code_dock = window.findChild(QDockWidget, "code_dock")
    if code_dock is not None:
        window.tabifyDockWidget(dock, code_dock)  # the second one is the tab in front
        panel.set_on_screen(False)
    dock.visibilityChanged.connect(panel.set_on_screen)
    panel.timers.cancelRequested.connect(
        lambda timer_id: window.intent(controller.cancel_timer, timer_id)
    )
    panel.timers.moveRequested.connect(
        lambda timer_id, when: window.intent(controller.move_timer, timer_id, when)
    )

    def tick() -> None:
        if panel.showing():  # a hidden tab costs nothing; the model keeps folding
            run = controller.run
            if isinstance(run, ExternalRun):  # a script in its own process: its own look
                sample = run.ready_sample()
                if sample is not None:
                    items, total, ran = sample
                    model.take_ready([ReadyItem(label, task) for label, task in items], total, ran)
            else:
                model.sample_ready(controller.scheduler, controller.tracer)
            panel.refresh()

    window.on_tick(tick)

    def run_changed(what: str) -> None:
        target = controller.target
        demo = demos.find(target.key) if target is not None else None
        wanted = demo is not None and (demo.group == BASE_LOOP or demo.key in PANEL_DEMOS)
        if what == "run" and controller.running and wanted:
            dock.raise_()

    controller.on_change(run_changed)

    def show_panel() -> None:
        dock.show()
        dock.raise_()
        panel.timers.setFocus()

    action = QAction("Show loop anatomy", window)
    action.setShortcut(QKeySequence("Ctrl+L"))
    action.setToolTip("Show the Loop panel: ready queue, timers, I/O, threads (Ctrl+L)")
    action.setStatusTip("Show the Loop panel and focus its timer list")
    action.triggered.connect(show_panel)
    window.addAction(action)
    window.menu("view").addAction(action)
    return panel
