"""The agent: runs a user's script in this process exactly as ``python script.py``
would, and streams what its event loops do to the watcher over a socket.

It is started by ``coroscope.host.child`` (through ``boot.py``, so it works
under any Python 3.11+ without Coroscope installed there) and imports nothing
but the standard library and Coroscope's Qt-free core. It changes no line of the
script: it makes every event loop the program creates a traced ``AgentLoop``
(``asyncio.run``, ``asyncio.Runner``, ``new_event_loop``, ``get_event_loop``,
``asyncio.SelectorEventLoop()``, and whatever builds on them, such as
``anyio.run``), in any thread, then runs the script with ``runpy`` as
``__main__`` in the real main thread. The script's exit code, traceback,
output, warnings and signal handlers are its own.

All loops share one clock (pausing pauses the program) and one task-id counter
(ids stay unique across loops). Each loop's events go to a queue that a writer
thread sends every ``FLUSH_EVERY`` seconds, with the clock's time and any step
that is holding a loop right now (so a watcher that must end a stuck program
still knows where it was stuck).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import itertools
import os
import runpy
import socket
import sys
import threading
import traceback
from asyncio import runners
from collections import deque
from collections.abc import Callable
from time import perf_counter
from typing import Any

from coroscope.control.cycles import cancel_tasks
from coroscope.host import protocol
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import DEFAULT_BLOCK_THRESHOLD, LoopStalled
from coroscope.loop.scheduler import RUN_ID
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.scripts.watchdog import Watchdog

# Every task of the program belongs to this run (stall and left-pending checks
# look at a run's tasks; the agent hosts exactly one).
PROGRAM_RUN = 1
FLUSH_EVERY = 0.02

_agent: Agent | None = None


class AgentLoop(HeadlessLoop):
    """The event loop every loop the program makes becomes: a traced selector loop."""

    def __init__(self, selector: Any = None) -> None:
        # (A selector the program passes is not used: the traced loop brings its own.)
        agent = _agent
        if agent is None:
            raise RuntimeError("AgentLoop is made only inside a Coroscope agent")
        super().__init__(
            clock=agent.clock, autojump=agent.autojump, block_threshold=agent.block_threshold
        )
        self.tracer.ids = agent.ids
        self.tracer.contain_exits = False
        self._agent = agent
        self._outbox: deque[tuple | bytes] = deque()
        self._watchdog: Watchdog | None = None
        # Tasks created from this thread's context belong to the program's run.
        RUN_ID.set(PROGRAM_RUN)
        self.index = agent.register(self)
        # What the loop keeps of each event goes straight to the outbox instead of
        # a ring: the same records, (kind number, *fields) or a packed bare-yield
        # step, and taken as they happen, not when the scheduler's batch lets its
        # listeners hear them (a step that never ends would hold them forever).
        self.events._append = self._outbox.append
        if agent.stop_on_stall:
            # Heard while the loop is about to wait: a callback queued now keeps
            # autojump from leaping to the next timer past the deadlock.
            def stop_on_stall(_event: object) -> None:
                self.call_soon(agent.stop_program)

            self.events.subscribe(stop_on_stall, (LoopStalled,))
        if agent.limit is not None:
            # The app's own timer (no run), so a run waiting on nothing else
            # still counts as stalled, and autojump stops here rather than past it.
            # (The scheduler reads the run from the context it is called in.)
            contextvars.Context().run(
                self.call_at, agent.clock.origin + agent.limit, agent.limit_reached
            )

    def run_forever(self) -> None:
        watchdog = self._watchdog = Watchdog(self.tracer, interrupt_after=None)
        watchdog.start()
        try:
            super().run_forever()
        finally:
            watchdog.stop()
            self._watchdog = None

    def program_over(self) -> None:
        """What the program left behind as its runner ends it: failed tasks nobody
        asked about, and tasks still pending that the runner now cancels."""
        for heard in self.tracer.unretrieved(PROGRAM_RUN):
            self.events.emit(heard)
        left = self.tracer.left_running(PROGRAM_RUN)
        if left is not None:
            self.events.emit(left)

    def close(self) -> None:
        if not self.is_closed() and not self.is_running():
            for heard in self.tracer.unretrieved(PROGRAM_RUN):
                self.events.emit(heard)
        super().close()
        self._agent.flush()

    def take_events(self) -> list[tuple | bytes]:
        outbox = self._outbox
        return [outbox.popleft() for _ in range(len(outbox))]

    def stuck(self) -> protocol.Stuck | None:
        """The step holding this loop now, if it has held it past the threshold."""
        tracer = self.tracer
        started = tracer.step_started_wall
        if started is None:
            return None
        held = perf_counter() - started
        if held < tracer.block_threshold:
            return None
        task = asyncio.current_task(self)
        info = tracer.info(task) if task is not None else None
        file, line, cpu, excuse = "", 0, -1.0, ""
        sampled = tracer.sampled
        if sampled is not None and sampled[0] == started:
            _started, file, line, cpu, excuse = sampled
        what = info.name if info is not None else "a callback"
        return (self.index, info.id if info else None, what, held, file, line, cpu, excuse)

    def stop_program(self) -> None:
        """Cancel every task of this loop (cycles of tasks awaiting each other too)."""
        cancel_tasks([task for task in asyncio.all_tasks(self) if not task.done()])


class Agent:
    def __init__(
        self,
        channel: socket.socket,
        autojump: bool,
        block_threshold: float,
        limit: float | None,
        stop_on_stall: bool = False,
    ) -> None:
        self.channel = channel
        self.stop_on_stall = stop_on_stall
        self.autojump = autojump
        self.block_threshold = block_threshold
        self.limit = limit
        self.clock = VirtualClock()
        self.ids = itertools.count(1)
        self.loops: list[AgentLoop] = []
        self.stopping = False
        self.finishing = False
        self._send_lock = threading.Lock()
        self._flushed = threading.Event()
        self._writer = threading.Thread(target=self._write, name="coroscope-agent-writer")
        self._reader = threading.Thread(target=self._read, name="coroscope-agent-reader")
        self._writer.daemon = self._reader.daemon = True

    # -- the wire -----------------------------------------------------------
    def send(self, message: tuple) -> None:
        data = protocol.frame(message)
        with self._send_lock:
            try:
                self.channel.sendall(data)
            except OSError:
                self._watcher_gone()

    def _watcher_gone(self) -> None:
        if not self.finishing:
            os._exit(1)  # nobody watches: end at once, as a terminal closing would

    def flush(self) -> None:
        for loop in list(self.loops):
            events = loop.take_events()
            if events:
                self.send((protocol.EVENTS, loop.index, events))
        stuck = tuple(s for s in (loop.stuck() for loop in list(self.loops)) if s is not None)
        self.send((protocol.TICK, self.clock.now(), stuck))

    def _write(self) -> None:
        while not self._flushed.wait(FLUSH_EVERY):
            self.flush()

    def _read(self) -> None:
        reader = protocol.Reader()
        while True:
            try:
                data = self.channel.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._watcher_gone()
                return
            reader.feed(data)
            for message in reader:
                self.obey(message)

    def obey(self, message: tuple) -> None:
        if message[0] == protocol.STOP:
            self.stop_program()

    # -- the program's loops ------------------------------------------------
    def register(self, loop: AgentLoop) -> int:
        self.loops.append(loop)
        index = len(self.loops)
        self.send((protocol.LOOP, index, threading.current_thread().name))
        return index

    def stop_program(self) -> None:
        self.stopping = True
        for loop in list(self.loops):
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # it closed meanwhile
                    loop.call_soon_threadsafe(loop.stop_program)

    def limit_reached(self) -> None:
        self.send((protocol.LIMIT,))
        self.stop_program()

    # -- running the script -------------------------------------------------
    def install(self) -> None:
        """Make every event loop the program creates an ``AgentLoop``."""
        global _agent
        _agent = self
        asyncio.DefaultEventLoopPolicy._loop_factory = AgentLoop  # type: ignore[attr-defined]
        asyncio.SelectorEventLoop = AgentLoop
        if hasattr(asyncio, "unix_events"):
            asyncio.unix_events.SelectorEventLoop = AgentLoop
        asyncio.set_event_loop_policy(None)
        cancel_all = runners._cancel_all_tasks  # type: ignore[attr-defined]

        def cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
            # asyncio.run() and Runner end the program here: say what it left first.
            if isinstance(loop, AgentLoop):
                loop.program_over()
            cancel_all(loop)

        runners._cancel_all_tasks = cancel_all_tasks  # type: ignore[attr-defined]
        RUN_ID.set(PROGRAM_RUN)

    def start(self, script: str) -> None:
        self.send(
            (
                protocol.HELLO,
                protocol.VERSION,
                os.getpid(),
                sys.version.split()[0],
                self.clock.origin,
                script,
                protocol.kind_names(),
            )
        )
        self._writer.start()
        self._reader.start()

    def run_script(self, script: str, args: list[str]) -> tuple[int, str]:
        """Run ``script`` as ``__main__``; its exit code and, if it failed, one line
        saying how (its traceback goes to stderr, as python prints it)."""
        path = os.path.abspath(script)
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(path)
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            return _exit_code(exc), ""
        except BaseException as exc:  # the program's, reported as python would
            if self.stopping and isinstance(exc, asyncio.CancelledError):
                return 0, ""  # what stopping it did, not the program's doing
            _print_uncaught(exc, path)
            code = 130 if isinstance(exc, KeyboardInterrupt) else 1
            return code, "".join(traceback.format_exception_only(exc)).strip()
        finally:
            _join_threads()
        return 0, ""

    def finish(self, code: int, outcome: str) -> None:
        self.finishing = True
        self._flushed.set()
        self._writer.join(timeout=2.0)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        self.flush()
        self.send((protocol.EXIT, code, outcome))


def _exit_code(exc: SystemExit) -> int:
    """What python's own exit would make of ``sys.exit(code)``."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _print_uncaught(exc: BaseException, path: str) -> None:
    """Hand ``exc`` to ``sys.excepthook`` with the traceback starting in the
    script, as python's would (not in the agent or runpy)."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != path:
        tb = tb.tb_next
    tb = tb or exc.__traceback__
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)


def _join_threads() -> None:
    """Wait for the program's own non-daemon threads, as python does before it exits."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coroscope-agent")
    parser.add_argument("--fd", type=int, required=True, help="the watcher's socket")
    parser.add_argument("--autojump", action="store_true")
    parser.add_argument("--block-threshold", type=float, default=DEFAULT_BLOCK_THRESHOLD)
    parser.add_argument("--limit", type=float, default=None, help="loop seconds, then stop")
    parser.add_argument("--stop-on-stall", action="store_true", help="end a deadlocked program")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None, before: Callable[[], None] | None = None) -> int:
    options = _parser().parse_args(argv)
    channel = socket.socket(fileno=options.fd)
    agent = Agent(
        channel, options.autojump, options.block_threshold, options.limit, options.stop_on_stall
    )
    agent.install()
    agent.start(options.script)
    if before is not None:
        before()
    code, outcome = agent.run_script(options.script, options.args)
    agent.finish(code, outcome)
    return code
