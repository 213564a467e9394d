"""Hearing Python say "coroutine ... was never awaited", as it says it.

When a coroutine object that never ran is collected (a forgotten ``await``),
CPython calls ``warnings._warn_unawaited_coroutine(coro)``, looking the function
up in the ``warnings`` module each time. ``listen()`` puts ``_heard`` there: it
tells the traced loop running on this thread, if any, where the coroutine was
dropped, then warns exactly as Python does (the same text, category, source and
location), so a program sees and prints the same warning with or without us.
"""

from __future__ import annotations

import asyncio
import contextlib
import linecache
import sys
import traceback
import warnings
from typing import Any

_python_warns: Any = None


def listen() -> None:
    """Start hearing unawaited coroutines (once per process; harmless to repeat)."""
    global _python_warns
    if _python_warns is not None:
        return
    original = getattr(warnings, "_warn_unawaited_coroutine", None)
    if original is None:  # an interpreter without the hook: nothing to hear
        return
    _python_warns = original
    warnings._warn_unawaited_coroutine = _heard  # type: ignore[attr-defined]


def _message(coro: Any) -> str:
    text = f"coroutine '{coro.__qualname__}' was never awaited"
    origin = getattr(coro, "cr_origin", None)
    if origin:  # the program turned on sys.set_coroutine_origin_tracking_depth()
        created = [(f, n, fn, linecache.getline(f, n)) for f, n, fn in reversed(origin)]
        text += "\nCoroutine created at (most recent call last)\n"
        text += "".join(traceback.format_list(created)).rstrip("\n")
    return text


def _heard(coro: Any) -> None:
    # The frame running when the last reference went: as a rule the line with the
    # call that made the coroutine (``asyncio.sleep(1)`` on a line of its own).
    try:
        frame = sys._getframe(1)
        file, line = frame.f_code.co_filename, frame.f_lineno
        del frame
    except ValueError:  # collected with no Python frame running (at interpreter exit)
        file, line = "", 0
    loop = asyncio.events._get_running_loop()
    tell = getattr(loop, "heard_unawaited", None)
    if tell is not None:
        with contextlib.suppress(Exception):  # hearing must never change what the program sees
            tell(coro, file, line)
    # Called from here, not from a helper, so that stacklevel=2 is the frame
    # Python itself would name: the one that dropped the coroutine.
    warnings.warn(_message(coro), RuntimeWarning, stacklevel=2, source=coro)
