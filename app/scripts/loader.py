"""Is a user's ``.py`` file something Python can run? One clear sentence if not.

``check_script`` looks at the file before a process is started for it: it
exists, is a ``.py`` file, not empty, not binary, not over ``MAX_SCRIPT_BYTES``,
and compiles (the syntax errors Python would stop at, with file, line and a
caret). Nothing of it runs here: the script runs unmodified in its own process
(``coroscope.host``), as ``python script.py`` runs it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

from coroscope.control.targets import UnknownTargetError
from coroscope.scripts.problems import ScriptProblem, from_syntax_error

MAX_SCRIPT_BYTES = 1_000_000


class ScriptError(UnknownTargetError):
    """A file Coroscope cannot run; ``str()`` is one line, ``problem`` has the caret."""

    def __init__(self, problem: ScriptProblem) -> None:
        super().__init__(problem.one_line())
        self.problem = problem


def _fail(path: str, title: str, **fields) -> ScriptError:
    return ScriptError(ScriptProblem(path, title, **fields))


def _read(path: Path, shown: str) -> str:
    if not path.exists():
        raise _fail(shown, f"no such file (looked for {path})")
    if path.is_dir():
        raise _fail(shown, "is a folder, not a Python script")
    if path.suffix.lower() != ".py":
        raise _fail(shown, "is not a Python script: Coroscope opens .py files")
    try:
        size = path.stat().st_size
        if size > MAX_SCRIPT_BYTES:
            raise _fail(
                shown,
                f"is too large to open ({size / 1e6:.1f} MB; "
                f"scripts can be up to {MAX_SCRIPT_BYTES / 1e6:g} MB)",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(shown, f"cannot be read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise _fail(shown, "is empty: there is no code to run")
    if b"\0" in data:
        raise _fail(shown, "is not a Python script: it contains binary data")
    try:
        return importlib.util.decode_source(data)
    except UnicodeDecodeError as exc:
        raise _fail(
            shown, f"is not a Python script: it is not UTF-8 text (byte {exc.start} is not)"
        ) from exc
    except SyntaxError as exc:  # a broken "# coding:" line
        raise _fail(shown, f"is not a Python script: {exc.msg}") from exc


def _compile(source: str, path: str) -> None:
    """Python's own verdict on the source: the errors of parsing and of compiling
    ('return' outside function, 'await' outside function) alike."""
    try:
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ScriptError(_headed(from_syntax_error(exc, path, source))) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _fail(path, "cannot be compiled: it is nested too deeply") from exc
    except SystemError:
        # CPython 3.11 keeps the parser's depth count in global state; if the
        # garbage collector runs code that parses too (traceback carets do), the
        # outer parse fails with "recursion depth mismatch". The next one is fine.
        compile(source, path, "exec", dont_inherit=True)
    if _only_comments(source):
        raise _fail(path, "has no code to run (only comments or blank lines)")


def _only_comments(source: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in source.splitlines())


def _headed(problem: ScriptProblem) -> ScriptProblem:
    return replace(problem, headline=f"{problem.name} is not valid Python: fix it, then Reload.")


def check_script(name: str | Path, syntax: bool = True) -> str:
    """The script's full path, once it is known to be a readable .py file (of
    valid Python, unless another interpreter will judge that); raises
    ``ScriptError`` with the reason. Nothing of it runs here."""
    shown = str(name)
    resolved = Path(name).expanduser().resolve()
    source = _read(resolved, shown)
    if syntax:
        _compile(source, str(resolved))
    return str(resolved)


def looks_like_script(name: str) -> bool:
    """What the command line takes for a script's path rather than a demo key: a
    name ending in .py, containing a path separator, or naming a file."""
    return name.endswith(".py") or "/" in name or "\\" in name or Path(name).is_file()
