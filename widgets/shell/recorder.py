"""Headless takes: the app rendered offscreen, one frame at a time, on a virtual clock.

A take recorded from a live screen depends on how busy the machine was; this one
does not. The loop's ``VirtualClock`` reads a ``FrameTime`` that moves only when
the recorder says so, and each frame is made the same way:

1. advance the frame time by ``1 / fps`` (the clock turns that into
   ``speed / fps`` seconds of loop time);
2. let the scheduler run everything now due, to quiescence, with a Qt event pass
   for sockets, pipes and worker threads;
3. ``window.tick()`` so every view repaints from its model, as the frame timer
   would in the app;
4. grab the window (or one panel) and hand the frame to the encoder thread.

Nothing waits on real time, so every take of a demo has identical timing and no
dropped frames, whether rendering runs faster or slower than real time. The one
exception is work outside the loop (a worker thread, a child process), which
takes real time whatever the frames do: while some is under way, loop time
passes no faster than real time (the recorder waits for the clock when it
renders faster), so a thread that sleeps 0.6 s is 0.6 s of every take. The
window is never put on a screen (``WA_DontShowOnScreen``): it is laid out and
painted only when grabbed.
"""

from __future__ import annotations

import asyncio
import math
import os
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from coroscope.control.controller import Controller
from coroscope.control.ctrl_c import CtrlC
from coroscope.control.run import Target
from coroscope.host import remote
from coroscope.host.remote import RemoteRun
from coroscope.loop.clock import VirtualClock
from coroscope.loop.stall import threads_could_wake
from coroscope.takes.options import AUTO_LIMIT, TAIL_SECONDS, TakeOptions
from coroscope.takes.steady_text import SteadyLog
from coroscope.takes.video_encoder import EncoderThread, VideoEncoder
from coroscope.widgets.features.frame_grabber import FrameGrabber
from coroscope.widgets.paint import theme
from coroscope.widgets.shell.main_window import MainWindow
from coroscope.widgets.shell.qt_loop import TracingLoop
from PySide6.QtCore import QEvent, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

# A task that never stops yielding (``while True: await sleep(0)``) would keep a
# frame from ever settling; after this many callbacks the frame is taken anyway.
MAX_CALLBACKS_PER_FRAME = 200_000
# A timer due within this much loop time fires in the current frame (as the
# scheduler's own resolution).
_DUE = 0.0005
# Seconds before a frame's time that waiting for outside work stops.
_PACE_MARGIN = 0.003
# Real seconds a take waits for a script's process to settle a frame (or to make
# its first loop) before it takes the frame anyway.
REMOTE_PATIENCE = 10.0

Progress = Callable[[int, int | None, str], None]


class TakeError(Exception):
    """The take could not be made; the message is one line for the user."""


class FrameTime:
    """A time source that moves only when told: the clock behind a headless take."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass(frozen=True)
class TakeResult:
    path: Path | None
    frames: int
    video_seconds: float
    loop_seconds: float
    wall_seconds: float
    run_finished: bool
    limited: bool  # stopped at AUTO_LIMIT with the run still going

    @property
    def speed_ratio(self) -> float:
        """Video seconds rendered per wall second (above 1: faster than real time)."""
        return self.video_seconds / self.wall_seconds if self.wall_seconds else float("inf")


def _quiet_qt(kind: QtMsgType, _context, message: str) -> None:
    # The offscreen platform warns about window hints it cannot honour; a command
    # line tool should print its own lines only.
    if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        os.write(2, f"Qt: {message}\n".encode(errors="replace"))


def application() -> QApplication:
    """The running QApplication, or a new offscreen one."""
    app = QApplication.instance()
    if app is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from coroscope.widgets.shell.gui import make_application

        app = make_application([])
    return app  # type: ignore[return-value]


class OffscreenSession:
    """An app window on a frame-stepped loop, built and torn down around one take."""

    def __init__(self, options: TakeOptions) -> None:
        self.options = options
        self.app = application()
        self._theme = theme.current()
        theme.apply_theme(options.theme, scale=options.scale)
        self.time = FrameTime()
        # (real time, frame time) when outside work began, to keep pace with it.
        self._pace: tuple[float, float] | None = None
        self.remote: RemoteRun | None = None  # a script's run, in its own process
        clock = VirtualClock(source=self.time, speed=options.speed)
        # Ports and pids the OS picks afresh each time are shown steady, so
        # every take of a demo is the same, frame for frame.
        self.loop = TracingLoop(self.app, already_running=True, clock=clock, events=SteadyLog())
        asyncio.set_event_loop(self.loop)
        self.controller = Controller(self.loop, capture_output=True)
        window = MainWindow(self.controller, settings=None)
        # The recorder ticks the window itself, once per frame.
        window.frame_timer.stop()
        # Frame-stepped: nothing waits on a frame here, and every take must show
        # the same frames however fast the machine draws.
        window.lanes.new_looks_budget = math.inf
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(*options.size)
        window.show()
        self.window = window
        self.panel: QWidget = window
        try:
            self.panel = self._panel(options.panel)
            self._fit_panel()
        except BaseException:
            self.close()
            raise

    def _panel(self, name: str) -> QWidget:
        if name == "window":
            return self.window
        widget = getattr(self.window, name, None)
        if not isinstance(widget, QWidget):
            raise TakeError(f"this window has no {name} panel")
        return widget

    def _fit_panel(self) -> None:
        """Give the chosen panel exactly the take's size.

        Docks and splitters share out a window's size by stretch factors, so no
        window size gives a panel an exact size; a recorded panel is taken out of
        the (never visible) window instead and shown on its own.
        """
        if self.panel is not self.window:
            self.panel.setParent(None)
            self.panel.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
            self.panel.resize(*self.options.size)
            self.panel.show()
        self.app.processEvents()

    def script_target(self, path: str, python: str | None = None) -> Target:
        """A script as a take runs it: in its own process, frame by frame."""
        return remote.script_target(path, self.controller, python=python, frames=True)

    def start(self, target: Target) -> None:
        if self.options.presentation and self.panel is self.window:
            # As a class sees it: the window's own presentation mode (large type,
            # no menus, gallery or status bar, the code given room), in the take's theme.
            self.window.install_features()
            classroom = getattr(self.window, "classroom", None)
            if classroom is not None:
                classroom.light_action.setChecked(self.options.theme == "light")
                classroom.presentation_action.setChecked(True)
                self._process_events()
        self.window.run_target(target)
        run = self.controller.run
        if isinstance(run, RemoteRun):
            self.remote = run
            if not run.over:
                # The first frame waits for the script to make its loop (or end):
                # its start-up takes real time, the same frames whatever it takes.
                self._wait_for(lambda: bool(run.child.loops) or run.over)
        if run is None or (run.main is None and not isinstance(run, RemoteRun)):
            message = self.window.statusBar().currentMessage() or f"could not start {target.title}"
            raise TakeError(message)

    def _wait_for(self, done: Callable[[], bool], seconds: float = REMOTE_PATIENCE) -> bool:
        """Read what a script's process sends until ``done()`` or ``seconds`` of
        real time pass (a script stuck in one step never settles: the take goes on)."""
        run = self.remote
        if run is None:
            return True
        deadline = time.perf_counter() + seconds
        while not done():
            if run.over or time.perf_counter() > deadline:
                return done()
            run.pump()
            if not done() and run.child.connected and not run.child.backlog:
                select.select([run.child.fileno()], [], [], 0.005)
        return True

    def advance(self, seconds: float) -> None:
        if self._pace is not None and self._outside_work():
            self._keep_pace(seconds)
        self.time.advance(seconds)

    def note_outside_work(self) -> None:
        """After a frame's callbacks: start keeping pace if outside work began in
        them (as close to its start as the frame allows), stop once it is over."""
        if not self._outside_work():
            self._pace = None
        elif self._pace is None:
            self._pace = (time.perf_counter(), self.time.value)

    def _outside_work(self) -> bool:
        # Busy executor jobs and running children count here; so do the program's
        # own threads (a script's, as its process last said).
        if self.remote is not None and not self.remote.over:
            return self.remote.child.outside_busy
        return self.loop._external_jobs > 0 or threads_could_wake()

    def _keep_pace(self, seconds: float) -> None:
        """Wait until as much real time has passed, since outside work began, as the
        frame time will have, delivering what that work sends meanwhile."""
        now = time.perf_counter()
        if self._pace is None:
            self._pace = (now, self.time.value)
        real0, frame0 = cast(tuple, self._pace)
        # A little early: work that ends right on a frame's time then lands in the
        # next frame in every take, not in this one or the next by a hair.
        due = real0 + (self.time.value + seconds - frame0) - _PACE_MARGIN
        while now < due:
            time.sleep(min(0.005, due - now))
            self._process_events()
            now = time.perf_counter()

    def settle(self) -> None:
        """Run everything due at the current loop time, to quiescence (a script's
        in its process first: its events then reach the window's own models)."""
        run = self.remote
        if run is not None and not run.over and run.child.connected:
            settled = run.child.settled
            run.frame(self.time.value)
            self._wait_for(lambda: run.child.settled > settled)
            if run.child.settled_at_end:
                # The program is over: the run ends in this frame in every take,
                # however long its process then takes to exit.
                self._wait_for(lambda: run.over)
        sched = self.loop.scheduler
        clock = self.loop.clock
        limit = sched.callbacks_run + MAX_CALLBACKS_PER_FRAME
        self._process_events()
        while sched.callbacks_run < limit:
            sched.run_once()
            if sched.ready_count:
                continue
            due = sched.next_due()
            if due is not None and due <= clock.now() + _DUE:
                continue
            # Sockets, pipes and worker threads deliver through Qt.
            self._process_events()
            if not sched.ready_count:
                break

    def _process_events(self) -> None:
        # Views ask for a repaint on every tick; painting the never-shown window's
        # backing store would double the cost of a frame, and grab() paints anyway.
        for top_level in {self.window, self.panel}:
            QApplication.removePostedEvents(top_level, QEvent.Type.UpdateRequest)
        self.app.processEvents()

    def frame(self) -> None:
        """Bring every view up to date with the loop, as the frame timer would."""
        self.window.tick()

    @property
    def run_finished(self) -> bool:
        return not self.controller.running

    def close(self) -> None:
        """Stop the run, drain its tasks and put the QApplication back as it was."""
        loop = self.loop
        try:
            if not loop.is_closed():
                stopping = loop.create_task(self.controller.stop(), name="coroscope-stop")
                self._drive_until(stopping.done)
                leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in leftovers:
                    task.cancel()
                self._drive_until(lambda: all(t.done() for t in leftovers))
        finally:
            if self.panel is not self.window:
                self.panel.hide()
                self.panel.deleteLater()
            # close() (not just hide) so every feature hears the window go,
            # e.g. the script feature stops its watchdog thread.
            self.window.close()
            self.window.deleteLater()
            self.controller.close()
            # The loop was made "already running"; qasync's stop() would call
            # QApplication.exit(), so end the running state by hand.
            loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
            asyncio.events._set_running_loop(None)
            loop.close()
            asyncio.set_event_loop(None)
            self.app.processEvents()
            restored = self._theme
            theme.apply_theme(restored.name, scale=restored.scale)

    def _drive_until(self, done: Callable[[], bool], limit: int = 400) -> None:
        for _ in range(limit):
            if done():
                return
            self.time.advance(0.05)
            self.settle()

    def __enter__(self) -> OffscreenSession:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def render_take(
    target: Target | str,
    options: TakeOptions,
    progress: Progress | None = None,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
    encode: bool = True,
) -> TakeResult:
    """Render ``target`` to ``options.output``; the file appears only when complete.
    A ``str`` is the path of a script, which runs in its own process, stepped
    frame by frame like the window's own loop.

    ``on_frame`` sees every frame (tests, benchmarks); ``encode=False`` renders
    without writing a file.
    """
    wall0 = time.perf_counter()
    previous_handler = qInstallMessageHandler(_quiet_qt)
    try:
        with CtrlC() as ctrl_c, OffscreenSession(options) as session:
            session.start(session.script_target(target) if isinstance(target, str) else target)
            return _record(session, options, progress, on_frame, encode, wall0, ctrl_c)
    finally:
        qInstallMessageHandler(previous_handler)


def _record(session, options, progress, on_frame, encode, wall0, ctrl_c) -> TakeResult:
    fps = options.fps
    total = options.frame_count
    # The tail is loop time too, so a take at half speed is twice as long throughout.
    tail = round(TAIL_SECONDS * fps / options.speed)
    cap = round(AUTO_LIMIT * fps)
    grabber = FrameGrabber(session.panel, options.size, background=theme.current().window)
    colours = theme.current().swatches()
    encoder = (
        EncoderThread(VideoEncoder(options.output, options.size, fps, colours)) if encode else None
    )
    frames = 0
    ended_at: int | None = None
    limited = False
    try:
        while True:
            if ctrl_c.pressed:
                raise ctrl_c.interruption()
            if frames:
                session.advance(1.0 / fps)
            session.settle()
            session.note_outside_work()
            session.frame()
            image = grabber.grab()
            if encoder is not None:
                encoder.put(image)
            if on_frame is not None:
                on_frame(frames, image)
            frames += 1
            if progress is not None:
                shown = f"{frames / fps:.1f}"
                detail = (
                    f"{shown}/{total / fps:.1f} s" if total else f"{shown} s, until the run ends"
                )
                progress(frames, total, detail)
            if total is not None:
                if frames >= total:
                    break
                continue
            if ended_at is None and session.run_finished:
                ended_at = frames
            if ended_at is not None and frames >= ended_at + tail:
                break
            if frames >= cap:
                limited = True
                break
        path = encoder.finish() if encoder is not None else None
    except BaseException:
        if encoder is not None:
            encoder.abort()
        raise
    return TakeResult(
        path=path,
        frames=frames,
        video_seconds=frames / fps,
        loop_seconds=session.loop.clock.run_time(),
        wall_seconds=time.perf_counter() - wall0,
        run_finished=session.run_finished,
        limited=limited,
    )
