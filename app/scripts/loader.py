"""A user's ``.py`` file -> a runnable ``Target``, or one clear sentence why not.

``load_script`` checks the file (exists, is a ``.py`` file, not empty, not binary,
not over ``MAX_SCRIPT_BYTES``, valid Python, its top-level imports findable),
rewrites its loop-driving calls into awaits (``coroscope.scripts.rewrite``) and compiles
it under its real path, so tracebacks, the code view's marks and the watchdog's
"blocked at line N" all point into the user's file. Each run executes the module
in a fresh ``__main__`` namespace (``coroscope.scripts.runtime.run_module``).

Opening a script runs it as Python on this machine, like ``python script.py``.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import linecache
import sys
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path

from coroscope import demos
from coroscope.control.run import Target
from coroscope.control.targets import UnknownTargetError, demo_target
from coroscope.scripts.problems import ScriptProblem, from_syntax_error, hint_for, source_line
from coroscope.scripts.rewrite import rewrite, top_level_await
from coroscope.scripts.runtime import run_module

MAX_SCRIPT_BYTES = 1_000_000


class ScriptError(UnknownTargetError):
    """A file Coroscope cannot run; ``str()`` is one line, ``problem`` has the caret."""

    def __init__(self, problem: ScriptProblem) -> None:
        super().__init__(problem.one_line())
        self.problem = problem


class Script:
    """A compiled script; calling it makes the coroutine of one run's ``main`` task."""

    def __init__(
        self, path: str, source: str, code, starts_loop: bool, converted: tuple[str, ...]
    ) -> None:
        self.path = path
        self.source = source
        self.code = code
        self.starts_loop = starts_loop
        self.converted = converted
        # What the latest run ended with (a crash, sys.exit()...), for the banner.
        self.outcome: ScriptProblem | None = None
        self.version = 0

    @property
    def name(self) -> str:
        return Path(self.path).name

    def __call__(self) -> Coroutine:
        return run_module(self)

    def begin_run(self) -> None:
        # A new run clears whatever the banner showed about the last one.
        self.outcome = None
        self.version += 1

    def report(self, problem: ScriptProblem) -> None:
        self.outcome = problem
        self.version += 1

    def target(self) -> Target:
        return Target(
            key=self.path,
            title=self.name,
            source_path=self.path,
            make_main=self,
            summary=f"Your script {self.path}, run as Python on this machine.",
        )


def script_of(target: Target | None) -> Script | None:
    """The ``Script`` behind a target, if it is a script rather than a demo."""
    make_main = getattr(target, "make_main", None)
    return make_main if isinstance(make_main, Script) else None


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


def _ast_parse(source: str, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except SystemError:
        # CPython 3.11 keeps the AST builder's depth count in global state; if the
        # garbage collector runs code that parses too (traceback carets do), the
        # outer parse fails with "recursion depth mismatch". The next one is fine.
        return ast.parse(source, filename=path)


def _parse(source: str, path: str) -> ast.Module:
    try:
        tree = _ast_parse(source, path)
    except SyntaxError as exc:
        raise ScriptError(_headed(from_syntax_error(exc, path, source))) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _fail(path, "cannot be compiled: it is nested too deeply") from exc
    if not tree.body:
        raise _fail(path, "has no code to run (only comments or blank lines)")
    node = top_level_await(tree)
    if node is not None:
        line = node.lineno
        raise ScriptError(
            _headed(
                ScriptProblem(
                    path,
                    "SyntaxError: 'await' outside function",
                    line,
                    node.col_offset + 1,
                    (node.end_col_offset or 0) + 1 if node.end_lineno == line else 0,
                    source_line(path, line, source),
                    hint="Put the awaits in an async def main(), then end the script with "
                    "asyncio.run(main()).",
                )
            )
        )
    return tree


def _headed(problem: ScriptProblem) -> ScriptProblem:
    return replace(problem, headline=f"{problem.name} is not valid Python: fix it, then Reload.")


def _findable(name: str, folder: str) -> bool:
    if name in sys.modules or importlib.machinery.PathFinder.find_spec(name, [folder]):
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return True  # cannot tell without importing it; let the run decide


def _check_imports(tree: ast.Module, path: str, source: str) -> None:
    """Report a missing module before running anything, as Python would on line N.

    Only unconditional top-level imports are checked: one inside ``try``/``if``
    may be optional (``try: import ujson except ImportError: ...``).
    """
    folder = str(Path(path).parent)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            title = "ImportError: attempted relative import with no known parent package"
            problem = ScriptProblem(
                path, title, node.lineno, 0, 0, source_line(path, node.lineno, source)
            )
            raise ScriptError(_missing(problem))
        spots: list[tuple[str, ast.alias | ast.ImportFrom]]
        if isinstance(node, ast.Import):
            spots = [(alias.name, alias) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            spots = [(node.module, node)]
        else:
            continue
        for name, spot in spots:
            top = name.split(".")[0]
            if _findable(top, folder):
                continue
            line = spot.lineno
            text = source_line(path, line, source)
            column = text.find(name, spot.col_offset) + 1 if name in text else 0
            title = f"ModuleNotFoundError: No module named '{top}'"
            problem = ScriptProblem(
                path,
                title,
                line,
                column,
                column + len(name) if column else 0,
                text,
                hint=hint_for(title),
            )
            raise ScriptError(_missing(problem))


def _missing(problem: ScriptProblem) -> ScriptProblem:
    return replace(
        problem,
        headline=f"{problem.name} imports a module that cannot be found (line {problem.line}).",
        hint=problem.hint or hint_for(problem.title),
    )


def load_script(name: str | Path) -> Script:
    """Read, check and compile a script; raises ``ScriptError`` with the reason."""
    shown = str(name)
    resolved = Path(name).expanduser().resolve()
    source = _read(resolved, shown)
    path = str(resolved)
    tree = _parse(source, path)
    _check_imports(tree, path, source)
    result = rewrite(tree, source)
    try:
        code = compile(
            result.tree, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )
    except SyntaxError as exc:  # found by the compiler: 'return' outside function...
        raise ScriptError(_headed(from_syntax_error(exc, path, source))) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _fail(path, "cannot be compiled: it is nested too deeply") from exc
    # Tracebacks show the source that was compiled, even if the file changes later.
    lines = source.splitlines(keepends=True)
    linecache.cache[path] = (len(source), None, lines, path)
    return Script(path, source, code, result.starts_loop, result.converted)


def check_script(name: str | Path, syntax: bool = True) -> str:
    """The script's full path, once it is known to be a readable .py file (of
    valid Python, unless another interpreter will judge that); raises
    ``ScriptError`` with the reason. Nothing of it runs here."""
    shown = str(name)
    resolved = Path(name).expanduser().resolve()
    source = _read(resolved, shown)
    if syntax:
        _parse(source, str(resolved))
    return str(resolved)


def looks_like_script(name: str) -> bool:
    """What ``resolve`` treats as a path rather than a demo key."""
    return name.endswith(".py") or "/" in name or "\\" in name or Path(name).is_file()


def resolve(name: str) -> Target:
    """What the command line's DEMO_OR_SCRIPT means: a demo key, or a path to a .py
    script (a name ending in .py, containing a path separator, or naming a file)."""
    if demos.find(name) is None and looks_like_script(name):
        return load_script(name).target()
    return demo_target(name)
