"""Running a loaded script's module body as a run's ``main`` coroutine.

``run_module`` executes the compiled (rewritten) module in a fresh ``__main__``
namespace, the way ``python script.py`` would, with ``__coroscope__`` bound to a
``ScriptRuntime`` that the rewritten ``asyncio.run`` / ``run_until_complete`` /
``get_event_loop`` calls reach (see ``coroscope.scripts.rewrite``). It also makes the
ways a script can end readable: a crash, ``sys.exit()``, ``input()`` with no
keyboard, or a module with nothing to run each leave a ``ScriptProblem`` on the
script and a line in the console. When the module body ends, tasks it left
running are cancelled, as they would be when ``python script.py`` exits.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import io
import sys
import sysconfig
import types
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coroscope.loop.events import SessionEvent
from coroscope.loop.scheduler import RUN_ID
from coroscope.scripts.problems import ScriptProblem, from_exception
from coroscope.scripts.watchdog import BlockingInterrupted

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import TypeGuard

    from coroscope.scripts.loader import Script

NO_STDIN_MESSAGE = "input() has nothing to read: Coroscope runs scripts without a keyboard (stdin)"


class StdinUnavailableError(EOFError):
    """input() or sys.stdin.read() in a script: there is no keyboard to read from."""


class NoStdin(io.TextIOBase):
    """Stands in for ``sys.stdin`` while a script runs, so input() fails at once
    with a clear message instead of freezing the window waiting on a terminal."""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        raise StdinUnavailableError(NO_STDIN_MESSAGE)

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise StdinUnavailableError(NO_STDIN_MESSAGE)

    def isatty(self) -> bool:
        return False


class ScriptLoop:
    """What ``asyncio.get_event_loop()`` gives a script: the running loop, except
    that ``close()`` is harmless and ``stop()`` ends the script's own
    ``run_forever()`` rather than the app. Everything else is the real loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._forever: asyncio.Future | None = None
        self._stop_requested = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    def __repr__(self) -> str:
        return f"<script view of {self._loop!r}>"

    def run_until_complete(self, future: Any) -> Any:
        if inspect.iscoroutine(future):
            future.close()
        raise RuntimeError(
            "This event loop is already running: loop.run_until_complete() can wait "
            "only at the top level of the script (or in a plain function it calls); "
            "inside a coroutine, use await"
        )

    def run_forever(self) -> None:
        raise RuntimeError(
            "This event loop is already running: call loop.run_forever() at the top level"
        )

    def stop(self) -> None:
        forever = self._forever
        if forever is not None and not forever.done():
            forever.set_result(None)
        else:
            self._stop_requested = True

    def close(self) -> None:
        """The app's loop outlives the script; closing it is not the script's call."""

    def wait_until_stopped(self) -> asyncio.Future:
        forever = self._loop.create_future()
        scheduler = getattr(self._loop, "scheduler", None)
        if scheduler is not None:
            scheduler.label_future(forever, "loop.run_forever()")
        if self._stop_requested:  # stop() before run_forever(): one pass, then return
            self._stop_requested = False
            self._loop.call_soon(_set_result, forever)
        self._forever = forever
        return forever


def _mark_top_level() -> None:
    """Tell the tracer that the step running now runs the script's top-level code."""
    tracer = getattr(asyncio.get_running_loop(), "tracer", None)
    if tracer is not None:
        tracer.top_level_step = tracer.step_started_wall


async def _after_top_level(awaitable: Any) -> Any:
    """What the script's asyncio.run() or run_until_complete() awaits: a step of its
    own for the top-level code before it (under python no loop runs that), then
    the program, then the top-level code after it, marked again."""
    await asyncio.sleep(0)
    try:
        result = await awaitable
    except asyncio.CancelledError:
        raise  # Stop: no top level runs on
    except BaseException:
        await asyncio.sleep(0)
        _mark_top_level()
        raise
    await asyncio.sleep(0)
    _mark_top_level()
    return result


def _set_result(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


async def _value(value: Any) -> Any:
    return value


class ScriptRuntime:
    """The ``__coroscope__`` object one run of a script talks to."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.script_loop = ScriptLoop(loop)

    def loop(self) -> ScriptLoop:
        return self.script_loop

    def set_event_loop(self, _loop: Any) -> None:
        """The script cannot swap the app's loop; its loop is the running one."""

    def run(self, coro: Any, *, debug: bool | None = None) -> Any:
        if not asyncio.iscoroutine(coro):
            raise ValueError(f"a coroutine was expected, got {coro!r}")
        return _after_top_level(coro)

    def run_nested(self, coro: Any, *, debug: bool | None = None) -> Any:
        if inspect.iscoroutine(coro):
            coro.close()  # no "coroutine was never awaited" warning on top of this error
        raise RuntimeError(
            "asyncio.run() cannot be called from a running event loop "
            "(here it is inside a function, class or lambda that Coroscope cannot await)"
        )

    def until_complete(self, loop: Any, awaitable: Any) -> Any:
        if not isinstance(loop, ScriptLoop | asyncio.AbstractEventLoop):
            return _value(loop.run_until_complete(awaitable))  # not a loop: call it as written
        if not inspect.isawaitable(awaitable):
            raise TypeError("An asyncio.Future, a coroutine or an awaitable is required")
        return _after_top_level(awaitable)

    def run_forever(self, loop: Any) -> asyncio.Future:
        target = loop if isinstance(loop, ScriptLoop) else self.script_loop
        return target.wait_until_stopped()


def _main_module(script: Script, runtime: ScriptRuntime) -> types.ModuleType:
    module = types.ModuleType("__main__")
    namespace = module.__dict__
    namespace.update(
        __file__=script.path,
        __builtins__=builtins,
        __cached__=None,
        __loader__=None,
        __spec__=None,
        __package__=None,
    )
    namespace["__coroscope__"] = runtime
    return module


_LIBRARY_DIRS = tuple(
    {p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_path(key))}
)


def _prepare_imports(directory: str) -> None:
    """Let the script import modules beside it, and see their latest edits.

    Sibling modules imported by an earlier run are dropped from ``sys.modules``
    so a Reload picks up changes to them too. Packages are left alone: their
    ``__file__`` lies one folder deeper, so Coroscope's own are never touched;
    so is a library folder (a script opened from the standard library must not
    make ``os`` or ``threading`` load twice).
    """
    if directory not in sys.path:
        sys.path.append(directory)
    if directory.startswith(_LIBRARY_DIRS):
        return
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and "." not in name and name != "__main__" and str(Path(file).parent) == directory:
            del sys.modules[name]


def _is_coroutine_function(function: Any) -> TypeGuard[Callable[..., Awaitable[Any]]]:
    """``async def``, or a generator marked with ``@types.coroutine``."""
    if inspect.iscoroutinefunction(function):
        return True
    code = getattr(function, "__code__", None)
    return code is not None and bool(code.co_flags & inspect.CO_ITERABLE_COROUTINE)


def _note(loop: asyncio.AbstractEventLoop, kind: str, text: str) -> None:
    events = getattr(loop, "events", None)
    if events is not None:
        events.emit(SessionEvent(loop.time(), kind, text))


def _exit_problem(script: Script, exc: SystemExit) -> ScriptProblem:
    code = exc.code
    shown = "" if code is None else repr(code)
    where = from_exception(exc, script.path, kind="info" if code in (None, 0) else "warning")
    at = f" at line {where.line}" if where.line else ""
    return ScriptProblem(
        script.path,
        f"SystemExit: sys.exit({shown})",
        where.line,
        where.column,
        where.end_column,
        where.source_line,
        where.kind,
        "",
        f"{script.name} called sys.exit({shown}){at}, so the script ended there. "
        "Coroscope keeps running.",
    )


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Cancel tasks of this run still going when the module body ended."""
    tracer = getattr(loop, "tracer", None)
    if tracer is None:
        return []
    run = RUN_ID.get()
    me = asyncio.current_task()
    left = tracer.left_running(run, besides=me) if run is not None else None
    if left is not None:
        loop.events.emit(left)  # type: ignore[attr-defined]
    names = []
    for task, info in tracer.live_tasks().items():
        if info.run == run and task is not me and not task.done():
            task.cancel()
            names.append(info.name)
    return names


async def run_module(script: Script) -> Any:
    """The ``main`` task of a script run: the module body, then its ``async def
    main()`` if the top level never starts asyncio itself."""
    loop = asyncio.get_running_loop()
    module = _main_module(script, ScriptRuntime(loop))
    namespace = module.__dict__
    _prepare_imports(str(Path(script.path).parent))
    script.begin_run()
    saved_stdin = sys.stdin
    sys.stdin = stdin = NoStdin()
    ended = True
    _mark_top_level()
    # As under python: pickle (a process pool's calls) finds the script's functions
    # as __main__.name.
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        body = eval(script.code, namespace)  # runs at once unless it awaits at top level
        if body is not None:
            await body
        if script.starts_loop:
            return None
        main = namespace.get("main")
        if _is_coroutine_function(main):
            await asyncio.sleep(0)  # main() in steps of its own, after the top level
            return await main()
        script.report(
            ScriptProblem(
                script.path,
                "no asyncio.run(...) and no async def main() to call",
                kind="info",
                headline=f"{script.name} ran to the end without starting asyncio.",
                hint="End the script with asyncio.run(main()), or define async def main().",
            )
        )
        _note(loop, "note", f"{script.name} ran to the end without starting asyncio")
        return None
    except SystemExit as exc:
        problem = _exit_problem(script, exc)
        script.report(problem)
        _note(loop, "note", problem.headline)
        return problem.title.removeprefix("SystemExit: ")
    except (asyncio.CancelledError, BlockingInterrupted):
        ended = False  # Stop, or the watchdog, which reports it itself
        raise
    except BaseException as exc:
        problem = from_exception(exc, script.path)
        at = f" at line {problem.line}" if problem.line else ""
        problem = _with_headline(problem, f"{script.name} stopped with an error{at}.")
        script.report(problem)
        _note(loop, "error", f"✖ {problem.headline} {problem.title}")
        if problem.hint:
            _note(loop, "note", f"Hint: {problem.hint}")
        # Hide this frame: the traceback should start in the script, as with python.
        if exc.__traceback__ is not None:
            exc.__traceback__ = exc.__traceback__.tb_next
        raise
    finally:
        if sys.stdin is stdin:
            sys.stdin = saved_stdin
        if sys.modules.get("__main__") is module:
            if saved_main is None:
                del sys.modules["__main__"]
            else:
                sys.modules["__main__"] = saved_main
        leftovers = _cancel_leftovers(loop)
        if leftovers and ended:
            shown = ", ".join(leftovers[:5]) + (", …" if len(leftovers) > 5 else "")
            _note(
                loop,
                "note",
                f"{script.name} ended; cancelling {len(leftovers)} task(s) it left running: "
                f"{shown}",
            )


def _with_headline(problem: ScriptProblem, headline: str) -> ScriptProblem:
    return replace(problem, headline=headline)
