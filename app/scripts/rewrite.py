"""Rewrite a script's loop-driving calls into awaits, keeping every line number.

A script written for ``python script.py`` drives the loop synchronously from its
top level: ``asyncio.run(main())``, or the tutorial's ``loop =
asyncio.get_event_loop(); loop.run_until_complete(...); loop.close()``. Coroscope's
loop is already running, so those calls would fail. Instead the module body runs
as the run's ``main`` coroutine (compiled with ``PyCF_ALLOW_TOP_LEVEL_AWAIT``) and:

* ``asyncio.run(X)`` becomes ``await __coroscope__.run(X)``;
* ``<loop>.run_until_complete(X)`` becomes ``await __coroscope__.until_complete(<loop>, X)``;
* ``<loop>.run_forever()`` becomes ``await __coroscope__.run_forever(<loop>)``;
* ``asyncio.get_event_loop()`` / ``new_event_loop()`` / ``get_running_loop()``
  anywhere become ``__coroscope__.loop()``, a stand-in whose ``close()`` and
  ``stop()`` cannot hurt the app's loop; ``asyncio.set_event_loop(...)`` is ignored;
* a plain module-level function that drives the loop (``def main(): ...
  loop.run_until_complete(...)``, then ``main()`` under the ``__main__`` guard)
  becomes ``async def``, and its calls from the top level (or from other such
  functions) are awaited.

Calls are awaited only where an ``await`` is legal: the top level and converted
functions. ``asyncio.run`` anywhere else goes to ``__coroscope__.run_nested``,
which explains the problem instead of failing obscurely.

Rewritten nodes take the location of the call they replace, so tracebacks, the
code view's marks and the watchdog's "blocked at line N" all match the file.
"""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

HELPER = "__coroscope__"

_LOOP_GETTERS = {"get_event_loop", "new_event_loop", "get_running_loop"}
_LOOP_METHODS = ("run_until_complete", "run_forever")
_ASYNCIO_FUNCS = _LOOP_GETTERS | {"run", "set_event_loop"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.GeneratorExp)


@dataclass
class Rewrite:
    tree: ast.Module
    starts_loop: bool  # the top level itself starts asyncio (else main() is called)
    converted: tuple[str, ...]  # plain functions turned into coroutines


class _Names:
    """How this script spells asyncio and its entry points (``import asyncio as aio``)."""

    def __init__(self, tree: ast.Module) -> None:
        self.modules: set[str] = set()
        self.functions: dict[str, str] = {}
        for node in _statements(tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "asyncio":
                        self.modules.add(alias.asname or "asyncio")
            elif isinstance(node, ast.ImportFrom) and node.module == "asyncio" and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        self.functions.update({name: name for name in _ASYNCIO_FUNCS})
                    elif alias.name in _ASYNCIO_FUNCS:
                        self.functions[alias.asname or alias.name] = alias.name

    def words(self) -> set[str]:
        """Text that must appear on a line for it to drive or fetch the loop."""
        return {f"{m}." for m in self.modules} | set(self.functions) | set(_LOOP_METHODS)

    def asyncio_function(self, call: ast.Call) -> str | None:
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in self.modules
            and func.attr in _ASYNCIO_FUNCS
        ):
            return func.attr
        if isinstance(func, ast.Name):
            return self.functions.get(func.id)
        return None


def _loop_method(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _LOOP_METHODS:
        return func.attr
    return None


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, however nested (expressions are not visited: much cheaper)."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                stack.extend(inner)
        for part in getattr(node, "handlers", ()) or getattr(node, "cases", ()):
            stack.extend(part.body)


class _Lines:
    """Which source lines mention any of some words, to skip the rest of a big file."""

    def __init__(self, lines: list[str], words: set[str]) -> None:
        self.hot = [n for n, text in enumerate(lines, 1) if any(w in text for w in words)]

    def touches(self, node: ast.stmt) -> bool:
        first = node.lineno
        last = getattr(node, "end_lineno", None) or first
        index = bisect_left(self.hot, first)
        return index < len(self.hot) and self.hot[index] <= last


def _own_nodes(body: list[ast.stmt]):
    """Nodes of ``body`` outside nested functions, lambdas and classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, _SCOPES):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _is_generator(func: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(func.body))


def _drives_loop(nodes, names: _Names, converted: set[str]) -> bool:
    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        if names.asyncio_function(node) == "run" or _loop_method(node):
            return True
        if isinstance(node.func, ast.Name) and node.func.id in converted:
            return True
    return False


def _functions_to_convert(tree: ast.Module, names: _Names, lines: list[str]) -> set[str]:
    """Module-level plain functions that drive the loop, directly or through each other."""
    candidates = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.decorator_list
    }
    words = names.words()
    converted: set[str] = set()
    changed = True
    while changed:
        changed = False
        hot = _Lines(lines, words | {f"{name}(" for name in converted})
        for name, node in candidates.items():
            if name in converted or not hot.touches(node):
                continue  # its text never mentions the loop: no need to read its tree
            if not _is_generator(node) and _drives_loop(_own_nodes(node.body), names, converted):
                converted.add(name)
                changed = True
    return converted


def top_level_await(tree: ast.Module) -> ast.expr | ast.stmt | None:
    """The first ``await`` / ``async for`` / ``async with`` outside any function."""
    for node in _own_nodes(tree.body):
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith):
            return node
        if isinstance(node, ast.comprehension) and node.is_async:
            return node.iter
    return None


class _Rewriter(ast.NodeTransformer):
    def __init__(self, names: _Names, converted: set[str], hot: _Lines) -> None:
        self.names = names
        self.converted = converted
        self.hot = hot
        self.can_await = True  # at the top level, or in a converted function
        self.top_level = True
        self.starts_loop = False

    def visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.stmt) and not self.hot.touches(node):
            return node  # nothing on its lines can be a call we rewrite
        return super().visit(node)

    # -- scopes -------------------------------------------------------------
    def _nested(self, node: ast.AST, can_await: bool) -> ast.AST:
        saved = self.can_await, self.top_level
        self.can_await, self.top_level = can_await, False
        try:
            return self.generic_visit(node)
        finally:
            self.can_await, self.top_level = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if self.top_level and node.name in self.converted:
            self._nested(node, True)
            # Same fields (3.12 adds type_params), only now a coroutine function.
            new = ast.AsyncFunctionDef(**{field: getattr(node, field) for field in node._fields})
            return ast.copy_location(new, node)
        return self._nested(node, False)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        return self._nested(node, False)

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return self._nested(node, False)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self._nested(node, False)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> ast.AST:
        return self._nested(node, False)

    # -- calls --------------------------------------------------------------
    def _helper(self, name: str, node: ast.Call, args: list[ast.expr]) -> ast.Call:
        helper = ast.copy_location(ast.Name(HELPER, ast.Load()), node)
        func = ast.copy_location(ast.Attribute(helper, name, ast.Load()), node)
        return ast.copy_location(ast.Call(func, args, node.keywords), node)

    def _awaited(self, call: ast.expr, like: ast.AST) -> ast.AST:
        if self.top_level:
            self.starts_loop = True
        return ast.copy_location(ast.Await(call), like)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = self.names.asyncio_function(node)
        if function in _LOOP_GETTERS:
            return ast.copy_location(self._helper("loop", node, []), node)
        if function == "set_event_loop":
            return ast.copy_location(self._helper("set_event_loop", node, node.args), node)
        if function == "run":
            if self.can_await:
                return self._awaited(self._helper("run", node, node.args), node)
            return ast.copy_location(self._helper("run_nested", node, node.args), node)
        method = _loop_method(node)
        if method and self.can_await:
            target = node.func.value  # type: ignore[attr-defined]
            helper = "until_complete" if method == "run_until_complete" else "run_forever"
            return self._awaited(self._helper(helper, node, [target, *node.args]), node)
        if self.can_await and isinstance(node.func, ast.Name) and node.func.id in self.converted:
            return self._awaited(node, node)
        return node


def rewrite(tree: ast.Module, source: str) -> Rewrite:
    lines = source.splitlines()
    names = _Names(tree)
    converted = _functions_to_convert(tree, names, lines)
    hot = _Lines(lines, names.words() | {f"{name}(" for name in converted})
    rewriter = _Rewriter(names, converted, hot)
    new_tree = cast(ast.Module, rewriter.visit(tree))  # a module stays a module
    return Rewrite(new_tree, rewriter.starts_loop, tuple(sorted(converted)))
