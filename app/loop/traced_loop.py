"""Event loops whose callbacks and timers go through the Coroscope scheduler.

``TracingMixin`` replaces the loop's scheduling primitives (``call_soon``,
``call_at``, ``call_later``, the internal ``_call_soon`` and ``_add_callback``,
``time``) with the scheduler and clock from ``coroscope.loop.scheduler`` and
``coroscope.loop.clock``, and names and traces tasks in ``create_task``. It is mixed into two loops:

* ``HeadlessLoop`` here: a plain ``asyncio.SelectorEventLoop`` with no Qt at all,
  for ``coroscope trace``, the recorder and the core's unit tests;
* ``coroscope.widgets.shell.qt_loop.TracingLoop``: the same mixin on top of ``qasync.QEventLoop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextvars import Context
from typing import TYPE_CHECKING, Any

from coroscope.loop import unawaited
from coroscope.loop.anatomy.hooks import AnatomyHooks
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import EventLog, LoopStalled, PythonWarned
from coroscope.loop.scheduler import Scheduler
from coroscope.loop.stall import StallWatch, threads_could_wake
from coroscope.loop.tracer import DEFAULT_BLOCK_THRESHOLD, Tracer

if TYPE_CHECKING:
    from typing import TypeVar, TypeVarTuple

    _T = TypeVar("_T")
    _Ts = TypeVarTuple("_Ts")

# The headless loop never sleeps in select() longer than this, so a stop() from
# another thread or a clock change is noticed promptly.
_MAX_SELECT = 0.25


class TracingMixin(AnatomyHooks):
    clock: VirtualClock
    events: EventLog
    scheduler: Scheduler
    tracer: Tracer
    autojump: bool

    def _init_tracing(
        self,
        clock: VirtualClock | None = None,
        events: EventLog | None = None,
        trace: bool = True,
        block_threshold: float = DEFAULT_BLOCK_THRESHOLD,
        autojump: bool = False,
    ) -> None:
        self.clock = clock or VirtualClock()
        self.events = events if events is not None else EventLog()
        self.scheduler = Scheduler(self.clock, self.events.emit if trace else None)
        self.tracer = Tracer(self.events, self.clock, self.scheduler, block_threshold)
        if trace:
            self.scheduler.run_batch = self.tracer.run_batch
            self.scheduler.batch = self.events.hold
        self.tracing = trace
        # Autojump skips idle loop time (sleeps finish at once) while nothing
        # outside the loop, such as a socket, a pipe or a worker thread, is pending.
        self.autojump = autojump
        self._external_jobs = 0
        # False while the driver is already running the scheduler (it re-arms
        # itself afterwards) and always False for the headless loop.
        self._needs_wake = False
        self._push_ready = self.scheduler.push_ready
        self._stall = StallWatch(self)
        # What Python said while the loop was not running: (finding, handler context).
        self._unsaid: list[tuple[PythonWarned, dict[str, Any] | None]] = []
        self._init_anatomy()
        if trace:
            unawaited.listen()

    # -- the scheduling primitives -----------------------------------------
    def time(self) -> float:
        return self.clock.now()

    def _call_soon(self, callback: Callable, args: tuple, context: Any) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]  # debug mode: ends at the caller
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        self._push_ready(handle)
        return handle

    def call_soon(
        self,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        # The hottest call in any loop: every task step goes through it.
        if self._closed:
            raise RuntimeError("Event loop is closed")
        handle = asyncio.Handle(callback, args, self, context)
        if self._debug:
            self._debug_checks(callback, "call_soon", handle, 1)
        self._push_ready(handle)
        if self._needs_wake:
            self._wake()
        return handle

    def _debug_checks(self, callback: Callable, method: str, handle: Any, ours: int) -> None:
        """What asyncio checks in debug mode, and a handle's creation traceback that
        ends where the program called, without the ``ours`` frames of Coroscope's."""
        self._check_thread()
        self._check_callback(callback, method)
        if handle._source_traceback:
            del handle._source_traceback[-ours:]

    def call_later(
        self,
        delay: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if delay is None:
            raise TypeError("delay must not be None")
        # One clock reading for both ends, so sleep(0.01) is a 0.01 s timer in
        # every view, not 0.00999 s because the clock moved on in between.
        now = self.clock.now()
        return self._schedule_timer(now + delay, callback, args, context, now)

    def call_at(
        self,
        when: float,
        callback: Callable[[*_Ts], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        return self._schedule_timer(when, callback, args, context, None)

    def _schedule_timer(
        self, when: float, callback: Callable, args: tuple, context: Any, now: float | None
    ) -> asyncio.TimerHandle:
        if when is None or math.isnan(when):
            raise TypeError("when must be a number")
        self._check_closed()
        handle = asyncio.TimerHandle(when, callback, args, self, context)
        if self._debug:  # (frames of ours: call_later or call_at, and this one)
            self._debug_checks(callback, "call_at", handle, 2)
        self.scheduler.push_timer(handle, now)
        if self._needs_wake:
            self._wake()
        return handle

    def _add_callback(self, handle: asyncio.Handle, delay: float = 0) -> asyncio.Handle:
        # Signal-safe path and selector I/O both land here.
        if delay:
            return self.call_later(
                delay,
                handle._callback,  # type: ignore[attr-defined]
                *handle._args,
                context=handle._context,  # type: ignore[attr-defined]
            )
        if not handle._cancelled:
            self.scheduler.push_ready(handle)
            self._wake()
        return handle

    # -- what Python and asyncio say about the program ------------------------------
    def call_exception_handler(self, context: dict[str, Any]) -> None:
        heard = self.tracer.python_said(context) if self.tracing else None
        if heard is None:
            super().call_exception_handler(context)
            return
        # Said from Task.__del__, wherever the garbage collector ran: maybe in a
        # model taking in an event, or inside an ast.parse() that reporting the
        # traceback would re-enter (Python 3.11 cannot). Say it as the loop's next
        # callback, or, if it is not running, when it runs again or closes.
        self._say_later(heard, context)

    def _say_later(self, heard: PythonWarned, context: dict[str, Any] | None) -> None:
        if self.is_closed():  # as asyncio says it then: at once, and no finding
            if context is not None:
                super().call_exception_handler(context)
            return
        if self.is_running():
            self._push_ready(asyncio.Handle(self._say, (heard, context), self, None))
            self._wake()
        else:
            self._unsaid.append((heard, context))

    def _say_unsaid(self) -> None:
        unsaid, self._unsaid = self._unsaid, []
        for heard, context in unsaid:
            self._say(heard, context)

    def _say(self, heard: PythonWarned, context: dict[str, Any] | None) -> None:
        self.events.emit(heard)
        if context is not None:
            super().call_exception_handler(context)

    def heard_unawaited(self, coro: object, file: str, line: int) -> None:
        """``coroscope.loop.unawaited`` heard Python warn about ``coro`` (from a
        finalizer, so it is said later, as above)."""
        if self.tracing:
            self._say_later(self.tracer.never_awaited(coro, file, line), None)

    def check_stall(self) -> LoopStalled | None:
        """Emit ``LoopStalled`` if a run can no longer make progress (once per stall)."""
        return self._stall.check()

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self.scheduler.timer_cancelled(handle)

    def create_task(
        self, coro, *, name: object = None, context: Context | None = None
    ) -> asyncio.Task:
        self._check_closed()
        factory = self.get_task_factory()
        if factory is None:
            # (asyncio takes str(name); typeshed's Task asks for a str.)
            task = asyncio.Task(coro, loop=self, name=name, context=context)  # type: ignore[arg-type]
        else:
            # Old-style factories take no context argument. (typeshed's factory
            # returns a Future, and takes no context.)
            task = (
                factory(self, coro)  # type: ignore[assignment]
                if context is None
                else factory(self, coro, context=context)  # type: ignore[call-arg]
            )
            if name is not None:
                task.set_name(name)
        if self.tracing:
            self.tracer.task_created(task, context)
        return task

    def run_in_executor(
        self, executor: Executor | None, func: Callable[[*_Ts], _T], *args: *_Ts
    ) -> asyncio.Future[_T]:
        if self._debug:  # before the anatomy hooks wrap ``func`` in a job
            self._check_callback(func, "run_in_executor")
        future = super().run_in_executor(executor, func, *args)
        self.scheduler.label_future(future, f"executor: {getattr(func, '__name__', 'call')}()")
        self._external_jobs += 1
        future.add_done_callback(self._external_job_done)
        return future

    def _external_job_done(self, _future: asyncio.Future) -> None:
        self._external_jobs -= 1

    # -- driving ------------------------------------------------------------
    def run_forever(self) -> None:
        if self._unsaid:
            self._say_unsaid()
        super().run_forever()

    def close(self) -> None:
        if self._unsaid and not self.is_running():
            self._say_unsaid()
        super().close()

    def _wake(self) -> None:
        """Hook: make the driver notice new work (the Qt loop re-arms its timer)."""

    def _external_io_pending(self) -> bool:
        return self._external_jobs > 0

    def _next_wait(self) -> float:
        """Real seconds until the scheduler has work; autojump skips idle loop time."""
        wait = self.scheduler.wait_seconds()
        if wait > 0 and self.tracing and self._stall.check() is not None:
            # Checked before autojump leaps to the app's own timers (a trace's
            # --duration); whoever heard of the stall may have queued work.
            wait = self.scheduler.wait_seconds()
        if (
            wait > 0
            and self.autojump
            and not self._woken_from_outside()
            and self.scheduler.jump_to_next_timer()
        ):
            return 0.0
        return wait

    def _woken_from_outside(self) -> bool:
        """Whether something outside the loop may still hand it work, so idle loop
        time must pass as real time: a socket or pipe, a busy executor job or child,
        a signal handler (a signal may come), a thread of the program's."""
        return (
            self._external_io_pending()
            or bool(getattr(self, "_signal_handlers", None))
            or threads_could_wake()
        )

    def pause(self) -> None:
        self.clock.pause()
        self._wake()

    def resume(self) -> None:
        self.clock.resume()
        self._wake()

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)
        self._wake()

    def step(self) -> str:
        with self._running():
            result = self.scheduler.step()
        self._wake()
        return result

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        """Let callbacks see this loop as running while we drive it by hand.

        Stepping or frame-by-frame recording drives the scheduler from outside
        run_forever(); asyncio.sleep() and friends still need a running loop.
        """
        if asyncio.events._get_running_loop() is self:
            yield
            return
        asyncio.events._set_running_loop(self)
        try:
            yield
        finally:
            asyncio.events._set_running_loop(None)


class HeadlessLoop(TracingMixin, asyncio.SelectorEventLoop):
    """A traced loop with no Qt: selector I/O plus the Coroscope scheduler."""

    def __init__(self, **tracing: Any) -> None:
        self._init_tracing(**tracing)
        super().__init__()
        # The scheduler's ready queue is the loop's: code that looks at asyncio's
        # (``while loop._ready: loop._run_once()``) sees what will run.
        self._ready = self.scheduler._ready

    def _external_io_pending(self) -> bool:
        # One registration is the loop's own self-pipe.
        return self._external_jobs > 0 or len(self._selector.get_map()) > 1

    def _run_once(self) -> None:
        timeout = min(self._next_wait(), _MAX_SELECT)
        events = self._selector.select(timeout)
        self._process_events(events)
        if not self.clock.paused:  # paused: I/O callbacks queue up until resume or Step
            self.scheduler.run_once()
