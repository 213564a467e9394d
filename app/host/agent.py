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
from typing import Any, NoReturn

from coroscope.control import loop_intents
from coroscope.control.cycles import cancel_tasks
from coroscope.control.loop_intents import IntentError
from coroscope.control.run import Recipes, RerunError
from coroscope.host import protocol
from coroscope.host.tagged_output import TaggedStream, running_agent_loop
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import (
    DEFAULT_BLOCK_THRESHOLD,
    KIND_NUMBERS,
    LoopStalled,
    Output,
    SessionEvent,
)
from coroscope.loop.scheduler import RUN_ID
from coroscope.loop.stall import threads_could_wake
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.loop.tracer import exception_place
from coroscope.models.loop_model import ready_sample
from coroscope.scripts.watchdog import Watchdog

FLUSH_EVERY = 0.02
BATCH = 250  # events per message
READY_EVERY = 5  # ticks: the Loop panel's look at each ready queue, 10 times a second
STALL_LOOK_EVERY = 10  # flushes: a look for a stall every 0.2 s
_CHECK_STALL = "check stall"  # the writer's own ask of a loop, not on the wire
# Frame-stepped: a timer due within this much loop time fires in this frame, and a
# frame is taken anyway after this many callbacks (a task that never stops
# yielding would never settle). As the window's own headless takes do.
FRAME_DUE = 0.0005
MAX_CALLBACKS_PER_FRAME = 200_000


class FrameSource:
    """The time a frame-stepped clock reads: it moves only when the watcher says."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


_agent: Agent | None = None
_REAL_EXIT = os._exit  # before install() puts a flushing one in its place
_TASK_INTENTS = ("cancel", "set_remaining", "delay", "rerun")
_TIMER_INTENTS = ("cancel_timer", "move_timer")
_INTENTS = ("cancel", "set_remaining", "delay", "cancel_timer", "move_timer")


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
        # One counter for every id of every loop (tasks, timers, channels, jobs,
        # child processes), from where the watcher said: none collides there.
        ids = agent.ids
        self.tracer.ids = self.scheduler._ids = self.io_taps._ids = ids
        self.outside._job_ids = self.outside._proc_ids = ids
        self.tracer.contain_exits = False
        # How to start each task again (Run again on a finished lane).
        self._recipes = Recipes()
        self.tracer.on_task_created = self._recipes.remember
        # Intents from the watcher, run on this loop's thread before each pass
        # (also while paused, when the scheduler runs nothing).
        self._intents: deque[tuple] = deque()
        self._settling: tuple[float, int] | None = None  # (frame time, callbacks run then)
        self._agent = agent
        self._outbox: deque[tuple | bytes] = deque()
        self._watchdog: Watchdog | None = None
        # Tasks created from this thread's context belong to the program's run.
        RUN_ID.set(agent.run_id)
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
        watchdog = self._watchdog = Watchdog(self.tracer)
        watchdog.start()
        try:
            super().run_forever()
        finally:
            watchdog.stop()
            self._watchdog = None
            settling, self._settling = self._settling, None
            if settling is not None:  # the program stopped the loop mid-frame
                self._agent.settled(settling[0])

    def program_over(self) -> None:
        """What the program left behind as its runner ends it: failed tasks nobody
        asked about, and tasks still pending that the runner now cancels."""
        self.tracer.program_over(self._agent.run_id)

    def close(self) -> None:
        if not self.is_closed() and not self.is_running():
            # Failed tasks nobody asked about: once the loop is gone, nobody will.
            for heard in self.tracer.unretrieved(self._agent.run_id):
                self.events.emit(heard)
        super().close()
        # Its last events go with the writer's next flush, or at the program's
        # end: waiting here for a slow watcher to take them would slow the program.

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

    def ready_sample(self) -> tuple[int, tuple[tuple[str, int | None], ...], int, int]:
        """From the writer thread: this loop's ready queue as the Loop panel shows it."""
        try:
            items, total, ran = ready_sample(self.scheduler, self.tracer)
        except (IndexError, RuntimeError):  # the loop took from the queue meanwhile
            return (self.index, (), self.scheduler.ready_count, self.scheduler.callbacks_run)
        return (self.index, tuple((item.label, item.task) for item in items), total, ran)

    def stop_program(self) -> None:
        """Cancel every task of this loop (cycles of tasks awaiting each other too)."""
        cancel_tasks([task for task in asyncio.all_tasks(self) if not task.done()])

    # -- the watcher's intents ------------------------------------------------
    def owns_task(self, task_id: int) -> bool:
        return self.tracer.task_by_id(task_id) is not None

    def owns_timer(self, timer_id: int) -> bool:
        return self.scheduler.timer(timer_id) is not None

    def ask(self, message: tuple) -> None:
        """From another thread: carry out ``message`` on this loop's thread."""
        self._intents.append(message)
        with contextlib.suppress(AttributeError, OSError):  # closed meanwhile
            self._write_to_self()  # type: ignore[attr-defined]

    def _run_once(self) -> None:
        intents = self._intents
        while intents:
            self._obey(intents.popleft())
        if self._agent.frames:
            self._run_frame_pass()
        else:
            super()._run_once()

    def _run_frame_pass(self) -> None:
        """Frame-stepped: between frames, only gather I/O and intents; while a
        frame settles, run what is due until nothing is ready, no timer is due
        and no I/O came in a whole pass, then say so (after the frame's events)."""
        if self._settling is None:
            # The frame waiting for whichever loop runs next (see Agent.frame).
            frame_time = self._agent.take_frame()
            if frame_time is not None:
                self._agent.frame_time.value = frame_time
                self._settling = (frame_time, self.scheduler.callbacks_run)
        settling = self._settling
        events = self._selector.select(0 if settling is not None else None)
        self._process_events(events)
        if settling is None:
            return
        scheduler = self.scheduler
        scheduler.run_once()
        due = scheduler.next_due()
        quiet = (
            not events
            and not scheduler.ready_count
            and (due is None or due > self.clock.now() + FRAME_DUE)
        )
        if quiet or scheduler.callbacks_run - settling[1] > MAX_CALLBACKS_PER_FRAME:
            self._settling = None
            self.check_stall()
            self._agent.settled(settling[0], busy=self._external_jobs > 0)

    def _process_events(self, event_list: list) -> None:
        # The self-pipe only wakes the loop for the intents above: read it now,
        # rather than queue its reader as a callback, which a paused loop would
        # keep and Step would then count as the one thing it ran.
        ssock = getattr(self, "_ssock", None)
        own = ssock.fileno() if ssock is not None else -1
        theirs = []
        for key, mask in event_list:
            if key.fd == own:
                self._read_from_self()  # type: ignore[attr-defined]
            else:
                theirs.append((key, mask))
        super()._process_events(theirs)

    def _obey(self, message: tuple) -> None:
        agent = self._agent
        if message[0] == _CHECK_STALL:
            self.check_stall()
            return
        if message[0] == protocol.CLOCK:
            agent.clock.adopt(message[1:])
            self._wake()
            return
        if message[0] == protocol.STOP:
            if self.clock.paused:
                agent.clock.resume()  # cancelled tasks need the loop running to unwind
                agent.send((protocol.CLOCK, *agent.clock.state()))
            self.stop_program()
            return
        _tag, intent, args = message
        try:
            if intent == "step":
                _result, said = loop_intents.step(self)
                if said:
                    self.events.emit(SessionEvent(self.clock.now(), "note", said))
                agent.send((protocol.CLOCK, *agent.clock.state()))
            elif intent == "rerun":
                self._rerun(*args)
            elif intent in _INTENTS:
                getattr(loop_intents, intent)(self, *args)
            else:
                raise IntentError(f"this Coroscope cannot {intent} in a script yet")
        except IntentError as exc:
            agent.send((protocol.REFUSED, str(exc)))
        except Exception as exc:  # a bug of ours must not end the program
            agent.send((protocol.REFUSED, f"{intent} failed: {type(exc).__name__}: {exc}"))

    def _rerun(self, task_id: int, name: str) -> None:
        try:
            coro = self._recipes.call(task_id, name)
        except RerunError as exc:
            raise IntentError(str(exc)) from exc
        self.create_task(coro, name=name)


class Agent:
    def __init__(
        self,
        channel: socket.socket,
        autojump: bool,
        block_threshold: float,
        limit: float | None,
        stop_on_stall: bool = False,
        run_id: int = protocol.DEFAULT_RUN,
        first_id: int = 1,
        frames: bool = False,
    ) -> None:
        self.channel = channel
        self.run_id = run_id
        # Frame-stepped (a headless take): loop time moves only when the watcher
        # says, and the loop runs only to settle each frame (see FRAME).
        self.frames = frames
        self.frame_time = FrameSource()
        self.stop_on_stall = stop_on_stall
        self.autojump = autojump
        self.block_threshold = block_threshold
        self.limit = limit
        self.clock = VirtualClock(source=self.frame_time) if frames else VirtualClock()
        self.ids = itertools.count(first_id)
        self.loops: list[AgentLoop] = []
        self.stopping = False
        self.finishing = False
        self.failed_at: tuple[str, int] = ("", 0)
        self._ticks = 0
        self._send_lock = threading.Lock()
        # One flush at a time, so a frame's SETTLED never overtakes its events.
        self._flush_lock = threading.Lock()
        # The frame the watcher asked for that no loop has taken yet (see frame).
        self._frame: float | None = None
        self._frame_lock = threading.Lock()
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
            _REAL_EXIT(1)  # nobody watches: end at once, as a terminal closing would

    def flush(self, then: tuple | None = None) -> None:
        """Send what every loop did since the last flush, then ``then`` if given."""
        with self._flush_lock:
            self._flush()
            if then is not None:
                self.send(then)

    def frame(self, frame_time: float) -> None:
        """From the reader: a frame to settle. It waits for whichever loop runs
        next to take it at the start of a pass (a loop that is just stopping
        never does), so the frame a program's work lands in never depends on
        thread timing; while no loop runs (top-level code, between two runs)
        loop time stands still. Once the program is over, it is settled empty."""
        with self._frame_lock:
            self._frame = frame_time
            if not self.finishing:
                for loop in list(self.loops):
                    with contextlib.suppress(AttributeError, OSError, RuntimeError):
                        loop._write_to_self()  # type: ignore[attr-defined]
                return
        self._settle_left_frame()

    def take_frame(self) -> float | None:
        with self._frame_lock:
            frame_time, self._frame = self._frame, None
            return frame_time

    def _settle_left_frame(self) -> None:
        frame_time = self.take_frame()
        if frame_time is not None:
            self.frame_time.value = frame_time
            self.settled(frame_time)

    def settled(self, frame_time: float, busy: bool = False) -> None:
        """Say that the frame at ``frame_time`` is settled, after its events; the
        take keeps pace with real time while ``busy`` or a thread of the program's
        may still hand a loop work."""
        busy = busy or threads_could_wake()
        self.flush(then=(protocol.SETTLED, frame_time, busy, self.finishing))

    def _flush(self) -> None:
        for loop in list(self.loops):
            events = loop.take_events()
            # In batches a watcher takes in a few milliseconds, so a window that
            # reads between frames never meets one that holds it up for longer.
            for start in range(0, len(events), BATCH):
                self.send((protocol.EVENTS, loop.index, events[start : start + BATCH]))
        loops = list(self.loops)
        stuck = tuple(s for s in (loop.stuck() for loop in loops) if s is not None)
        self._ticks += 1
        ready = None
        if self._ticks % READY_EVERY == 0:
            ready = tuple(loop.ready_sample() for loop in loops if loop.is_running())
        self.send((protocol.TICK, self.clock.now(), stuck, ready))

    def _write(self) -> None:
        flushes = 0
        while not self._flushed.wait(FLUSH_EVERY):
            self.flush()
            flushes += 1
            if flushes % STALL_LOOK_EVERY == 0:
                # A thread of the program's that ends without handing a loop
                # anything leaves that loop waiting, never looking again: look.
                for loop in list(self.loops):
                    if loop.is_running():
                        loop.ask((_CHECK_STALL,))

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
        tag = message[0]
        if tag == protocol.STOP:
            self.stop_program()
        elif tag == protocol.CLOCK:
            loops = [loop for loop in list(self.loops) if not loop.is_closed()]
            if not loops:
                self.clock.adopt(message[1:])  # no loop reads it yet
            for loop in loops:
                loop.ask(message)
        elif tag == protocol.FRAME:
            self.frame(message[1])
        elif tag == protocol.INTENT:
            owner = self._loop_for(message[1], message[2])
            if owner is None:
                self.send((protocol.REFUSED, "the script has not made an event loop yet"))
            else:
                owner.ask(message)

    def _loop_for(self, intent: str, args: tuple) -> AgentLoop | None:
        """The loop the intent is about: the one with that task or timer, else
        the one running now (for Step), else the first."""
        loops = [loop for loop in list(self.loops) if not loop.is_closed()]
        if not loops:
            return None
        if args and intent in _TASK_INTENTS:
            owners = [loop for loop in loops if loop.owns_task(args[0])]
        elif args and intent in _TIMER_INTENTS:
            owners = [loop for loop in loops if loop.owns_timer(args[0])]
        else:
            owners = [loop for loop in loops if loop.is_running()]
        return (owners or loops)[0]

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
                loop.ask((protocol.STOP,))

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

        def exit_now(status: int) -> NoReturn:
            # os._exit skips everything, the writer's next flush too: send what
            # the loops did first, so the watcher still sees the run up to here.
            with contextlib.suppress(Exception):
                self.flush()
            _REAL_EXIT(status)

        os._exit = exit_now
        RUN_ID.set(self.run_id)

    def tag_output(self) -> None:
        """print() reaches the watcher as Output events with the task that printed."""
        output_kind = KIND_NUMBERS[Output]

        def untagged(line: str, stream: str) -> None:
            record = (output_kind, self.clock.now(), None, line, stream)
            self.send((protocol.EVENTS, 0, [record]))

        loop_of_thread = running_agent_loop(AgentLoop)
        sys.stdout = TaggedStream("stdout", sys.stdout, loop_of_thread, untagged)
        sys.stderr = TaggedStream("stderr", sys.stderr, loop_of_thread, untagged)

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
        saying how (its traceback goes to stderr, as python prints it; where it
        was raised is kept in ``failed_at``)."""
        path = os.path.abspath(script)
        sys.argv = [script, *args]
        sys.path[0] = os.path.dirname(path)
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            self.failed_at = exception_place(exc)  # where sys.exit() was called
            return _exit_code(exc), ""
        except BaseException as exc:  # the program's, reported as python would
            if self.stopping and isinstance(exc, asyncio.CancelledError):
                return 0, ""  # what stopping it did, not the program's doing
            _print_uncaught(exc, path)
            self.failed_at = exception_place(exc)
            code = 130 if isinstance(exc, KeyboardInterrupt) else 1
            return code, "".join(traceback.format_exception_only(exc)).strip()
        finally:
            _join_threads()
        return 0, ""

    def finish(self, code: int, outcome: str) -> None:
        with self._frame_lock:
            self.finishing = True
        self._settle_left_frame()  # no loop will run again to take it
        self._flushed.set()
        self._writer.join(timeout=2.0)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        self.flush()
        self.send((protocol.EXIT, code, outcome, *self.failed_at))


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
    parser.add_argument(
        "--tag-output", action="store_true", help="print() as events tagged with the task"
    )
    parser.add_argument("--frames", action="store_true", help="loop time moves only frame by frame")
    parser.add_argument(
        "--run", type=int, default=protocol.DEFAULT_RUN, help="the run id to tag with"
    )
    parser.add_argument("--first-id", type=int, default=1, help="where ids start counting")
    parser.add_argument(
        "--clock", default=None, help="the watcher's clock: virtual,real,speed,paused (0 or 1)"
    )
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None, before: Callable[[], None] | None = None) -> int:
    options = _parser().parse_args(argv)
    channel = socket.socket(fileno=options.fd)
    agent = Agent(
        channel,
        options.autojump,
        options.block_threshold,
        options.limit,
        options.stop_on_stall,
        run_id=options.run,
        first_id=options.first_id,
        frames=options.frames,
    )
    if options.clock:
        virtual, real, speed, paused = options.clock.split(",")
        agent.clock.adopt((float(virtual), float(real), float(speed), paused == "1"))
        agent.clock.origin = agent.clock.now()
    agent.install()
    if options.tag_output:
        agent.tag_output()
    agent.start(options.script)
    if before is not None:
        before()
    code, outcome = agent.run_script(options.script, options.args)
    agent.finish(code, outcome)
    return code
