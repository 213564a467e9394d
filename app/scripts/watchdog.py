"""Notice a loop step that blocks, and say where: the line, and whether it computes or waits.

A task that calls ``time.sleep(30)`` or spins in ``while True: pass`` holds its
loop. The tracer marks each step's start (``tracer.step_started_wall``); a
daemon thread polls that mark a few times a second, which costs the step path
nothing. Once a step has run past half the tracer's block threshold, the thread
samples the loop thread's stack (``sys._current_frames``) and stores the line it
is stuck on in ``tracer.sampled``, so the ``LoopBlocked`` event names the right
line. At every poll it also reads how long the loop thread has run or waited
for a CPU (Linux's schedstat; else its CPU clock), so the event can tell a busy
loop (the thread wants the CPU all along, even on a crowded machine) from a
call that waits (``time.sleep``, a blocking socket).

It only watches: it never interrupts the step (that would change what the
program does). A script runs in its own process, so holding its loop cannot
freeze the window, and Stop ends the process if it must.
"""

from __future__ import annotations

import asyncio
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from types import FrameType

DEFAULT_POLL = 0.05
_ASYNCIO_DIR = str(Path(asyncio.__file__).parent)
# Coroscope's own core: the package folder this module sits one level inside.
_APP_DIR = str(Path(__file__).resolve().parents[1])
_TRACER_FILE = str(Path(_APP_DIR) / "loop" / "tracer.py")
_LIBRARY_DIRS = tuple(
    {p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key))}
)


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


def short_place(file: str, line: int) -> str:
    return f"{Path(file).name}:{line}" if file else "an unknown line"


class Watchdog:
    def __init__(self, tracer, poll: float = DEFAULT_POLL) -> None:
        self.tracer = tracer
        self.poll = poll
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start watching; call on the loop's thread."""
        if self._thread is not None:
            return
        self._loop_thread = threading.get_ident()
        self._loop_native = threading.get_native_id()
        self._stopped.clear()
        self._thread = threading.Thread(target=self._watch, name="coroscope-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopped.set()
        thread.join(timeout=2.0)

    # -- the watching thread ------------------------------------------------
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
