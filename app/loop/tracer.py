"""Turns what the scheduler runs into events.

The scheduler calls ``run_handle`` for every ready callback. A callback whose
``__self__`` is a Task is a task step (both ``Task.__step`` and the wake-up after
a future completes); everything else is a plain callback. A step is timed and,
once it returns, the task is read: finished (``TaskEnded``) or parked on
something (``TaskStep`` with what it awaits and where).

Tasks get small sequential ids here; the id is what events, models and the trace
file use, so nothing outside holds on to Task objects. The tracer holds them only
weakly, as asyncio does: a task the program drops is collected just as it would
be under ``python``, and asyncio's own "Task was destroyed but it is pending!"
(or "Task exception was never retrieved") is heard as a ``PythonWarned``.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
import weakref
from asyncio import base_events
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import Context
from time import perf_counter

from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import (
    DEFAULT_BLOCK_THRESHOLD,
    EventLog,
    Frame,
    LeftRunning,
    LoopBlocked,
    Output,
    PythonWarned,
    TaskCreated,
    TaskEnded,
    TaskRenamed,
    TaskStep,
)
from coroscope.loop.introspect import (
    await_frames,
    awaited_futures,
    coro_name,
    creation_frames,
    describe_callback,
    is_library_file,
    library_wait,
    short_name,
    short_repr,
    user_frame,
)
from coroscope.loop.scheduler import RUN_ID, SLEEP_CALLBACK, Scheduler
from coroscope.loop.states import Ending, Warned

_Task = asyncio.Task
_format_handle = base_events._format_handle  # type: ignore[attr-defined]
# Asked for every timer scheduled (which task set it): bound once, not looked up.
_get_running_loop = asyncio.events._get_running_loop
_current_task = asyncio.current_task
_new_tuple = tuple.__new__


class TaskInfo:
    __slots__ = ("created", "fresh", "id", "name", "parent", "ref", "run")

    def __init__(
        self,
        task_id: int,
        name: str,
        parent: int | None,
        run: int | None,
        created: float,
        task: asyncio.Task,
    ):
        self.id = task_id
        self.name = name
        self.parent = parent
        self.run = run
        self.created = created
        self.fresh = True  # not stepped yet
        self.ref = weakref.ref(task)


# What asyncio says, from Task.__del__, about a task the garbage collector took.
_PYTHON_SAYS: dict[str, tuple[Warned, str]] = {
    "Task was destroyed but it is pending!": ("destroyed pending", "task"),
    "Task exception was never retrieved": ("never retrieved", "future"),
}
# Failed tasks remembered until asyncio says whether anyone asked for their exception.
_MAX_FAILED = 2000


def exception_place(error: BaseException | None) -> tuple[str, int]:
    """The innermost line of the program's own code the exception passed through
    (else the innermost line of any code), or ("", 0)."""
    place = ("", 0)
    own = False
    for frame in traceback.extract_tb(error.__traceback__) if error is not None else ():
        library = is_library_file(frame.filename)
        if not library or not own:
            place = (frame.filename, frame.lineno or 0)
            own = own or not library
    return place


# "sleep(0.01)" for each sleeping step, by the sleep's length in microseconds
# (formatting the float for every step cost a traced timer wake-up about 1.5%).
_SLEEP_LABELS: dict[int, str] = {}


def _sleep_label(duration: float) -> str:
    key = int(duration * 1e6 + 0.5)
    label = _SLEEP_LABELS.get(key)
    if label is None:
        if len(_SLEEP_LABELS) > 4096:  # a run of ever-different sleeps: start afresh
            _SLEEP_LABELS.clear()
        label = _SLEEP_LABELS[key] = f"sleep({duration:.3g})"
    return label


def _report_failed_callback(handle: asyncio.Handle, exc: BaseException) -> None:
    # As handle._run() reports a callback that raised, for the loop's exception handler.
    handle._loop.call_exception_handler(  # type: ignore[attr-defined]
        {
            "message": f"Exception in callback {describe_callback(handle._callback)}",  # type: ignore[attr-defined]
            "exception": exc,
            "handle": handle,
        }
    )


class Tracer:
    def __init__(
        self,
        log: EventLog,
        clock: VirtualClock,
        scheduler: Scheduler,
        block_threshold: float = DEFAULT_BLOCK_THRESHOLD,
    ) -> None:
        self.log = log
        self.clock = clock
        self.scheduler = scheduler
        self.block_threshold = block_threshold
        # In-process, sys.exit() or Ctrl+C in a run's task ends only that task (not
        # the app); a script's own process lets them stop the loop, as asyncio does.
        self.contain_exits = True
        # id(task) -> its info; the info's weak reference tells a reused id apart.
        self._tasks: dict[int, TaskInfo] = {}
        # The same infos of tasks that are not parked (new, or queued again after
        # a bare yield), by the task itself: what each step looks up, without
        # making an int of id(task) every time. The ready queue holds these tasks
        # anyway, so holding them here too keeps none alive that Python would
        # collect; a task leaves when it parks on something or ends.
        self._unparked: dict[asyncio.Task, TaskInfo] = {}
        # Failed tasks of a run, by id(task), until collected or the run is over.
        self._failed: dict[int, TaskInfo] = {}
        # Task ids; the script agent gives every loop of a program one counter,
        # so ids stay unique across the program's loops.
        self.ids: Iterator[int] = itertools.count(1)
        # Tasks are announced after the step that created them, because
        # create_task and TaskGroup only name a task once it exists.
        self._unannounced: list[asyncio.Task] = []
        # Called once per announced task with (task, info), e.g. so a run can
        # remember how to start a finished task again.
        self.on_task_created: Callable[[asyncio.Task, TaskInfo], None] | None = None
        # The watchdog's last look at a long step: (the step's step_started_wall,
        # file, line it was running, share of the time the thread ran or wanted
        # to: -1 if not measured, and why the step is not the program's doing:
        # "", "import" or "machine busy").
        self.sampled: tuple[float, str, int, float, str] | None = None
        # The step_started_wall of a step that ran a script's top-level code: under
        # python that runs before any loop exists, so it blocks no loop of the
        # program's (the script runtime marks it).
        self.top_level_step: float | None = None
        self.step_started_wall: float | None = None
        scheduler.whose_step = self.current_task_id

    def current_task_id(self) -> int | None:
        """The id of the task whose step runs on this thread now (None in a plain
        callback, between steps, or on another thread)."""
        loop = _get_running_loop()
        if loop is None:
            return None
        task = _current_task(loop)
        if task is None:
            return None
        info = self._unparked.get(task) or self.info(task)
        return info.id if info is not None else None

    # -- tasks ------------------------------------------------------------
    def task_created(self, task: asyncio.Task, context: Context | None = None) -> TaskInfo:
        # A task belongs to the run of the context it will run in.
        run = context.get(RUN_ID) if context is not None else RUN_ID.get()
        parent = self.current_task_id()
        info = TaskInfo(next(self.ids), task.get_name(), parent, run, self.clock.now(), task)
        self._tasks[id(task)] = info
        if isinstance(task, _Task):  # the steps run_batch traces (and unparks)
            self._unparked[task] = info
        self._unannounced.append(task)
        return info

    def announce(self) -> None:
        """Emit ``TaskCreated`` for tasks created since the last call."""
        pending = self._unannounced[:]
        self._unannounced.clear()  # the same list: run_batch holds on to it
        for task in pending:
            info = self.info(task)
            if info is None:
                continue
            info.name = task.get_name()
            coro = task.get_coro()
            self.log.emit(
                TaskCreated(
                    info.created,
                    info.id,
                    info.name,
                    info.parent,
                    coro_name(coro),
                    creation_frames(coro),
                    info.run,
                )
            )
            if self.on_task_created is not None:
                self.on_task_created(task, info)

    def info(self, task: asyncio.Task) -> TaskInfo | None:
        info = self._tasks.get(id(task))
        return info if info is not None and info.ref() is task else None

    def task_by_id(self, task_id: int) -> asyncio.Task | None:
        for info in self._tasks.values():
            if info.id == task_id:
                return info.ref()
        return None

    def live_frames(self, task_id: int) -> tuple:
        task = self.task_by_id(task_id)
        if task is None or task.done():
            return ()
        return await_frames(task.get_coro())

    def live_tasks(self) -> dict[asyncio.Task, TaskInfo]:
        found = {}
        for info in self._tasks.values():
            task = info.ref()
            if task is not None:
                found[task] = info
        return found

    # -- running ----------------------------------------------------------
    def run_batch(self, ready: deque, count: int, deadline: float) -> int:
        """Run up to ``count`` handles from ``ready``, tracing each; the scheduler's
        inner loop when tracing. Returns how many ran (cancelled ones are skipped).

        This is the hot path of a traced loop, run once per task step, so it is one
        function with everything it reads hoisted out of the loop: each call or
        attribute lookup per step costs a noticeable share of asyncio's own step.
        """
        unparked = self._unparked
        unparked_get = unparked.get
        clock = self.clock
        log = self.log
        append = log._append
        pack = log.pack_ready_step
        listeners = log._subscriptions  # the same list as subscriptions change
        pend = log._pending.append
        unannounced = self._unannounced
        sleeps_get = self.scheduler._sleeps.get  # the timer behind a sleep's future
        threshold = self.block_threshold
        loop = _get_running_loop()
        if loop is not None and loop.get_debug():  # asyncio's slow-callback warning too
            threshold = min(threshold, loop.slow_callback_duration)
        ran = 0
        # Listeners get this batch's events after it (see EventLog).
        with log.hold:
            if self._unannounced:  # tasks created outside a step, e.g. by the controller
                self.announce()
            # After a bare yield, one clock reading ends that step and starts the
            # next, so a step's wall time includes under a microsecond of the
            # tracer's work. After anything heavier the clock is read again, or the
            # next step would be charged for it (and look blocked to the watchdog).
            mark = perf_counter()
            frames: tuple[Frame, ...]  # (an annotation only: no code)
            try:
                for _ in range(count):
                    # Not a bound popleft in a local: Python 3.11 cannot specialize that call.
                    handle = ready.popleft()
                    if handle._cancelled:
                        continue
                    ran += 1
                    callback = handle._callback
                    if callback is SLEEP_CALLBACK:
                        # An asyncio.sleep() timer firing: a microsecond of asyncio's
                        # own code that wakes the sleeper. Not worth timing as a
                        # callback of its own; the sleeper's next step notes the wake.
                        try:
                            handle._context.run(callback, *handle._args)
                        except BaseException as exc:  # its future was already resolved
                            _report_failed_callback(handle, exc)
                        continue
                    task = getattr(callback, "__self__", None)
                    # The exact type first: an isinstance() call per callback adds up.
                    if type(task) is not _Task and not isinstance(task, _Task):
                        self._run_callback(handle)
                        mark = perf_counter()
                        if not ran & 31 and mark > deadline:
                            break
                        continue
                    info = unparked_get(task)
                    if info is None:
                        info = self.info(task)  # woken after waiting on something
                        if info is None:  # created before tracing began, or by a foreign factory
                            info = self.task_created(task)
                            self.announce()
                        unparked[task] = info
                        mark = perf_counter()
                    task_id = info.id
                    wall0 = self.step_started_wall = mark
                    args = handle._args
                    try:
                        # What handle._run() does, minus its Python frame. A step after
                        # a bare yield has no arguments, and passing none saves building
                        # an argument list and tuple (about 1,000 instructions a step).
                        if args:
                            handle._context.run(callback, *args)
                        else:
                            handle._context.run(callback)
                    except (SystemExit, KeyboardInterrupt) as exc:
                        # asyncio stores these in the task, then re-raises them out of
                        # the step to stop the loop. A run's task (sys.exit() in a
                        # script) must not end the app: it ends failed, its lane says why.
                        if info.run is None or not self.contain_exits:
                            self.step_started_wall = None
                            if task.done():  # failed with it, as asyncio leaves it
                                now = clock.now()
                                log.emit(TaskStep(now, task_id, now, 0.0, "done", "", None, ()))
                                self._ended(task, info, now)
                            raise
                        self._escaped(task_id, exc, info.name)
                    except BaseException as exc:  # a step of a finished task, say
                        _report_failed_callback(handle, exc)
                    mark = perf_counter()
                    self.step_started_wall = None
                    wall = mark - wall0
                    # clock.now() for the reading just taken (the clock cannot change
                    # speed or pause in the middle of a step). The step started
                    # ``wall * rate`` of loop time before it ended (worked out only
                    # where needed: the bare-yield record keeps the rate instead).
                    rate = clock._rate
                    end = clock._anchor_virtual + (mark - clock._anchor_real) * rate
                    if unannounced:
                        self.announce()
                        mark = perf_counter()
                    if info.fresh:
                        self._first_step(task, info, end)
                    if task.done():
                        frames = ()
                        started = end - wall * rate
                        log.emit(TaskStep(end, task_id, started, wall, "done", "", None, frames))
                        self._ended(task, info, end)
                        mark = perf_counter()
                    elif task._fut_waiter is None:  # type: ignore[attr-defined]
                        # A bare yield (sleep(0)): the task is queued again already and
                        # moves on at once, so skip the await-chain walk; a paused view
                        # asks ``live_frames`` instead. The commonest step of all, so
                        # the record is built and delivered without calls in between.
                        frames = ()
                        log._emitted += 1  # counted at once: a resting reader replays by count
                        append(pack(end, task_id, wall, rate))
                        if listeners:
                            started = end - wall * rate
                            pend(
                                _new_tuple(
                                    TaskStep,
                                    (end, task_id, started, wall, "ready", "", None, (), ()),
                                )
                            )
                    else:
                        del unparked[task]  # parked: only what it waits on holds it now
                        frames = await_frames(task.get_coro())
                        started = end - wall * rate
                        waiter = task._fut_waiter  # type: ignore[attr-defined]
                        timer = sleeps_get(id(waiter))
                        if timer is not None:  # in asyncio.sleep(): the commonest wait
                            waiting, due, targets = "sleep", timer.when, ()
                            awaiting = _sleep_label(timer.duration)
                        else:
                            waiting, awaiting, due, targets = self._waiting_on(task, waiter, frames)
                        step = (
                            end,
                            task_id,
                            started,
                            wall,
                            waiting,
                            awaiting,
                            due,
                            frames,
                            targets,
                        )
                        log.emit(_new_tuple(TaskStep, step))
                        mark = perf_counter()
                    if wall >= threshold:
                        if not frames and not task.done():
                            frames = await_frames(task.get_coro())
                        self._slow(handle, task_id, info.name, wall, frames, wall0)
                        mark = perf_counter()
                    if not ran & 31 and mark > deadline:
                        break
            finally:
                self.step_started_wall = None
        return ran

    def _first_step(self, task: asyncio.Task, info: TaskInfo, now: float) -> None:
        info.fresh = False
        name = task.get_name()
        if name != info.name:  # renamed between creation and its first step
            info.name = name
            self.log.emit(TaskRenamed(now, info.id, name))

    def _run_callback(self, handle: asyncio.Handle) -> None:
        wall0 = self.step_started_wall = perf_counter()
        try:
            handle._run()
        except (SystemExit, KeyboardInterrupt) as exc:
            if handle._context.get(RUN_ID) is None or not self.contain_exits:  # type: ignore[attr-defined]
                raise
            self._escaped(None, exc, describe_callback(handle._callback))  # type: ignore[attr-defined]
        finally:
            self.step_started_wall = None
        wall = perf_counter() - wall0
        if self._unannounced:
            self.announce()
        threshold = self.block_threshold
        if handle._loop.get_debug():  # type: ignore[attr-defined]
            threshold = min(threshold, handle._loop.slow_callback_duration)  # type: ignore[attr-defined]
        if wall >= threshold:
            what = describe_callback(handle._callback)  # type: ignore[attr-defined]
            self._slow(handle, None, what, wall, None, wall0)

    def _slow(
        self,
        handle: asyncio.Handle,
        task_id: int | None,
        what: str,
        wall: float,
        frames,
        started: float,
    ) -> None:
        """A step or callback that took long: blocking, or slow to asyncio's debug mode."""
        loop = handle._loop  # type: ignore[attr-defined]
        if loop.get_debug() and wall >= loop.slow_callback_duration:
            # As asyncio's _run_once says it, in debug mode.
            base_events.logger.warning(  # type: ignore[attr-defined]
                "Executing %s took %.3f seconds", _format_handle(handle), wall
            )
        if wall >= self.block_threshold:
            self._blocked(task_id, what, wall, frames, started)

    def _waiting_on(self, task: asyncio.Task, waiter: object, frames) -> tuple:
        """(waiting kind, label, due time, awaited task ids) for a task parked on
        something other than a sleep (``run_batch`` tells those itself)."""
        if isinstance(waiter, asyncio.Task):
            other = self.info(waiter)
            return "task", other.name if other else waiter.get_name(), None, self._ids((waiter,))
        children = getattr(waiter, "_children", None)
        if children is not None:  # asyncio.gather's future
            return "future", f"gather({len(children)})", None, self._ids(children)
        primitive = library_wait(frames)
        if primitive is not None:
            awaited = awaited_futures(task.get_coro())
            return "future", primitive, None, self._ids(awaited)
        label = self.scheduler.future_label(waiter)
        return "future", label or "future", None, ()

    def _ids(self, futures) -> tuple[int, ...]:
        ids = []
        for future in futures:
            info = self.info(future) if isinstance(future, asyncio.Task) else None
            if info is not None:
                ids.append(info.id)
        return tuple(ids)

    def _ended(self, task: asyncio.Task, info: TaskInfo, now: float) -> None:
        self._tasks.pop(id(task), None)
        self._unparked.pop(task, None)
        state: Ending
        file, line = "", 0
        if task.cancelled():
            state, result, exc, tb = "cancelled", None, "CancelledError", None
        else:
            error = task._exception
            if error is None:
                state, result, exc, tb = "done", short_repr(task._result), None, None  # type: ignore[attr-defined]
            else:
                state, result = "failed", None
                exc = f"{type(error).__name__}: {error}"
                tb = "".join(traceback.format_exception(error))
                file, line = exception_place(error)
                if info.run is not None:
                    self._remember_failed(task, info)
        self.log.emit(TaskEnded(now, info.id, state, result, exc, tb, file, line))

    # -- what Python itself says -------------------------------------------------
    def _remember_failed(self, task: asyncio.Task, info: TaskInfo) -> None:
        if len(self._failed) >= _MAX_FAILED:  # forget the collected ones first
            for key in [k for k, v in self._failed.items() if v.ref() is None]:
                del self._failed[key]
            while len(self._failed) >= _MAX_FAILED:
                del self._failed[next(iter(self._failed))]
        self._failed[id(task)] = info

    def python_said(self, context: dict) -> PythonWarned | None:
        """The finding in what asyncio reports from ``Task.__del__`` about a task of a
        run, or None. Cheap and emits nothing: the garbage collector may be
        running in the middle of anything, even a model taking in an event."""
        said = _PYTHON_SAYS.get(context.get("message", ""))
        if said is None:
            return None
        kind, key = said
        task = context.get(key)
        if not isinstance(task, asyncio.Task):
            return None
        # A cyclic collection clears weak references before it runs __del__.
        table = self._tasks if kind == "destroyed pending" else self._failed
        info = table.get(id(task))
        if info is None or info.ref() not in (None, task):
            return None
        del table[id(task)]
        if info.run is None:
            return None
        if kind == "destroyed pending":
            frame = user_frame(await_frames(task.get_coro()))
            file, line = (frame[0], frame[1]) if frame else ("", 0)
        else:
            file, line = exception_place(task._exception)
        return PythonWarned(self.clock.now(), kind, info.id, file, line, context["message"])

    def unretrieved(self, run: int) -> list[PythonWarned]:
        """The failed tasks of ``run`` whose exception nobody has asked for: once a
        run is over, nobody will. Each is said once (asyncio may still say it
        again when it collects the task)."""
        found = []
        for key, info in list(self._failed.items()):
            task = info.ref()
            if info.run != run:
                continue
            del self._failed[key]
            if task is None or not task._log_traceback:
                continue
            if isinstance(task._exception, (SystemExit, KeyboardInterrupt)):
                continue  # how the program ended, which the program itself saw
            file, line = exception_place(task._exception)
            found.append(
                PythonWarned(
                    self.clock.now(),
                    "never retrieved",
                    info.id,
                    file,
                    line,
                    "Task exception was never retrieved",
                )
            )
        return found

    def program_over(self, run: int) -> None:
        """``run``'s program is over (its main task, or its runner, ended): say the
        failed tasks nobody asked about, and the tasks it left pending."""
        for heard in self.unretrieved(run):
            self.log.emit(heard)
        left = self.left_running(run)
        if left is not None:
            self.log.emit(left)

    def left_running(self, run: int, besides: asyncio.Task | None = None) -> LeftRunning | None:
        """The tasks of ``run`` still pending with no cancel asked for, once its
        program is over, or None if there are none."""
        ids = tuple(
            sorted(
                info.id
                for task, info in self.live_tasks().items()
                if info.run == run
                and task is not besides
                and not task.done()
                # (asyncio's wrappers of plain futures have no cancelling().)
                and not getattr(task, "cancelling", lambda: 0)()
            )
        )
        return LeftRunning(self.clock.now(), run, ids) if ids else None

    def never_awaited(self, coro: object, file: str, line: int) -> PythonWarned:
        """The finding for a coroutine collected before anything awaited it."""
        name = getattr(coro, "__qualname__", None) or type(coro).__name__
        return PythonWarned(
            self.clock.now(),
            "never awaited",
            self.current_task_id(),
            file,
            line,
            f"coroutine '{name}' was never awaited",
            short_name(name),
        )

    def _escaped(self, task_id: int | None, exc: BaseException, where: str) -> None:
        call = "sys.exit()" if isinstance(exc, SystemExit) else "KeyboardInterrupt"
        text = f"{call} in {where} ended only that {'task' if task_id else 'callback'}"
        self.log.emit(Output(self.clock.now(), task_id, text, "stderr"))

    def _blocked(self, task_id: int | None, what: str, wall: float, frames, started: float) -> None:
        sampled = self.sampled
        cpu, excuse = -1.0, ""
        if sampled is not None and sampled[0] == started:
            _started, file, line, cpu, excuse = sampled
        else:
            frame = user_frame(frames) if frames else None
            file, line = (frame[0], frame[1]) if frame else ("", 0)
        self.sampled = None
        if started == self.top_level_step:
            excuse = "top level"
        self.log.emit(LoopBlocked(self.clock.now(), task_id, what, wall, file, line, cpu, excuse))
