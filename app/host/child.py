"""The watcher's side: start a script's child process and turn what it sends into events.

``ScriptChild`` starts ``boot.py`` under the chosen Python with one end of a
socket pair, reads the agent's messages (``coroscope.host.protocol``) and emits
the events they carry into an ``EventLog`` of its own, which the same models as
a demo's listen to. It never blocks: ``pump`` reads what has arrived, waiting at
most ``timeout``. Ending the child is ``stop`` (cancel its tasks, let it exit)
and then ``end`` (terminate, then kill), so nothing it started is left running.

Qt-free: ``coroscope trace`` drives it with ``select``; the window watches
``fileno()`` with a socket notifier.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from coroscope.host import protocol
from coroscope.loop.events import DEFAULT_BLOCK_THRESHOLD, EventLog, LoopBlocked, SessionEvent

BOOT = str(Path(__file__).with_name("boot.py"))
# How long a child has to end by itself after STOP, then after SIGTERM.
STOP_GRACE = 1.5
TERM_GRACE = 2.0


def default_python() -> str:
    """The interpreter a script runs on unless told: the active virtual
    environment's, if one is active (the user's project and its packages), else
    the one Coroscope runs on."""
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        for name in ("bin/python", "Scripts/python.exe"):
            candidate = Path(venv) / name
            if candidate.exists():
                return str(candidate)
    return sys.executable


class ChildError(Exception):
    """The child could not be started, or spoke something that is not the protocol."""


@dataclass
class ChildOutcome:
    """How the script's process ended."""

    code: int | None = None  # its exit code; negative: killed by that signal
    said: str = ""  # the agent's one line about an uncaught exception, if any
    file: str = ""  # where that exception was raised
    line: int = 0
    stopped: bool = False  # the watcher asked it to stop
    killed: str = ""  # "terminated" or "killed" if it had to be ended that way
    stuck: protocol.Stuck | None = None  # where it was stuck when it was ended


@dataclass
class ChildOptions:
    python: str = field(default_factory=default_python)
    autojump: bool = False
    block_threshold: float = DEFAULT_BLOCK_THRESHOLD
    limit: float | None = None
    stop_on_stall: bool = False
    args: tuple[str, ...] = ()
    stdin: Any = None  # as subprocess takes them; None: inherited
    stdout: Any = None
    stderr: Any = None
    cwd: str | None = None
    env: dict[str, str] | None = field(default=None, repr=False)
    # For a watcher with runs and ids of its own (the window): the run the
    # program's tasks belong to, where its ids start, and the clock to keep.
    tag_output: bool = False  # print() as Output events with its task, not to stdout
    frames: bool = False  # frame-stepped loop time (a headless take), see protocol.FRAME
    run_id: int | None = None
    first_id: int | None = None
    clock: tuple[float, float, float, bool] | None = None


class ScriptChild:
    def __init__(
        self, script: str, options: ChildOptions | None = None, log: EventLog | None = None
    ) -> None:
        self.script = script
        self.options = options or ChildOptions()
        self.log = log if log is not None else EventLog()
        # Called with what the agent says: its clock after a Step, an intent refused.
        self.on_clock: Callable[[tuple[float, float, float, bool]], None] | None = None
        self.on_refused: Callable[[str], None] | None = None
        # Bare-yield steps (most of a busy run's events) in bulk, for a watcher
        # whose models take them so (``coroscope trace``): each run of them in a
        # batch is handed over at once, as ``protocol.ReadyStep`` tuples, instead
        # of being emitted into the log one ``TaskStep`` each; the other events are
        # emitted as they come, so everything arrives in order. The steps are then
        # not in the log's ring nor heard by its listeners, and the log must not
        # be held around ``pump`` (the steps would overtake the events it queues).
        self.on_ready_steps: Callable[[list[protocol.ReadyStep]], None] | None = None
        self.outcome = ChildOutcome()
        self.pid: int | None = None
        self.python_version = ""
        self.origin: float | None = None  # the program's loop time zero
        self.now: float | None = None  # its latest loop time
        self.loops: dict[int, str] = {}  # loop index -> the thread that made it
        self.limit_reached = False
        # (loop, ((label, task id), ...), queued, run so far), as the agent last looked.
        self.ready: tuple | None = None
        # Frames settled so far, and whether outside work was busy at the last.
        self.settled = 0
        self.outside_busy = False
        self.settled_at_end = False  # the last frame settled as the program ended
        self.exited = False  # the agent said EXIT, or the process is gone
        self._stuck: tuple[protocol.Stuck, ...] = ()
        self._reader = protocol.Reader()
        self._decoder: protocol.EventDecoder | None = None
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self.stdout: IO[bytes] | None = None
        self.stderr: IO[bytes] | None = None

    # -- starting -----------------------------------------------------------
    def start(self) -> None:
        ours, theirs = socket.socketpair()
        options = self.options
        command = [options.python, BOOT, "--fd", str(theirs.fileno())]
        command += ["--block-threshold", repr(options.block_threshold)]
        if options.autojump:
            command.append("--autojump")
        if options.limit is not None:
            command += ["--limit", repr(options.limit)]
        if options.stop_on_stall:
            command.append("--stop-on-stall")
        if options.tag_output:
            command.append("--tag-output")
        if options.frames:
            command.append("--frames")
        if options.run_id is not None:
            command += ["--run", str(options.run_id)]
        if options.first_id is not None:
            command += ["--first-id", str(options.first_id)]
        if options.clock is not None:
            virtual, real, speed, paused = options.clock
            command += ["--clock", f"{virtual!r},{real!r},{speed!r},{int(paused)}"]
        command += ["--", self.script, *options.args]
        env = dict(options.env if options.env is not None else os.environ)
        # The script's own children and Ctrl+C: its own session, ended by us.
        try:
            self._process = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                stdin=options.stdin,
                stdout=options.stdout,
                stderr=options.stderr,
                cwd=options.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            ours.close()
            raise ChildError(f"cannot start {options.python}: {exc.strerror or exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self._socket = ours
        self.pid = self._process.pid
        self.stdout = self._process.stdout
        self.stderr = self._process.stderr

    @property
    def connected(self) -> bool:
        """The agent's socket is still open (it closes when the child is done)."""
        return self._socket is not None

    def fileno(self) -> int:
        assert self._socket is not None
        return self._socket.fileno()

    # -- reading ------------------------------------------------------------
    def pump(self, timeout: float = 0.0, budget: float | None = None) -> bool:
        """Read and act on whatever the agent sent, waiting up to ``timeout`` for
        something, and working at most about ``budget`` seconds (a window must
        paint meanwhile; the rest stays in the socket for the next call). False
        once the child's side is closed."""
        sock = self._socket
        if sock is None:
            return False
        if timeout > 0:
            select.select([sock], [], [], timeout)
        deadline = None if budget is None else time.perf_counter() + budget
        reader = self._reader
        while True:
            # What was read before and not yet taken comes first.
            messages = iter(reader)
            try:
                for message in messages:
                    self._dispatch(message)
                    if deadline is not None and time.perf_counter() > deadline:
                        return True  # the rest waits for the next call (see backlog)
            except protocol.ProtocolError as exc:
                self._closed()
                raise ChildError(f"the script's process spoke nonsense: {exc}") from exc
            finally:
                messages.close()  # type: ignore[attr-defined]
            try:
                data = sock.recv(1 << 18)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                self._closed()
                return False
            reader.feed(data)

    @property
    def backlog(self) -> bool:
        """Read and not yet taken in: pump again soon, the socket will not say so."""
        return self._reader.pending > 0

    def _dispatch(self, message: tuple) -> None:
        kind = message[0]
        if kind == protocol.EVENTS:
            decode = self._decoder.decode if self._decoder else None
            if decode is None:
                return
            if self.on_ready_steps is not None:
                self._take_in(message[2], decode, self.on_ready_steps)
                return
            emit = self.log.emit
            with self.log.hold:
                for record in message[2]:
                    event = decode(record)
                    if event is not None:
                        emit(event)
        elif kind == protocol.TICK:
            self.now = message[1]
            self._stuck = message[2]
            if len(message) > 3 and message[3]:
                self.ready = message[3][0]  # the first running loop's, for the Loop panel
        elif kind == protocol.LOOP:
            self.loops[message[1]] = message[2]
        elif kind == protocol.HELLO:
            if message[1] != protocol.VERSION:
                raise protocol.ProtocolError(f"version {message[1]}, not {protocol.VERSION}")
            _tag, _version, _pid, self.python_version, self.origin, _script, names = message
            self.now = self.origin
            self._decoder = protocol.EventDecoder(names)
            title = f"▶ {Path(self.script).name} started (Python {self.python_version})"
            self.log.emit(SessionEvent(self.origin, "started", title))
        elif kind == protocol.LIMIT:
            self.limit_reached = True
        elif kind == protocol.EXIT:
            self.outcome.code, self.outcome.said = message[1], message[2]
            if len(message) >= 5:
                self.outcome.file, self.outcome.line = message[3], message[4]
        elif kind == protocol.SETTLED:
            self.settled += 1
            self.outside_busy = bool(message[2])
            self.settled_at_end = len(message) > 3 and bool(message[3])
        elif kind == protocol.CLOCK and self.on_clock is not None:
            self.on_clock(tuple(message[1:5]))
        elif kind == protocol.REFUSED and self.on_refused is not None:
            self.on_refused(str(message[1]))

    def _take_in(
        self,
        records: list,
        decode: Callable[[tuple | bytes], Any],
        ready: Callable[[list[protocol.ReadyStep]], None],
    ) -> None:
        """A batch's records in order: each run of packed steps to ``ready`` at
        once, each other event into the log (see ``on_ready_steps``)."""
        if set(map(type, records)) == {bytes}:  # nothing but bare-yield steps, often
            ready(protocol.ready_steps(records))
            return
        emit = self.log.emit
        packed: list[bytes] = []
        for record in records:
            if type(record) is bytes:
                packed.append(record)
                continue
            if packed:
                ready(protocol.ready_steps(packed))
                packed = []
            event = decode(record)
            if event is not None:
                emit(event)
        if packed:
            ready(protocol.ready_steps(packed))

    def _closed(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.exited = True

    # -- ending -------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def send(self, message: tuple) -> None:
        if self._socket is None:
            return
        self._socket.setblocking(True)
        try:
            self._socket.sendall(protocol.frame(message))
        except OSError:
            pass  # it is gone; reading will say so
        finally:
            if self._socket is not None:
                self._socket.setblocking(False)

    def stop(self) -> None:
        """Ask the program to end: every task of every loop is cancelled."""
        self.outcome.stopped = True
        self.send((protocol.STOP,))

    def frame(self, time_now: float) -> None:
        """Move a frame-stepped program's clock to ``time_now`` and settle it."""
        self.send((protocol.FRAME, time_now))

    def ask(self, intent: str, *args: Any) -> None:
        """An intent for the program (see ``coroscope.control.loop_intents``)."""
        self.send((protocol.INTENT, intent, args))

    def send_clock(self, state: tuple[float, float, float, bool]) -> None:
        self.send((protocol.CLOCK, *state))

    @property
    def process_ended(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def terminate(self) -> None:
        """SIGTERM to the program (and what it started), having noted where it was stuck."""
        if not self.process_ended:
            self._remember_stuck()
            self._signal(signal.SIGTERM)
            self.outcome.killed = "terminated"

    def kill(self) -> None:
        if not self.process_ended:
            self._signal(signal.SIGKILL)
            self.outcome.killed = "killed"

    def end(self, grace: float = STOP_GRACE) -> ChildOutcome:
        """Wait up to ``grace`` for the child to end, then terminate it, then kill
        it; read everything it sent. Returns how it ended."""
        process = self._process
        if process is None:
            return self.outcome
        if not self._wait(process, grace):
            self.terminate()
            if not self._wait(process, TERM_GRACE):
                self.kill()
                process.wait()
        self.pump(0.0)
        if self.outcome.code is None:
            self.outcome.code = process.returncode
        self._closed()
        return self.outcome

    def _wait(self, process: subprocess.Popen, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            self.pump(0.0)
            if process.poll() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(0.05, left))

    def _signal(self, signum: int) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)  # the script's own children too
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)

    @property
    def stuck_now(self) -> protocol.Stuck | None:
        """The step holding a loop longest past the block threshold, at the last tick."""
        return max(self._stuck, key=lambda entry: entry[3]) if self._stuck else None

    def _remember_stuck(self) -> None:
        """The step holding a loop as the child is ended never ends, so it never
        reports itself: say it from the agent's last look."""
        stuck = self.stuck_now
        if stuck is None or self.now is None:
            return
        self.outcome.stuck = stuck
        _loop, task, what, held, file, line, cpu, excuse = stuck
        self.log.emit(LoopBlocked(self.now, task, what, held, file, line, cpu, excuse))

    def close(self) -> None:
        """End the child at once if it still runs (the window closing, say)."""
        if self.running:
            self._signal(signal.SIGKILL)
            assert self._process is not None
            self._process.wait()
        self._closed()
