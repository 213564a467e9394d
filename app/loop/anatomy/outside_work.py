"""Work the loop hands outside itself: executor jobs (threads) and child processes.

Both outlive the coroutine that started them if nobody cleans up: cancelling a
task that awaits ``run_in_executor`` does not stop the thread, and cancelling a
task that awaits a child does not stop the child. ``OutsideWork`` tags each with
the run that started it (``RUN_ID``), reports its life as events, keeps the loop
from autojumping while any is busy (real time must pass), and at Stop ``reap``s
what a run left behind: queued jobs are dropped, running ones are waited for,
children are terminated (then killed), and each of those is reported.

Threading: a job's wrapper runs in a worker thread and only flips flags under a
lock and calls ``loop.call_soon_threadsafe``; every event is emitted on the loop
thread, so models never see another thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import threading
from collections import deque
from collections.abc import Callable
from contextvars import Context
from typing import TYPE_CHECKING, Any, cast

from coroscope.loop.anatomy.protocol_proxy import ProtocolProxy
from coroscope.loop.events import PROCESS_POOL, Event, ExecutorJob, SessionEvent, Subprocess
from coroscope.loop.introspect import describe_args, short_name, short_repr
from coroscope.loop.scheduler import RUN_ID

if TYPE_CHECKING:
    from typing import TypeVar, TypeVarTuple

    _T = TypeVar("_T")
    _Ts = TypeVarTuple("_Ts")


def job_name(func: Callable, args: tuple) -> str:
    """``crunch(3)``; sees through ``asyncio.to_thread``'s ``partial(ctx.run, f, ...)``."""
    while isinstance(func, functools.partial):
        inner = func.func
        # (args first: mypy reads ``func`` on the right as already reassigned.)
        if isinstance(getattr(inner, "__self__", None), Context):
            args, func = func.args[1:] + args, func.args[0]
        else:
            args, func = func.args + args, inner
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return f"{short_name(name or type(func).__name__)}({describe_args(args)})"


class Job:
    __slots__ = (
        "abandoned",
        "busy",
        "detail",
        "ended",
        "function",
        "id",
        "lock",
        "outcome",
        "run",
        "started",
        "task",
        "thread",
        "thread_done",
    )

    def __init__(self, job_id: int, function: str, task: int | None, run: int | None) -> None:
        self.id = job_id
        self.function = function
        self.task = task
        self.run = run
        self.lock = threading.Lock()
        self.started = False  # a worker took it (set in the worker thread)
        self.abandoned = False  # its awaiter gave up before a worker took it
        self.busy = False  # counted as outside work (loop thread only)
        self.thread = ""
        self.outcome = ""
        self.detail = ""
        self.ended = False  # the worker finished with it (loop thread only)
        self.thread_done: asyncio.Future | None = None


class ProcessRecord:
    __slots__ = ("command", "exited", "id", "pid", "run", "task", "transport")

    def __init__(self, proc_id: int, command: str, task: int | None, run: int | None, loop):
        self.id = proc_id
        self.command = command
        self.task = task
        self.run = run
        self.pid = 0
        self.transport: asyncio.SubprocessTransport | None = None
        self.exited: asyncio.Future = loop.create_future()


class _ProcessWatch(ProtocolProxy, asyncio.SubprocessProtocol):
    """Proxy for a subprocess protocol that tells ``OutsideWork`` when the child
    started and exited, then forwards every call to the real protocol."""

    _inner: asyncio.SubprocessProtocol

    def __init__(self, inner, owner: OutsideWork, record: ProcessRecord) -> None:
        super().__init__(inner)
        self._owner = owner
        self._record = record

    def connection_made(self, transport) -> None:
        self._owner._process_started(self._record, transport)
        self._inner.connection_made(transport)

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._inner.pipe_data_received(fd, data)

    def pipe_connection_lost(self, fd: int, exc) -> None:
        self._inner.pipe_connection_lost(fd, exc)

    def process_exited(self) -> None:
        self._owner._process_exited(self._record)
        self._inner.process_exited()


def command_text(args, shell: bool) -> str:
    """The command as a one-line label (readable rather than exact for a shell)."""
    if shell or isinstance(args, (str, bytes)):
        text = args.decode(errors="replace") if isinstance(args, bytes) else str(args)
        return _one_line(text)
    parts = [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a) for a in args]
    if parts:
        parts[0] = os.path.basename(parts[0])  # the interpreter's full path is noise
    return " ".join(_display_arg(_one_line(p)) for p in parts)


def _one_line(text: str) -> str:
    return text.strip().replace("\n", "\\n")


def _display_arg(arg: str) -> str:
    if arg and not any(c in arg for c in " \t'\"$`\\;&|<>()*?{}[]"):
        return arg
    return f"'{arg}'" if '"' in arg else f'"{arg}"'


class OutsideWork:
    def __init__(self, loop, emit: Callable[[Event], None]) -> None:
        self.loop = loop
        self._emit = emit
        self._now = loop.clock.now
        self._scheduler = loop.scheduler
        self._job_ids = itertools.count(1)
        self._proc_ids = itertools.count(1)
        self.jobs: dict[int, Job] = {}  # not yet settled
        self._inbox: deque[tuple[Callable, tuple]] = deque()
        self._inbox_lock = threading.Lock()
        self._drain_pending = False
        self.processes: dict[int, ProcessRecord] = {}  # not yet exited or closed

    # -- executor jobs ----------------------------------------------------------------
    def submit(
        self, func: Callable[[*_Ts], _T], args: tuple[*_Ts], in_thread: bool = True
    ) -> tuple[Job, Callable[[*_Ts], Any]]:
        """Record a job and return it with the callable to hand to the executor.

        ``in_thread=False`` (a process pool): the function must reach the worker
        pickled, so it goes unwrapped and the job is only seen to start and end.
        The callable returns what ``func`` does, or None for a job dropped at Stop
        (whose future is cancelled already).
        """
        job = Job(
            next(self._job_ids), job_name(func, args), self._scheduler.current_task_id, RUN_ID.get()
        )
        self.jobs[job.id] = job
        self._busy(job, True)
        if not in_thread:
            job.thread = PROCESS_POOL
        self._job_event(job, "submitted")
        if not in_thread:
            return job, func

        def call(*call_args: *_Ts) -> _T | None:
            with job.lock:
                if job.abandoned:
                    return None  # its awaiter is gone and Stop dropped it: never start
                job.started = True
            self._tell(self._job_running, job, threading.current_thread().name)
            try:
                result = func(*call_args)
            except BaseException as exc:
                self._tell(self._job_ended, job, "failed", f"{type(exc).__name__}: {exc}")
                raise
            self._tell(self._job_ended, job, "done", short_repr(result, 60))
            return result

        return job, call

    def _tell(self, callback: Callable, *args) -> None:
        """From a worker thread: have the loop thread run ``callback(*args)``.

        Messages queue in an inbox and one ``call_soon_threadsafe`` drains them
        all, so a burst of short jobs costs one wake-up of the loop, not two each.
        """
        with self._inbox_lock:
            self._inbox.append((callback, args))
            if self._drain_pending:
                return
            self._drain_pending = True
        # RuntimeError: the loop closed while the thread worked; nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._inbox_lock:
            messages = list(self._inbox)
            self._inbox.clear()
            self._drain_pending = False
        for callback, args in messages:
            callback(*args)

    def track(self, job: Job, future: asyncio.Future) -> None:
        future.add_done_callback(functools.partial(self._awaiter_done, job))

    def _awaiter_done(self, job: Job, future: asyncio.Future) -> None:
        if job.thread == PROCESS_POOL and not job.ended:
            # No wrapper reports from a worker process: the future is all we see.
            if future.cancelled():
                outcome, detail = "cancelled", ""
            elif future.exception() is not None:
                error = future.exception()
                outcome, detail = "failed", f"{type(error).__name__}: {error}"
            else:
                outcome, detail = "done", short_repr(future.result(), 60)
            self._job_ended(job, outcome, detail)
            return
        if not future.cancelled() or job.ended:
            return
        with job.lock:
            started = job.started
            job.abandoned = not started
        if started:
            self._job_event(job, "abandoned")
        else:
            self._job_event(job, "cancelled")
            self._settle(job)

    def _job_running(self, job: Job, thread: str) -> None:
        job.thread = thread
        self._job_event(job, "running")

    def _job_ended(self, job: Job, outcome: str, detail: str) -> None:
        job.ended = True
        job.outcome = outcome
        job.detail = detail
        self._job_event(job, outcome)
        self._settle(job)

    def _settle(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
        self._busy(job, False)
        if job.thread_done is not None and not job.thread_done.done():
            job.thread_done.set_result(None)

    def _busy(self, job: Job, busy: bool) -> None:
        # A busy thread means real time must pass: no autojump past its timers.
        if busy != job.busy:
            job.busy = busy
            self.loop._external_jobs += 1 if busy else -1

    def _job_event(self, job: Job, state: str) -> None:
        self._emit(
            ExecutorJob(
                self._now(), job.id, job.function, state, job.thread, job.task, job.run, job.detail
            )
        )

    # -- subprocesses -------------------------------------------------------------------
    def watch_process(self, protocol, args, shell: bool) -> asyncio.SubprocessProtocol:
        record = ProcessRecord(
            next(self._proc_ids),
            command_text(args, shell),
            self._scheduler.current_task_id,
            RUN_ID.get(),
            self.loop,
        )
        return _ProcessWatch(protocol, self, record)

    def _process_started(self, record: ProcessRecord, transport) -> None:
        record.transport = transport
        record.pid = transport.get_pid() or 0
        self.processes[record.id] = record
        self.loop._external_jobs += 1
        self._process_event(record, "running", None)

    def _process_exited(self, record: ProcessRecord) -> None:
        if record.exited.done():
            return
        code = record.transport.get_returncode() if record.transport is not None else None
        record.exited.set_result(code)
        if self.processes.pop(record.id, None) is not None:  # it was announced as running
            self.loop._external_jobs -= 1
            self._process_event(record, "exited", code)

    def _process_event(self, record: ProcessRecord, state: str, code: int | None) -> None:
        self._emit(
            Subprocess(
                self._now(),
                record.id,
                record.pid,
                record.command,
                state,
                code,
                record.task,
                record.run,
            )
        )

    # -- Stop -----------------------------------------------------------------------------
    async def reap(self, run_id: int, grace: float = 2.0) -> list[str]:
        """Terminate children and join threads that run ``run_id`` left; report each."""
        reports: list[str] = []
        children = [r for r in self.processes.values() if r.run == run_id]
        for record in children:
            reports.append(await self._stop_child(record, grace))
        # A process pool's jobs are its own to cancel or finish; we only watch them.
        jobs = [j for j in list(self.jobs.values()) if j.run == run_id and j.thread != PROCESS_POOL]
        for job in jobs:
            with job.lock:
                queued = not job.started
                job.abandoned = job.abandoned or queued
            if queued:
                self._job_event(job, "cancelled")
                self._settle(job)
                reports.append(f"dropped {job.function}: it was still queued for a thread")
        running = [j for j in jobs if not j.ended and j.started]
        if running:
            loop = self.loop
            started = loop.time()
            for job in running:
                job.thread_done = loop.create_future()
            await asyncio.wait(
                [j.thread_done for j in running if j.thread_done is not None], timeout=grace
            )
            for job in running:
                name = job.thread or "a worker thread"
                if job.ended:
                    waited = loop.time() - started
                    reports.append(f"joined {name}: waited {waited:.2f} s for {job.function}")
                else:
                    reports.append(
                        f"{job.function} still runs in {name} after {grace:g} s; "
                        "threads cannot be stopped, it will finish in the background"
                    )
        taps = getattr(self.loop, "io_taps", None)
        for server, label in taps.open_servers(run_id) if taps is not None else ():
            server.close()
            reports.append(f"stopped {label}, left open at Stop")
        for transport, channel in taps.open_transports(run_id) if taps is not None else ():
            transport.close()
            reports.append(f"closed {channel.label}, left open at Stop")
        for text in reports:
            self._emit(SessionEvent(self._now(), "stopping", f"■ {text}"))
        return reports

    async def _stop_child(self, record: ProcessRecord, grace: float) -> str:
        # Set when the child started, before it was counted in self.processes.
        transport = cast(asyncio.SubprocessTransport, record.transport)
        what = f"pid {record.pid} ({_short(record.command)})"
        how = "terminated"
        with contextlib.suppress(ProcessLookupError):
            transport.terminate()
        try:
            await asyncio.wait_for(asyncio.shield(record.exited), grace / 2)
        except TimeoutError:
            how = "killed"
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            try:
                await asyncio.wait_for(asyncio.shield(record.exited), grace / 2)
            except TimeoutError:
                transport.close()
                return f"could not stop {what}: it ignored SIGTERM and SIGKILL"
        transport.close()  # release its pipes; the run that owned it is gone
        return f"{how} {what}, left running at Stop: exit code {record.exited.result()}"


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
