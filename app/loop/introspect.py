"""Reading a suspended task: where each level of its await chain is parked.

A task's coroutine may await another coroutine (``await compute(x, y)``), which
may await a future; generator-based coroutines nest with ``yield from``. Walking
``cr_await`` / ``gi_yieldfrom`` gives every level, outermost first.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from types import CodeType, CoroutineType, FunctionType, GeneratorType
from typing import Any, Literal

from coroscope.loop.events import Frame

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)
_MAX_DEPTH = 32
# Types found to end an await chain (no ``cr_code``), so the next walk stops at
# them at once: a failed attribute lookup costs more than the rest of the walk.
_leaves: set[type] = set()


# Code object -> its line-0 record if it is library code (asyncio's own levels are
# shown without a line), else False: one lookup per level of each walk.
_library_code: dict[CodeType, Frame | Literal[False]] = {}


def _library_record(code: CodeType) -> Frame | Literal[False]:
    known = _library_code.get(code)
    if known is None:
        library = is_library_file(code.co_filename)
        known = _library_code[code] = _frame_record(code, 0) if library else False
    return known


_records: dict[CodeType, dict[int, Frame]] = {}
_parked_at: dict[CodeType, dict[int, Frame]] = {}  # code -> instruction offset -> record


def _frame_record(code: CodeType, line: int) -> Frame:
    """One shared (file, line, qualname) tuple per code line, instead of one per step."""
    lines = _records.get(code)
    if lines is None:
        lines = _records[code] = {}
    record = lines.get(line)
    if record is None:
        record = lines[line] = (code.co_filename, line, code.co_qualname)
    return record


def await_frames(coro: Any) -> tuple[Frame, ...]:
    """(file, line, qualname) for each level of the await chain, outermost first.

    ``coro`` is any object (``Any``: the walk dispatches on ``type(coro)`` kept in a
    local, which mypy cannot narrow through).

    asyncio's own levels (``sleep``, ``Queue.get``...) get line 0: reading a
    line means materialising a frame object, and on Python 3.11 doing that for
    the short-lived coroutines inside asyncio roughly doubles the cost of a step.
    """
    frames: list[Frame] = []
    append = frames.append
    library_code = _library_code
    parked_at = _parked_at
    for _ in range(_MAX_DEPTH):
        # Dispatch on the exact type: a failed attribute lookup raising
        # AttributeError costs more than the whole walk.
        kind = type(coro)
        if kind is CoroutineType:
            code = coro.cr_code
            inner = coro.cr_await
        elif kind is GeneratorType:
            code = coro.gi_code
            inner = coro.gi_yieldfrom
        elif kind in _leaves:  # what a future's __await__ gives, at the bottom of most chains
            break
        else:
            code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
            if code is None:
                _leaves.add(kind)
                break
            inner = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        library = library_code.get(code)
        if library is None:
            library = _library_record(code)
        if library:
            append(library)
        else:
            if kind is CoroutineType:
                frame = coro.cr_frame
            elif kind is GeneratorType:
                frame = coro.gi_frame
            else:
                frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            # f_lineno searches the code's line table from its start, each time;
            # the instruction offset it is parked at is at hand and names the line.
            parked = parked_at.get(code)
            if parked is None:
                parked = parked_at[code] = {}
            offset = frame.f_lasti
            record = parked.get(offset)
            if record is None:
                record = parked[offset] = _frame_record(code, frame.f_lineno)
            append(record)
        if inner is None:
            break
        coro = inner
    return tuple(frames)


def awaited_futures(coro: object) -> list:
    """Futures an asyncio.wait() or TaskGroup deep in the chain is waiting for.

    Only called when a task parks inside an asyncio primitive, so reading the
    innermost library frame's locals here costs nothing on the hot path.
    """
    innermost = None
    for _ in range(_MAX_DEPTH):
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        if code is None:
            break
        innermost = coro
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        if coro is None:
            break
    frame = getattr(innermost, "cr_frame", None) or getattr(innermost, "gi_frame", None)
    if frame is None:
        return []
    local = frame.f_locals
    if "fs" in local:  # asyncio.wait / as_completed internals
        return list(local["fs"])
    owner = local.get("self")
    tasks = getattr(owner, "_tasks", None)  # a TaskGroup in __aexit__
    if isinstance(tasks, (set, list)):
        return list(tasks)
    return []


def _unwrapped(coro: object) -> object:
    """What a task really runs. Since Python 3.12, ``ensure_future`` of a
    generator-based coroutine (``@types.coroutine``) wraps it in asyncio's own
    ``_wrap_awaitable`` coroutine, which holds it as its ``awaitable`` argument."""
    code = getattr(coro, "cr_code", None)
    if code is None or code.co_name != "_wrap_awaitable":
        return coro
    frame = getattr(coro, "cr_frame", None)
    if frame is None or not code.co_filename.startswith(_ASYNCIO_DIR):
        return coro
    return frame.f_locals.get("awaitable", coro)


def creation_frames(coro: object) -> tuple[Frame, ...]:
    """Where a not-yet-started coroutine will begin (its def line)."""
    coro = _unwrapped(coro)
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is None:
        return ()
    return ((code.co_filename, code.co_firstlineno, code.co_qualname),)


def coro_name(coro: object) -> str:
    coro = _unwrapped(coro)
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    if code is not None:
        return code.co_qualname
    return type(coro).__name__


_library_files: dict[str, bool] = {}


def is_library_file(filename: str) -> bool:
    known = _library_files.get(filename)
    if known is None:
        known = _library_files[filename] = filename.startswith((_ASYNCIO_DIR, "<"))
    return known


def user_frame(frames: tuple[Frame, ...]) -> Frame | None:
    """The innermost level that is user code rather than asyncio internals."""
    for frame in reversed(frames):
        if not is_library_file(frame[0]):
            return frame
    return None


_FRIENDLY_WAITS = {
    "_wait": "asyncio.wait()",
    "wait": "asyncio.wait()",
    "TaskGroup.__aexit__": "TaskGroup",
    "TaskGroup._aexit": "TaskGroup",
    "wait_for": "wait_for()",
    "Timeout.__aexit__": "timeout()",
}


def library_wait(frames: tuple[Frame, ...]) -> str | None:
    """Name of the asyncio primitive a task is parked in (``Queue.get()``, ``Lock.acquire()``)."""
    for filename, _line, qualname in reversed(frames):
        if filename.startswith(_ASYNCIO_DIR):
            friendly = _FRIENDLY_WAITS.get(qualname)
            if friendly:
                return friendly
            return f"{qualname.lstrip('_')}()"
    return None


def describe_callback(callback: object) -> str:
    # Called for every timer: plain functions first, since probing them for
    # attributes they lack raises (and swallows) an AttributeError each time.
    if type(callback) is FunctionType:
        return callback.__qualname__
    func = getattr(callback, "func", None)  # functools.partial
    if func is not None:
        return f"partial({describe_callback(func)})"
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return f"step {owner.get_name()}"
    name = getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None)
    if name:
        return name
    return type(callback).__name__


def short_name(qualname: str) -> str:
    """``main.<locals>.say`` reads as ``say``: the enclosing function is noise in a list."""
    return qualname.rsplit("<locals>.", 1)[-1]


def brief_arg(value: object, limit: int = 24) -> str:
    """An argument in a few characters, at a cost that never grows with its size.

    Called while scheduling, so no full ``repr`` of a big list or of a Future (whose
    repr walks its callbacks): plain values are shown, anything else by type.
    """
    if isinstance(value, (str, bytes)):
        text = repr(value[:limit])
        return text if len(value) <= limit else text[:-1] + "…" + text[-1]
    if value is None or isinstance(value, (bool, int, float)):
        return short_repr(value, limit)
    return f"<{type(value).__name__}>"


def describe_args(args: Sequence[Any], limit: int = 48, each: int = 24) -> str:
    """A callback's arguments as they would be written in a call, cut to ``limit``."""
    if not args:
        return ""
    text = ", ".join(brief_arg(a, each) for a in args[:4])
    if len(args) > 4:
        text += ", …"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_repr(value: object, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a user's __repr__ may raise; never let that reach the loop
        text = f"<unreprable {type(value).__name__}: {type(exc).__name__}>"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def function_code(coro: object) -> CodeType | None:
    return getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
