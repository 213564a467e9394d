"""Notice a loop step that blocks, say where, and interrupt it before the app freezes.

Qt paints on the same thread as the loop, so a task that calls ``time.sleep(30)``
or spins in ``while True: pass`` freezes the whole window. The tracer marks each
step's start (``tracer.step_started_wall``); a daemon thread polls that mark a
few times a second, which costs the step path nothing. Once a step has run past
the tracer's block threshold, the thread samples the loop thread's stack
(``sys._current_frames``) and stores the script line it is stuck on in
``tracer.sampled``, so the ``LoopBlocked`` event names the right line. At
every poll it also reads how long the loop thread has run or waited for a CPU
(Linux's schedstat; else its CPU clock), so the event can tell a busy loop (the
thread wants the CPU all along, even on a crowded machine) from a call that
waits (``time.sleep``, a blocking socket).

Past ``interrupt_after`` seconds (sooner once a Stop is under way) the thread
sends SIGUSR2 to the loop thread. Python runs signal handlers on the main thread
between bytecodes, and ``time.sleep``/``select``/lock waits return early for
them, so one handler reaches both a sleeping and a spinning step. The handler
checks that the same step is still running and raises ``BlockingInterrupted``
there: the task fails with "main blocked the loop for 2.0 s at x.py:12;
interrupted". Where raising is unsafe (inside Coroscope's own code, such as the
print() capture of a flood), or when the step swallowed the first try (a bare
``except:``), a line trace on the step's frames raises on its next line of user
code instead, and removes itself once the step is over.

A C call that never returns to Python (``sum(range(10**12))``) cannot be
interrupted this way; the thread still reports where it is stuck.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import sysconfig
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from types import FrameType
from typing import Any, cast

DEFAULT_INTERRUPT_AFTER = 2.0
DEFAULT_POLL = 0.05
# Once Stop was pressed, a step that still blocks is interrupted after this long.
DEFAULT_HURRY_AFTER = 0.3
# An interrupt the step swallowed is retried, harder, after this long.
_RETRY_AFTER = 0.75

_SIGNAL: signal.Signals | None = getattr(signal, "SIGUSR2", None)
_ASYNCIO_DIR = str(Path(asyncio.__file__).parent)
# Coroscope's own core: the package folder this module sits one level inside.
_APP_DIR = str(Path(__file__).resolve().parents[1])
_TRACER_FILE = str(Path(_APP_DIR) / "loop" / "tracer.py")
_LIBRARY_DIRS = tuple(
    {p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key))}
)


class BlockingInterrupted(BaseException):
    """Raised inside a step that held the loop too long.

    A ``BaseException`` so that a script's ``except Exception:`` does not swallow it.
    """


@dataclass(frozen=True)
class Interruption:
    task: int | None
    what: str  # task name, or "a callback"
    file: str
    line: int
    seconds: float
    message: str


@dataclass(frozen=True)
class _Request:
    started: float  # the step's ``step_started_wall``: which step to interrupt
    attempt: int


def _own_code(filename: str) -> bool:
    """asyncio's and Coroscope's core code: never raise in the middle of it."""
    return filename.startswith(_ASYNCIO_DIR) or filename.startswith(_APP_DIR)


def _library(filename: str) -> bool:
    return filename.startswith("<") or filename.startswith(_LIBRARY_DIRS)


def user_location(frame: FrameType | None) -> tuple[str, int] | None:
    """The innermost line of user code in the running step (else of any library code).

    Walks out from the innermost frame to the tracer, passing over Coroscope's own
    frames (a print() lands in ``control/output.py``) and library code.
    """
    fallback = None
    while frame is not None and frame.f_code.co_filename != _TRACER_FILE:
        filename = frame.f_code.co_filename
        if not _own_code(filename):
            if not _library(filename):
                return filename, frame.f_lineno
            if fallback is None:
                fallback = (filename, frame.f_lineno)
        frame = frame.f_back
    return fallback


def _importing(frame: FrameType | None) -> bool:
    """Whether the stack runs an import a library asked for: its one-time cost on
    first use (a lazy import inside httpx, say), which the program cannot help.
    An ``import`` on a line of the program's own is the program's."""
    importer = None
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            importer = frame.f_back  # whoever started the outermost import seen so far
        frame = frame.f_back
    return importer is not None and _library(importer.f_code.co_filename)


def _safe_to_raise(frame: FrameType | None) -> bool:
    """True if ``frame`` is user code, or library code the user called, with no
    Coroscope code in between (raising inside the print() capture, or inside a
    dataclass ``__init__`` Coroscope called, could leave it half-updated)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if _own_code(filename):
            return False
        if not _library(filename):
            return True
        frame = frame.f_back
    return False


def short_place(file: str, line: int) -> str:
    return f"{Path(file).name}:{line}" if file else "an unknown line"


class _Dispatcher:
    """One process-wide SIGUSR2 handler shared by every running watchdog, installed
    while any runs, so stopping one never leaves another's signal unhandled."""

    def __init__(self) -> None:
        self.active: list[Watchdog] = []
        # What signal.signal() gave back: the handler to restore.
        self.previous: Callable[[int, FrameType | None], Any] | int | None = None

    def add(self, watchdog: Watchdog) -> bool:
        if _SIGNAL is None or threading.current_thread() is not threading.main_thread():
            return False
        if not self.active:
            self.previous = signal.signal(_SIGNAL, self.handle)
        self.active.append(watchdog)
        return True

    def remove(self, watchdog: Watchdog) -> None:
        if watchdog in self.active:
            self.active.remove(watchdog)
            if not self.active and _SIGNAL is not None:
                signal.signal(_SIGNAL, self.previous or signal.SIG_DFL)

    def handle(self, _signum: int, frame: FrameType | None) -> None:
        try:
            for watchdog in list(self.active):
                watchdog.on_signal(frame)
        except BlockingInterrupted as exc:
            # The traceback should end on the user's line, not in this handler.
            exc.__traceback__ = None
            raise


_DISPATCHER = _Dispatcher()


class Watchdog:
    def __init__(
        self,
        tracer,
        interrupt_after: float | None = DEFAULT_INTERRUPT_AFTER,
        poll: float = DEFAULT_POLL,
        hurry: Callable[[], bool] | None = None,
        hurry_after: float = DEFAULT_HURRY_AFTER,
    ) -> None:
        self.tracer = tracer
        # None: only observe and report, never interrupt.
        self.interrupt_after = interrupt_after
        self.poll = poll
        self.hurry = hurry
        self.hurry_after = hurry_after
        self.interruptions: deque[Interruption] = deque(maxlen=50)
        self.version = 0
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        self._armed = False
        self._request: _Request | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def can_interrupt(self) -> bool:
        return self._armed

    def start(self) -> None:
        """Start watching; call on the loop's thread (the main thread, to interrupt)."""
        if self._thread is not None:
            return
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        # One that only observes leaves the program's signal handlers alone.
        self._armed = self.interrupt_after is not None and _DISPATCHER.add(self)
        self._stopped.clear()
        self._thread = threading.Thread(target=self._watch, name="coroscope-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopped.set()
        thread.join(timeout=2.0)
        _DISPATCHER.remove(self)
        self._armed = False
        self._request = None

    # -- the watching thread ------------------------------------------------
    def _limit(self) -> float | None:
        if self.hurry is not None:
            try:
                if self.hurry():
                    return self.hurry_after
            except Exception:  # a hurry check must never kill the watchdog
                pass
        return self.interrupt_after

    def _cpu_clock(self) -> Callable[[], tuple[float, float]] | None:
        """Reads (seconds the loop thread ran, seconds it was runnable but waited
        for a CPU), where the platform can tell; else (seconds it ran, 0)."""
        stat = f"/proc/self/task/{self._loop_native}/schedstat"

        def demand() -> tuple[float, float]:
            with open(stat, "rb") as numbers:
                running, runnable = numbers.read().split()[:2]
            return int(running) / 1e9, int(runnable) / 1e9

        try:
            demand()
            return demand
        except (OSError, ValueError):
            pass
        try:
            clock = time.pthread_getcpuclockid(self._loop_thread)
            time.clock_gettime(clock)
        except (AttributeError, OSError):
            return None
        return lambda: (time.clock_gettime(clock), 0.0)

    def _watch(self) -> None:
        tracer = self.tracer
        current = None
        attempts = 0
        last_attempt = 0.0
        cpu_now = self._cpu_clock()
        # The first poll seen inside the running step: (its step, wall, ran, waited).
        baseline: tuple[float, float, float, float] | None = None
        # How often each line was seen in that step: the line it was stuck on is
        # the one seen most, not the last (a sample can land just after a loop).
        seen: dict[tuple[str, int], int] = {}
        while not self._stopped.wait(self.poll):
            started = tracer.step_started_wall
            if started is None:
                continue
            now = perf_counter()
            ran, waited = cpu_now() if cpu_now is not None else (0.0, 0.0)
            if baseline is None or baseline[0] != started:
                baseline = (started, now, ran, waited)
                seen = {}
            elapsed = now - started
            # Sampled well before the threshold, so a step that ends just past it
            # has been seen too (polls are ``poll`` apart).
            if elapsed < min(tracer.block_threshold / 2, self.poll):
                continue
            frame = sys._current_frames().get(self._loop_thread)
            where = user_location(frame)
            importing = _importing(frame)
            del frame
            if tracer.step_started_wall != started:
                continue  # that step ended while we looked
            share, excuse = -1.0, ""
            span = now - baseline[1]
            if cpu_now is not None and span > 0:
                share = min(1.0, (ran - baseline[2] + waited - baseline[3]) / span)
                if share >= 0.6 and (ran - baseline[2]) / span < 0.1:
                    excuse = "machine busy"  # it wanted to run; other processes had the CPUs
            previous = tracer.sampled
            if previous is not None and previous[0] == started and previous[4]:
                excuse = excuse or previous[4]  # an import seen once excuses the step
            if importing:
                excuse = "import"
            if where is not None:
                seen[where] = seen.get(where, 0) + 1
                where = max(seen, key=seen.__getitem__)
                tracer.sampled = (started, where[0], where[1], share, excuse)
            if elapsed < tracer.block_threshold:
                continue
            limit = self._limit()
            if not self._armed or limit is None or elapsed < limit:
                continue
            if current != started:
                current, attempts = started, 0
            elif now - last_attempt < _RETRY_AFTER:
                continue
            attempts += 1
            last_attempt = now
            self._request = _Request(started, attempts)
            try:
                # Armed only where the platform has _SIGNAL.
                signal.pthread_kill(self._loop_thread, cast(signal.Signals, _SIGNAL))
            except (OSError, ValueError):
                self._request = None

    # -- the loop thread ------------------------------------------------------
    def on_signal(self, frame: FrameType | None) -> None:
        request, self._request = self._request, None
        tracer = self.tracer
        if request is None or frame is None or tracer.step_started_wall != request.started:
            return  # the step ended meanwhile; the loop is fine
        elapsed = perf_counter() - request.started
        where = user_location(frame)
        if where is not None:
            share = tracer.sampled[3] if tracer.sampled else -1.0
            tracer.sampled = (request.started, where[0], where[1], share, "")
        file, line = where or ("", 0)
        task_id, what = self._blocker()
        message = (
            f"{what} blocked the loop for {elapsed:.1f} s at {short_place(file, line)}; interrupted"
        )
        if request.attempt == 1:
            self.interruptions.append(Interruption(task_id, what, file, line, elapsed, message))
            self.version += 1
        safe = _safe_to_raise(frame)
        if not safe or request.attempt > 1:
            # Not safe here, or the step swallowed the first try: raise on the
            # step's next line of user code instead.
            _trap_lines(frame, tracer, request.started, message)
        if safe:
            raise BlockingInterrupted(message)

    def _blocker(self) -> tuple[int | None, str]:
        task_id = self.tracer.scheduler.current_task_id
        if task_id is None:
            return None, "a callback"
        task = self.tracer.task_by_id(task_id)
        info = self.tracer.info(task) if task is not None else None
        return task_id, info.name if info else f"task {task_id}"


def _trap_lines(frame: FrameType, tracer, started: float, message: str) -> None:
    """Raise on the next line of user code the step runs (a line trace on its frames
    and on any it calls), until the step ends."""
    previous = sys.gettrace()

    def trap(trapped: FrameType, event: str, _arg):
        if tracer.step_started_wall != started:
            sys.settrace(previous)
            return None
        if event == "line" and _safe_to_raise(trapped):
            raise BlockingInterrupted(message)
        return trap

    level: FrameType | None = frame
    while level is not None and level.f_code.co_filename != _TRACER_FILE:
        if not _own_code(level.f_code.co_filename):
            level.f_trace = trap
            level.f_trace_lines = True
        level = level.f_back
    sys.settrace(trap)
