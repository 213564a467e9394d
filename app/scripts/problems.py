"""What went wrong with a user's script, as something a person can read.

A ``ScriptProblem`` names the file, the line and the columns to underline, plus
a title ("SyntaxError: '(' was never closed") and, for mistakes learners make
often, a hint. The loader raises one for files it cannot run; the window makes one
when a script's process ended badly (``coroscope.host.remote.ended_badly``) and
while one of its steps holds its loop. ``ProblemModel`` holds the one the
problem banner shows, with a version the banner checks on its frame tick.

No Qt here: the CLI prints ``one_line()``, the app paints ``excerpt()``.
"""

from __future__ import annotations

import linecache
import traceback
from dataclasses import dataclass
from pathlib import Path

# Known mistakes, keyed by a fragment of the error text, with what to do instead.
_HINTS: tuple[tuple[str, str], ...] = (
    (
        "Passing coroutines is forbidden",
        "Since Python 3.11 asyncio.wait() needs tasks: wrap each coroutine in "
        "asyncio.create_task(...), or use asyncio.gather(...).",
    ),
    (
        "has no attribute 'coroutine'",
        "@asyncio.coroutine was removed in Python 3.11: write async def with await, "
        "or decorate the generator with @types.coroutine and keep yield from.",
    ),
    (
        "cannot be called from a running event loop",
        "asyncio.run() starts an event loop of its own, so it cannot run inside one that "
        "is already running: inside a coroutine, await the coroutine instead.",
    ),
    (
        "This event loop is already running",
        "A loop that is running cannot be run again from inside it: inside a coroutine, "
        "await instead of calling run_until_complete() or run_forever().",
    ),
    (
        "attempted relative import",
        "A script is not part of a package: import sibling modules by name (import helper).",
    ),
    (
        "'await' outside function",
        "Put the awaits in an async def main(), then end the script with asyncio.run(main()).",
    ),
    (
        "EOF when reading a line",
        "The window has no keyboard to give the script, so input() reads nothing: put the "
        "value in the script, or run it with python in a terminal to type it in.",
    ),
    (
        "No module named",
        "Install the module into the Python the script runs on (the active virtual "
        "environment's, or the one --python names), or put it next to the script.",
    ),
)


def hint_for(text: str) -> str:
    for fragment, hint in _HINTS:
        if fragment in text:
            return hint
    return ""


@dataclass(frozen=True)
class ScriptProblem:
    path: str
    title: str  # "SyntaxError: invalid syntax", "main blocked the loop for 2.0 s"
    line: int = 0  # 1-based; 0 when the problem has no line
    column: int = 0  # 1-based first column to underline; 0 underlines the whole line
    end_column: int = 0  # 1-based column after the underline
    source_line: str = ""
    kind: str = "error"  # "error" | "warning" | "info"
    hint: str = ""
    headline: str = ""  # a short sentence for the banner's first line

    @property
    def name(self) -> str:
        return Path(self.path).name if self.path else "script"

    def where(self) -> str:
        if not self.line:
            return self.name
        if self.column:
            return f"{self.name}:{self.line}:{self.column}"
        return f"{self.name}:{self.line}"

    def one_line(self) -> str:
        """One line for the command line: ``name:line:col: title``."""
        return f"{self.where()}: {self.title}"

    def caret(self) -> str:
        """Spaces and ``^`` marks under the part of ``source_line`` that is wrong."""
        text = self.source_line.rstrip("\n")
        if not text.strip():
            return ""
        indent = len(text) - len(text.lstrip())
        start = self.column - 1 if self.column else indent
        start = max(0, min(start, len(text)))
        end = self.end_column - 1 if self.end_column > self.column else len(text.rstrip())
        end = max(start + 1, min(end, max(len(text), start + 1)))
        # Keep tabs so the marks line up under tab-indented code.
        lead = "".join(ch if ch == "\t" else " " for ch in text[:start])
        return lead + "^" * (end - start)

    def excerpt(self) -> str:
        """The offending line with its number, and the caret line under it."""
        if not self.line or not self.source_line.strip():
            return ""
        number = f"{self.line} | "
        code = self.source_line.rstrip("\n")
        return f"{number}{code}\n{' ' * (len(number) - 2)}| {self.caret()}"

    def details(self) -> str:
        parts = [self.headline or self.one_line()]
        if self.line:
            parts.append(f"  File {self.path}, line {self.line}")
        excerpt = self.excerpt()
        if excerpt:
            parts.append("\n".join("    " + row for row in excerpt.splitlines()))
        if self.headline:
            parts.append(self.title)
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)


def source_line(path: str, line: int, source: str | None = None) -> str:
    if line <= 0:
        return ""
    if source is not None:
        lines = source.splitlines()
        return lines[line - 1] if line <= len(lines) else ""
    return linecache.getline(path, line)


def from_syntax_error(exc: SyntaxError, path: str, source: str | None = None) -> ScriptProblem:
    line = exc.lineno or 0
    text = source_line(path, line, source) if line else ""
    if not text and exc.text:
        text = exc.text
    column = exc.offset or 0
    end = getattr(exc, "end_offset", None) or 0
    if getattr(exc, "end_lineno", None) not in (None, line) or end <= column:
        end = column + 1 if column else 0  # no known end on this line: one caret, as Python
    title = f"{type(exc).__name__}: {exc.msg}"
    return ScriptProblem(
        path, title, line, column, end, text.rstrip("\n"), "error", hint_for(title)
    )


def from_exception(
    exc: BaseException, path: str, headline: str = "", kind: str = "error"
) -> ScriptProblem:
    """Point at the innermost line of ``path`` that the exception passed through."""
    title = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    spot = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == path:
            spot = frame
    if spot is None:
        return ScriptProblem(path, title, kind=kind, hint=hint_for(title), headline=headline)
    line = spot.lineno or 0
    text = source_line(path, line)
    column = end = 0
    if getattr(spot, "end_lineno", line) == line and spot.colno is not None:
        column = spot.colno + 1
        end = (spot.end_colno or 0) + 1
    return ScriptProblem(
        path, title, line, column, end, text.rstrip("\n"), kind, hint_for(title), headline
    )


def at_line(
    path: str, line: int, title: str, headline: str = "", hint: str = "", kind: str = "warning"
) -> ScriptProblem:
    """A problem that underlines a whole line (a blocking call, say)."""
    text = source_line(path, line).rstrip("\n")
    return ScriptProblem(path, title, line, 0, 0, text, kind, hint, headline)


class ProblemModel:
    """The problem the banner shows (one at a time: the newest wins)."""

    def __init__(self) -> None:
        self.current: ScriptProblem | None = None
        self.version = 0

    def show(self, problem: ScriptProblem) -> None:
        self.current = problem
        self.version += 1

    def clear(self) -> None:
        if self.current is not None:
            self.current = None
            self.version += 1
