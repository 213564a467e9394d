"""A user's script as a run of the window's: in its own process, watched and steered.

``RemoteRun`` is the ``ExternalRun`` the controller starts for a script. Its
child's events land in the window's own event log, tagged with this run's id
and with ids counted from a base of its own, so every model and view takes
them as a demo's; the child keeps the window's clock (same anchors, same
speed, paused together), so their times are one timeline. Intents go over the
wire and are carried out there, on the script's loop.

Qt-free: whoever owns the window's event loop calls ``pump`` when the child's
socket or output pipes are readable (the window watches ``filenos()``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from coroscope.control.run import ExternalRun, Target
from coroscope.host.child import (
    STOP_GRACE,
    TERM_GRACE,
    ChildError,
    ChildOptions,
    ChildOutcome,
    ScriptChild,
    default_python,
)
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import EventLog, Output, SessionEvent
from coroscope.scripts.problems import ScriptProblem, at_line, hint_for

# Each run's ids start at its id times this: far above the window's own, and
# apart from every other run's.
ID_SPAN = 1 << 40
# Seconds of reading per pump: at 30 frames a second the window keeps most of
# each frame for painting; what is left waits in the socket for the next pump.
PUMP_BUDGET = 0.012
# A line of output longer than this is shown in pieces (a flood must not
# grow one line without end).
MAX_LINE = 4096


class RemoteRun(ExternalRun):
    def __init__(
        self,
        run_id: int,
        target: Target,
        events: EventLog,
        clock: VirtualClock,
        python: str,
        args: tuple[str, ...] = (),
        block_threshold: float | None = None,
        frames: bool = False,
    ) -> None:
        super().__init__(run_id, target)
        self.events = events
        self.clock = clock
        options = ChildOptions(
            python=python,
            args=args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Relative paths in a script opened from the window mean its own folder.
            cwd=str(Path(target.source_path).parent),
            tag_output=True,
            frames=frames,
            run_id=run_id,
            first_id=run_id * ID_SPAN,
            clock=clock.state(),
        )
        if block_threshold is not None:
            options.block_threshold = block_threshold
        self.child = ScriptChild(target.source_path, options, log=events)
        self.child.on_clock = self._follow_clock
        self.child.on_refused = self._refused
        # Told once the child runs (to watch ``filenos()``), and when the program
        # has ended (its exit code and how, in ``child.outcome``).
        self.on_started: Callable[[RemoteRun], None] | None = None
        self.on_over: Callable[[RemoteRun], None] | None = None
        self.refusals: list[str] = []
        self._partial = {"stdout": b"", "stderr": b""}
        self._ended_streams: set[str] = set()
        self._over = False

    # -- ExternalRun ---------------------------------------------------------
    @property
    def over(self) -> bool:
        return self._over

    def start(self) -> None:
        try:
            self.child.start()
        except ChildError:
            self._over = True
            raise
        for stream, _name in self._pipes():
            os.set_blocking(stream.fileno(), False)
        if self.on_started is not None:
            self.on_started(self)

    def ask(self, intent: str, *args: object) -> None:
        self.child.ask(intent, *args)

    def frame(self, time_now: float) -> None:
        """Frame-stepped (a headless take): settle the program at ``time_now``;
        ``child.settled`` counts up once it has."""
        self.child.frame(time_now)

    def ready_sample(self) -> tuple[list[tuple[str, int | None]], int, int] | None:
        ready = self.child.ready
        if ready is None:
            return None
        _loop, items, total, ran = ready
        return list(items), total, ran

    def clock_changed(self, state: tuple[float, float, float, bool]) -> None:
        self.child.send_clock(state)

    async def stop(self, grace: float = 2.0) -> list[str]:
        """Cancel the script's tasks and let it end; terminate it, then kill it, if
        it does not, so nothing it started is left running. Never blocks the loop."""
        self.stopped = True
        if self._over:
            return []
        self.child.stop()
        if not await self._ended_within(STOP_GRACE):
            self.child.terminate()
            if not await self._ended_within(TERM_GRACE):
                self.child.kill()
                await self._ended_within(TERM_GRACE)
        self._finish()
        return []

    async def _ended_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not self.child.process_ended:
            if time.monotonic() > deadline:
                return False
            self.pump()
            await asyncio.sleep(0.02)
        return True

    # -- reading ---------------------------------------------------------------
    def filenos(self) -> list[int]:
        """What to watch for reading: the agent's socket, then stdout and stderr."""
        found = []
        if not self._over:
            if self.child.connected:
                found.append(self.child.fileno())
            found += [s.fileno() for s, name in self._pipes() if name not in self._ended_streams]
        return found

    def pump(self) -> None:
        """Take in whatever the child sent or printed; notice when it has ended."""
        if self._over:
            return
        try:
            alive = self.child.pump(0.0, budget=PUMP_BUDGET)
        except ChildError as exc:
            self.events.emit(SessionEvent(self.clock.now(), "error", str(exc)))
            alive = False
        self._read_output()
        if not alive and self.child.process_ended:
            self._finish()

    def _pipes(self) -> list[tuple[IO[bytes], str]]:
        """The child's stdout and stderr that are pipes here, with their names."""
        pipes = (self.child.stdout, "stdout"), (self.child.stderr, "stderr")
        return [(stream, name) for stream, name in pipes if stream is not None]

    def _read_output(self, reads: int = 4) -> None:
        """Up to ``reads`` chunks of each pipe (a flood must not hold the window)."""
        for stream, name in self._pipes():
            for _ in range(reads):
                try:
                    data = os.read(stream.fileno(), 65536)
                except (BlockingIOError, InterruptedError):
                    break
                except (OSError, ValueError):
                    data = b""
                if not data:
                    self._ended_streams.add(name)  # closed: not to be watched any more
                    break
                self._lines(name, data)

    def _lines(self, stream: str, data: bytes, final: bool = False) -> None:
        text = self._partial[stream] + data
        *lines, rest = text.split(b"\n")
        if final and rest:
            lines.append(rest)
            rest = b""
        while len(rest) > MAX_LINE:
            lines.append(rest[:MAX_LINE])
            rest = rest[MAX_LINE:]
        self._partial[stream] = rest
        now = self.clock.now()
        for line in lines:
            text_line = line.decode("utf-8", "replace").rstrip("\r")
            self.events.emit(Output(now, None, text_line, stream))

    def _finish(self) -> None:
        if self._over:
            return
        self.child.end(grace=0.0)
        self._read_output(reads=256)  # what it printed last, up to 16 MB
        for name in ("stdout", "stderr"):
            self._lines(name, b"", final=True)
        self._over = True
        self.events.emit(SessionEvent(self.clock.now(), "stopped", _ending(self)))
        for stream, _name in self._pipes():
            stream.close()
        if self.on_over is not None:
            self.on_over(self)
        self._ended()

    # -- what the agent says -------------------------------------------------
    def _follow_clock(self, state: tuple[float, float, float, bool]) -> None:
        origin = self.clock.origin
        self.clock.adopt(state)
        self.clock.origin = origin

    def _refused(self, text: str) -> None:
        self.refusals.append(text)
        self.events.emit(SessionEvent(self.clock.now(), "note", text))

    def close(self) -> None:
        """The window is closing: end the child at once."""
        if not self._over:
            self.stopped = True
            self.child.kill()
            self._finish()


def _ending(run: RemoteRun) -> str:
    outcome = run.child.outcome
    name = Path(run.target.source_path).name
    code = outcome.code
    if run.stopped:
        how = f" ({outcome.killed})" if outcome.killed else ""
        return f"■ {name} stopped{how}"
    if code is not None and code < 0:
        return f"■ {name} was killed by signal {-code}"
    if outcome.said:
        return f"■ {name} failed: {outcome.said} (exit code {code})"
    exited = f"sys.exit() at line {outcome.line}, " if outcome.line else ""
    if not run.child.loops:
        return f"■ {name} ended ({exited}exit code {code}) without running an event loop"
    return f"■ {name} ended ({exited}exit code {code})"


def ended_badly(path: str, outcome: ChildOutcome, made_a_loop: bool = True) -> ScriptProblem | None:
    """What the problem banner says of a script that ended by itself in a way to
    look at: an uncaught exception (at its line), a kill by a signal, a non-zero
    sys.exit() (at its line), or no event loop run at all."""
    name = Path(path).name
    code = outcome.code
    if code is None:
        return None
    if outcome.said:
        headline = f"{name} failed with {outcome.said} (exit code {code})."
        hint = hint_for(outcome.said)
        if outcome.file and outcome.line:
            return at_line(outcome.file, outcome.line, outcome.said, headline, hint, kind="error")
        return ScriptProblem(path, outcome.said, headline=headline, hint=hint)
    if code < 0:
        title = f"killed by signal {-code}"
        return ScriptProblem(path, title, headline=f"{name} was {title}: its process is gone.")
    if code != 0:
        title = f"sys.exit({code})"
        headline = f"{name} called {title} at line {outcome.line}." if outcome.line else ""
        if outcome.file and outcome.line:
            return at_line(outcome.file, outcome.line, title, headline, kind="info")
        return ScriptProblem(
            path, f"exit code {code}", kind="info", headline=f"{name} ended with exit code {code}."
        )
    if not made_a_loop:
        return ScriptProblem(
            path,
            "no event loop ran",
            kind="info",
            headline=f"{name} ended without running an event loop, so no task ever ran.",
            hint="Defining async def main() runs nothing by itself: end the script with "
            "asyncio.run(main()).",
        )
    return None


def _not_in_process():
    raise RuntimeError("a script's run starts in its own process")


def script_target(
    path: str,
    controller: Any,
    python: str | None = None,
    args: tuple[str, ...] = (),
    frames: bool = False,
    on_run: Callable[[RemoteRun], None] | None = None,
) -> Target:
    """The Target that runs ``path`` in a process of its own under ``python``
    (default: the active virtual environment's, else the one Coroscope runs on),
    as a run of ``controller``'s; ``on_run`` is handed each run as it is made."""
    name = Path(path).name

    def start(run_id: int) -> RemoteRun:
        run = RemoteRun(
            run_id,
            target,
            controller.events,
            controller.clock,
            python=python or default_python(),
            args=args,
            block_threshold=controller.tracer.block_threshold,
            frames=frames,
        )
        if on_run is not None:
            on_run(run)
        return run

    target = Target(
        key=path,
        title=name,
        source_path=path,
        make_main=_not_in_process,
        summary=f"{name}, run by Python in a process of its own",
        external=start,
    )
    return target
