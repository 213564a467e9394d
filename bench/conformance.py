"""Run CPython's own asyncio tests on Coroscope's event loops and report per module.

    python bench/conformance.py                      # both loops, every module
    python bench/conformance.py --loop headless --module test_tasks --module test_locks
    python bench/conformance.py --python /root/.pyenv/versions/3.12.1/bin/python --loop headless
    python bench/conformance.py --json results.json  # also write every test's outcome
    python bench/conformance.py --report results.json --format markdown   # re-print a saved run

Each module runs in its own child process, with the Coroscope loop made the one the
default policy creates, and ``asyncio.SelectorEventLoop`` plus the test suite's
``TestCase.new_test_loop`` redirected to it. A test counts as "on loop" only if a
Coroscope loop was constructed while it ran; tests that only ever saw a test-only
loop (a mock, ``TestLoop`` with its fake clock, a bare ``BaseSelectorEventLoop``) are
counted apart as "off loop". A test that makes no progress for ``--test-timeout``
seconds is reported as hung (faulthandler kills the child and says where it was
stuck) and the module resumes after it in a fresh child.

This is a report, not a test: it exits 0 whatever the tests do.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.machinery
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

MODULES = [
    *(
        f"test.test_asyncio.{name}"
        for name in (
            "test_tasks",
            "test_futures",
            "test_locks",
            "test_queues",
            "test_timeouts",
            "test_waitfor",
            "test_taskgroups",
            "test_runners",
            "test_streams",
            "test_subprocess",
            "test_events",
            "test_base_events",
            "test_pep492",
            "test_context",
            "test_threads",
        )
    ),
    "test.test_asyncgen",
    "test.test_contextlib_async",
]
LOOPS = ("headless", "qt")
# A test ends as pass, skip, or one of these.
NOT_PASSING = ("fail", "error", "hung", "crash")

# Tests whose premise a Coroscope loop does not share, by test method: they are
# reported apart, with the reason, instead of as failures.
CANNOT_APPLY: dict[str, str] = {
    "test_stop_while_run_in_complete": (
        "checks how TestLoop moves its fake clock inside the iteration that stops "
        "(0.3 s, from the test's generator of select timeouts); autojump stops at 0.2 s"
    ),
    "test_issue46672": (
        "patches BaseEventLoop.call_exception_handler, which Coroscope's loops override "
        "to hear asyncio's own words about a task (they pass it on, but the patch is "
        "not what the loop's attribute is)"
    ),
}


def cannot_apply(test: dict[str, Any]) -> str:
    """Why ``test`` cannot apply to a Coroscope loop, if it failed for that reason."""
    if test["outcome"] not in NOT_PASSING:
        return ""
    return CANNOT_APPLY.get(test["id"].rsplit(".", 1)[-1], "")


START_MARK = "=== conformance: start "
REASON_WIDTH = 160


# ===================================================================================
# The child: one module on one loop, one record per line written to a file.
# ===================================================================================


@dataclasses.dataclass
class ChildSpec:
    module: str
    loop: str
    out: str
    skip: list[str]
    test_timeout: float
    repo: str | None
    redirect_test_loop: bool


class LoopCounter:
    """Counts loop constructions, so each test can be told which loops it really ran on."""

    def __init__(self) -> None:
        self.coroscope = 0
        self.any_loop = 0
        self.test_loop = 0  # of the Coroscope loops, those made for TestCase.new_test_loop
        self.on_test: Callable[[], None] = lambda: None


def import_coroscope_from(repo: Path) -> None:
    """Map ``coroscope`` onto ``repo``'s folders as pyproject's package-dir does.

    Needed under interpreters where coroscope is not installed (and to pin a run to
    a snapshot of the tree): ``app/`` is ``coroscope``, ``widgets/`` is
    ``coroscope.widgets`` and so on, so a plain sys.path entry cannot find them.
    """
    import tomllib

    with open(repo / "pyproject.toml", "rb") as file:
        package_dir: dict[str, str] = tomllib.load(file)["tool"]["setuptools"]["package-dir"]
    for name in sorted(package_dir, key=lambda n: n.count(".")):
        folder = repo / package_dir[name]
        init = folder / "__init__.py"
        if init.exists():
            spec = importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(folder)]
            )
        else:  # a PEP 420 namespace package, as coroscope itself is
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if spec.loader is not None:
            spec.loader.exec_module(module)
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


def loop_factory(kind: str) -> tuple[type, Callable[..., Any]]:
    """The Coroscope loop class for ``kind`` and a factory taking SelectorEventLoop's args."""
    import selectors

    if kind == "headless":
        from coroscope.loop.traced_loop import HeadlessLoop

        def make_headless(selector: Any = None, **tracing: Any) -> Any:
            if selector is None:
                return HeadlessLoop(**tracing)
            # HeadlessLoop takes no selector; hand the test's one to asyncio's
            # constructor through the default it falls back on.
            default = selectors.DefaultSelector
            selectors.DefaultSelector = lambda: selector  # type: ignore[assignment,misc]
            try:
                return HeadlessLoop(**tracing)
            finally:
                selectors.DefaultSelector = default  # type: ignore[misc]

        return HeadlessLoop, make_headless

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from coroscope.widgets.shell.qt_loop import TracingLoop

    def make_qt(selector: Any = None, **tracing: Any) -> Any:
        # qasync watches sockets with Qt notifiers, not a selector: a test's
        # choice of selector cannot apply, so the one it made is just closed.
        if selector is not None:
            selector.close()
        return TracingLoop(app, **tracing)

    return TracingLoop, make_qt


def count_constructions(loop_cls: type, counter: LoopCounter) -> None:
    import asyncio

    def wrap(cls: type, bump: Callable[[], None]) -> None:
        original = cls.__init__

        def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
            bump()
            original(self, *args, **kwargs)

        cls.__init__ = counted_init  # type: ignore[misc]

    def bump_coroscope() -> None:
        counter.coroscope += 1
        counter.on_test()

    def bump_any() -> None:
        counter.any_loop += 1

    wrap(loop_cls, bump_coroscope)
    wrap(asyncio.BaseEventLoop, bump_any)


class _RedirectedCall(type):
    """Metaclass: calling the class builds a Coroscope loop; isinstance still works."""

    factory: Callable[..., Any]
    real: type

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if "factory" not in cls.__dict__:  # a test's own subclass: build it as asked
            return super().__call__(*args, **kwargs)
        return cls.factory(*args, **kwargs)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.real)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.real)


def _standing_still() -> float:
    return 0.0


def install_redirects(
    make_loop: Callable[..., Any], redirect_test_loop: bool, counter: LoopCounter
) -> None:
    import asyncio
    from asyncio import unix_events

    real_policy = asyncio.DefaultEventLoopPolicy

    class CoroscopePolicy(real_policy):  # type: ignore[valid-type,misc]
        def new_event_loop(self) -> Any:
            return make_loop()

    # Modules reset the policy with set_event_loop_policy(None) in tearDownModule;
    # asyncio then builds ``asyncio.DefaultEventLoopPolicy()``, which is ours too.
    asyncio.DefaultEventLoopPolicy = CoroscopePolicy  # type: ignore[misc]
    unix_events.DefaultEventLoopPolicy = CoroscopePolicy  # type: ignore[misc]
    asyncio.set_event_loop_policy(CoroscopePolicy())

    # test_events' *EventLoopTests and test_base_events build SelectorEventLoop(...)
    # directly. BaseSelectorEventLoop() is left alone: test_base_events uses it
    # precisely because it has no native sendfile, which a Unix loop has.
    # A subclass, so code calling ``asyncio.SelectorEventLoop.__init__(self)`` by name
    # (qasync's own loop does) still reaches the real one.
    selector_loop = _RedirectedCall(
        "SelectorEventLoop",
        (asyncio.SelectorEventLoop,),
        {"factory": staticmethod(make_loop), "real": asyncio.SelectorEventLoop},
    )
    asyncio.SelectorEventLoop = selector_loop  # type: ignore[misc]
    unix_events.SelectorEventLoop = selector_loop  # type: ignore[misc]

    if redirect_test_loop:
        from test.test_asyncio import utils as test_utils

        def new_test_loop(self: Any, gen: Any = None) -> Any:
            # TestLoop's fake clock starts at 0 and moves only when the loop is idle,
            # straight to the next timer: a Coroscope clock whose real-time source
            # stands still, moved by autojump alone, is the same clock. The generator
            # (a white-box check of TestLoop's select timeouts) is dropped.
            from coroscope.loop.clock import VirtualClock

            counter.test_loop += 1
            clock = VirtualClock(source=_standing_still)
            loop = make_loop(autojump=True, clock=clock)
            loop.advance_time = clock.advance  # TestLoop's way to move it by hand
            self.set_event_loop(loop)
            return loop

        test_utils.TestCase.new_test_loop = new_test_loop


def iter_tests(suite: unittest.TestSuite | unittest.TestCase) -> Iterator[unittest.TestCase]:
    if isinstance(suite, unittest.TestSuite):
        for item in suite:
            yield from iter_tests(item)
    else:
        yield suite


def one_line(err: Any) -> str:
    exc_type, value, _tb = err
    lines = str(value).strip().splitlines()
    text = f"{exc_type.__name__}: {lines[0]}" if lines else exc_type.__name__
    return text[:REASON_WIDTH]


def where(err: Any) -> str:
    frames = traceback.extract_tb(err[2])
    if not frames:
        return ""
    last = frames[-1]
    in_test = next((f for f in reversed(frames) if "/test/" in f.filename), last)
    text = f"{Path(last.filename).name}:{last.lineno} {last.name}"
    if in_test is not last:
        text += f" (from {Path(in_test.filename).name}:{in_test.lineno} {in_test.name})"
    return text


class RecordingResult(unittest.TestResult):
    """Writes each test's outcome, and whether a Coroscope loop took part, as it ends."""

    def __init__(self, emit: Callable[..., None], counter: LoopCounter, timeout: float) -> None:
        super().__init__()
        self._emit = emit
        self._counter = counter
        self._timeout = timeout
        self._current: str | None = None
        self._outcome: dict[str, Any] = {}
        self._marks = (0, 0, 0)
        self._started = 0.0
        counter.on_test = self._loop_made

    def _loop_made(self) -> None:
        # Said at once (not at the end) so a test that then hangs still counts as on loop.
        if self._current is not None and self._counter.coroscope == self._marks[0] + 1:
            via = self._counter.test_loop > self._marks[2]
            self._emit(event="loop", id=self._current, via_test_loop=via)

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._current = test.id()
        self._outcome = {"outcome": "pass"}
        self._marks = (self._counter.coroscope, self._counter.any_loop, self._counter.test_loop)
        self._emit(event="start", id=self._current)
        # The marker lets the parent find this test's part of a faulthandler dump.
        print(f"{START_MARK}{self._current}", file=sys.__stderr__, flush=True)
        import faulthandler

        faulthandler.dump_traceback_later(self._timeout, exit=True, file=sys.__stderr__)
        self._started = time.monotonic()

    def stopTest(self, test: unittest.TestCase) -> None:
        import faulthandler

        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)
        coroscope = self._counter.coroscope - self._marks[0]
        others = self._counter.any_loop - self._marks[1] - coroscope
        self._emit(
            event="end",
            id=test.id(),
            coroscope_loops=coroscope,
            test_loops=self._counter.test_loop - self._marks[2],
            other_loops=others,
            seconds=round(time.monotonic() - self._started, 3),
            **self._outcome,
        )
        self._current = None

    def _set(self, test: Any, outcome: str, err: Any = None, reason: str = "") -> None:
        if not isinstance(test, unittest.TestCase) or test.id() != self._current:
            self._fixture(test, outcome, err, reason)
            return
        if self._outcome["outcome"] in NOT_PASSING:
            return  # keep the first cause (a later one is usually its consequence)
        self._outcome = {"outcome": outcome}
        if err is not None:
            self._outcome["reason"] = one_line(err)
            self._outcome["where"] = where(err)
            self._outcome["traceback"] = "".join(traceback.format_exception(*err))[-3000:]
        elif reason:
            self._outcome["reason"] = reason[:REASON_WIDTH]

    def _fixture(self, holder: Any, outcome: str, err: Any, reason: str) -> None:
        """setUpClass/setUpModule and friends fail outside any test: one record of their own."""
        self._emit(
            event="end",
            id=str(holder),
            coroscope_loops=int(self._counter.coroscope > self._marks[0]),
            other_loops=0,
            seconds=0.0,
            outcome=outcome,
            reason=one_line(err) if err is not None else reason[:REASON_WIDTH],
            where=where(err) if err is not None else "",
        )

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set(test, "fail", err)

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._set(test, "error", err)

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._set(test, "skip", reason=reason)

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, "fail", reason="unexpected success (the test is marked expectedFailure)")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._set(test, "fail" if failed else "error", err)


def child_main(spec: ChildSpec) -> None:
    out = open(spec.out, "a", buffering=1)  # noqa: SIM115 (kept open until os._exit)

    def emit(**record: Any) -> None:
        out.write(json.dumps(record) + "\n")
        out.flush()

    try:
        if spec.repo:
            import_coroscope_from(Path(spec.repo))
        loop_cls, make_loop = loop_factory(spec.loop)
    except Exception as exc:  # PySide6 or qasync missing, or coroscope broken
        emit(event="unavailable", reason=f"{type(exc).__name__}: {exc}"[:REASON_WIDTH])
        os._exit(0)
    if importlib.util.find_spec(spec.module) is None:
        emit(event="missing", reason=f"no module {spec.module} on this Python")
        os._exit(0)

    # A shell's background job starts with SIGINT ignored, and Python keeps that;
    # test_runners' interrupt tests then wait forever for a KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    counter = LoopCounter()
    count_constructions(loop_cls, counter)
    install_redirects(make_loop, spec.redirect_test_loop, counter)
    tests = list(iter_tests(unittest.defaultTestLoader.loadTestsFromName(spec.module)))
    if not spec.skip:
        emit(event="plan", ids=[test.id() for test in tests])
    skip = set(spec.skip)
    todo = unittest.TestSuite(test for test in tests if test.id() not in skip)
    todo.run(RecordingResult(emit, counter, spec.test_timeout))
    emit(event="done")
    # Skip interpreter teardown: a leftover thread or Qt object must not turn a
    # finished module into a hang or a crash.
    sys.stdout.flush()
    os._exit(0)


# ===================================================================================
# The parent: spawn, resume after hangs and crashes, tabulate.
# ===================================================================================


@dataclasses.dataclass
class ModuleRun:
    loop: str
    module: str
    status: str = "ran"  # ran | missing | unavailable | broken
    note: str = ""
    tests: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    planned: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    pending: str | None = None  # the test a child was in when it died

    def counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for test in self.tests.values():
            outcome = test["outcome"]
            if outcome == "skip":
                counts["skip"] += 1
            elif test.get("on_loop"):
                counts["on"] += 1
                counts["n/a" if cannot_apply(test) else outcome] += 1
                counts["via_test_loop"] += bool(test.get("test_loops"))
            else:
                counts["off"] += 1
                counts["off_bad"] += outcome in NOT_PASSING
        counts["tests"] = max(len(self.planned), len(self.tests))
        counts["not_run"] = len(set(self.planned) - set(self.tests))
        return dict(counts)


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):  # a line cut short by a kill
            records.append(json.loads(line))
    return records


def stuck_where(stderr: str, test_id: str) -> str:
    """The main thread's innermost frame (and the test's own) from faulthandler's dump."""
    section = stderr.rpartition(f"{START_MARK}{test_id}")[2]
    # The main thread's block is the last one faulthandler prints.
    blocks = re.split(r"^(?:Current thread|Thread) 0x[0-9a-f]+[^\n]*\n", section, flags=re.M)
    frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', blocks[-1] if blocks else "")
    if not frames:
        return ""
    name, line, func = frames[0]
    text = f"{Path(name).name}:{line} {func}"
    in_test = next((f for f in frames if "/test/" in f[0]), None)
    if in_test and in_test != frames[0]:
        text += f" (from {Path(in_test[0]).name}:{in_test[1]} {in_test[2]})"
    return text


def exit_reason(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


@dataclasses.dataclass
class Options:
    python: str
    test_timeout: float
    module_timeout: float
    repo: str | None
    redirect_test_loop: bool
    max_restarts: int = 25


def run_module(loop: str, module: str, opts: Options, work: Path) -> ModuleRun:
    run = ModuleRun(loop, module)
    slug = f"{loop}-{module}"
    out = work / f"{slug}.jsonl"
    started = time.monotonic()
    deadline = started + opts.module_timeout
    for attempt in range(opts.max_restarts + 1):
        spec = ChildSpec(
            module,
            loop,
            str(out),
            sorted(run.tests),
            opts.test_timeout,
            opts.repo,
            opts.redirect_test_loop,
        )
        spec_path = work / f"{slug}.spec.json"
        spec_path.write_text(json.dumps(dataclasses.asdict(spec)))
        stderr_path = work / f"{slug}.{attempt}.stderr"
        timed_out = False
        with open(stderr_path, "w") as err, open(os.devnull, "w") as null:
            child = subprocess.Popen(
                [opts.python, str(Path(__file__).resolve()), "--child", str(spec_path)],
                stdout=null,
                stderr=err,
                env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"},
                cwd=work,
            )
            try:
                code = child.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                code = child.wait()
                timed_out = True
        finished = take_records(run, read_records(out))
        if finished or run.status != "ran":
            break
        pending = run.pending
        stderr = stderr_path.read_text(errors="replace")
        if pending is None:
            # Died outside any test: import error, a class fixture, interpreter crash.
            tail = [line for line in stderr.strip().splitlines() if line][-1:]
            run.status = "broken"
            run.note = f"child died outside a test ({exit_reason(code)}): {' '.join(tail)}"[
                :REASON_WIDTH
            ]
            break
        record = run.tests.setdefault(pending, {"id": pending})
        if timed_out:
            record.update(outcome="hung", reason="module time budget ran out during this test")
        elif "Timeout (" in stderr.rpartition(f"{START_MARK}{pending}")[2]:
            record.update(
                outcome="hung",
                reason=f"no result after {opts.test_timeout:g} s; stuck in "
                + (stuck_where(stderr, pending) or "?"),
            )
        else:
            said = stderr.rpartition(f"{START_MARK}{pending}")[2].strip().splitlines()
            last = next((line.strip() for line in reversed(said) if line.strip()), "")
            record.update(
                outcome="crash",
                reason=f"the child process ended mid-test ({exit_reason(code)}); "
                + (f"its last words: {last}" if last else "nothing on stderr"),
            )
        if timed_out:
            run.note = f"module time budget ({opts.module_timeout:g} s) ran out"
            break
    else:
        run.note = f"gave up after {opts.max_restarts} restarts"
    run.seconds = round(time.monotonic() - started, 1)
    return run


def take_records(run: ModuleRun, records: list[dict[str, Any]]) -> bool:
    """Fold a child's records into ``run``; True if the child got to the end."""
    run.pending = None
    on_loop: dict[str, bool] = {}  # test id: whether its loop came from new_test_loop
    for record in records:
        event = record["event"]
        if event in ("unavailable", "missing"):
            run.status, run.note = event, record["reason"]
        elif event == "plan":
            run.planned = record["ids"]
        elif event == "start":
            run.pending = record["id"]
        elif event == "loop":
            on_loop[record["id"]] = record.get("via_test_loop", False)
        elif event == "end":
            test = {k: v for k, v in record.items() if k != "event"}
            test["on_loop"] = record["coroscope_loops"] > 0
            run.tests[record["id"]] = test
            run.pending = None
        elif event == "done":
            return True
    pending = run.pending
    if pending is not None:
        run.tests[pending] = {
            "id": pending,
            "on_loop": pending in on_loop,
            "test_loops": int(on_loop.get(pending, False)),
            "outcome": "hung",
        }
    return False


# -- reporting -------------------------------------------------------------------------

COLUMNS = [
    ("Module", "module"),
    ("Tests", "tests"),
    ("Skipped", "skip"),
    ("On loop", "on"),
    ("…via new_test_loop", "via_test_loop"),
    ("Pass", "pass"),
    ("Fail", "fail"),
    ("Error", "error"),
    ("Hung", "hung"),
    ("Crash", "crash"),
    ("Cannot apply", "n/a"),
    ("Off loop", "off"),
    ("Off, not passing", "off_bad"),
    ("Not run", "not_run"),
]


def table_rows(runs: list[ModuleRun]) -> list[list[str]]:
    rows = []
    totals: Counter[str] = Counter()
    for run in runs:
        name = run.module.removeprefix("test.test_asyncio.").removeprefix("test.")
        if run.status != "ran":
            rows.append([name, f"({run.status}: {run.note})"])
            continue
        counts = run.counts()
        totals.update(counts)
        rows.append([name, *(str(counts.get(key, 0)) for _, key in COLUMNS[1:])])
    rows.append(["total", *(str(totals.get(key, 0)) for _, key in COLUMNS[1:])])
    return rows


def render_table(runs: list[ModuleRun], fmt: str) -> str:
    header = [title for title, _ in COLUMNS]
    rows = table_rows(runs)
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            cells = row if len(row) > 2 else [row[0], row[1], *[""] * (len(header) - 2)]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)
    widths = [
        max(len(header[i]), *(len(r[i]) for r in rows if len(r) > 2)) for i in range(len(header))
    ]
    lines = [
        "  ".join(
            h.rjust(w) if i else h.ljust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for row in rows:
        if len(row) == 2:
            lines.append(f"{row[0].ljust(widths[0])}  {row[1]}")
        else:
            lines.append(
                "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    return "\n".join(lines)


def render_cannot_apply(runs: list[ModuleRun]) -> str:
    lines = []
    for run in runs:
        for test in run.tests.values():
            reason = cannot_apply(test)
            if reason:
                lines.append(f"  N/A   {test['id']}\n        {reason}")
    return "\n".join(lines) or "  (none)"


def render_failures(runs: list[ModuleRun]) -> str:
    lines = []
    for run in runs:
        for test in run.tests.values():
            if test["outcome"] not in NOT_PASSING or cannot_apply(test):
                continue
            where_ = f"  [{test['where']}]" if test.get("where") else ""
            off = " (off loop)" if not test.get("on_loop") else ""
            off += " (via new_test_loop)" if test.get("test_loops") else ""
            lines.append(
                f"  {test['outcome'].upper():5} {test['id']}{off}\n"
                f"        {test.get('reason', '')}{where_}"
            )
    return "\n".join(lines) or "  (none)"


def render(report: dict[str, Any], fmt: str) -> str:
    parts = [f"Python {report['python_version']} ({report['python']})"]
    by_loop: dict[str, list[ModuleRun]] = {}
    for raw in report["runs"]:
        run = ModuleRun(**{k: v for k, v in raw.items() if k in ModuleRun.__dataclass_fields__})
        by_loop.setdefault(run.loop, []).append(run)
    shown: dict[str, list[ModuleRun]] = {}
    for loop, runs in by_loop.items():
        if all(run.status == "unavailable" for run in runs):  # one line, not one per module
            parts.append(f"\n{loop} loop: unavailable on this Python ({runs[0].note})")
            continue
        parts += [f"\n{loop} loop:", render_table(runs, fmt)]
        shown[loop] = runs
    for loop, runs in shown.items():
        parts += [f"\n{loop} loop, tests not passing:", render_failures(runs)]
        parts += [f"\n{loop} loop, tests that cannot apply:", render_cannot_apply(runs)]
    return "\n".join(parts)


# -- command line --------------------------------------------------------------------


def python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def choose_repo(python: str, repo: str | None) -> str | None:
    """None if ``python`` imports coroscope itself, else the tree to map it from."""
    if repo:
        return str(Path(repo).resolve())
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('coroscope') is not None)"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # not the repo root, where folders could shadow
    )
    return None if probe.stdout.strip() == "True" else str(ROOT)


def full_name(name: str) -> str:
    if name.startswith("test."):
        return name
    if name in ("test_asyncgen", "test_contextlib_async"):
        return f"test.{name}"
    return f"test.test_asyncio.{name}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loop", choices=(*LOOPS, "both"), default="both")
    parser.add_argument("--python", default=sys.executable, help="interpreter to run tests on")
    parser.add_argument(
        "--module", action="append", help="test module (test_tasks or a dotted name); repeatable"
    )
    parser.add_argument("--json", type=Path, help="write every test's outcome here")
    parser.add_argument("--report", type=Path, help="only print a saved --json file")
    parser.add_argument("--format", choices=("text", "markdown"), default="text")
    parser.add_argument("--test-timeout", type=float, default=30.0, help="seconds before hung")
    parser.add_argument("--module-timeout", type=float, default=1200.0)
    parser.add_argument("--repo", help="import coroscope from this source tree (a snapshot)")
    parser.add_argument(
        "--keep-test-loop",
        action="store_true",
        help="leave TestCase.new_test_loop on TestLoop (those tests then count as off loop)",
    )
    parser.add_argument("--logs", type=Path, help="keep the children's records and stderr here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        # Run as a script, sys.path[0] is bench/: drop it so nothing there shadows a module.
        if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
            del sys.path[0]
        child_main(ChildSpec(**json.loads(args.child.read_text())))
        return 0
    if args.report:
        print(render(json.loads(args.report.read_text()), args.format))
        return 0

    opts = Options(
        python=args.python,
        test_timeout=args.test_timeout,
        module_timeout=args.module_timeout,
        repo=choose_repo(args.python, args.repo),
        redirect_test_loop=not args.keep_test_loop,
    )
    loops = LOOPS if args.loop == "both" else (args.loop,)
    modules = [full_name(m) for m in args.module] if args.module else MODULES
    report: dict[str, Any] = {
        "python": args.python,
        "python_version": python_version(args.python),
        "coroscope_from": opts.repo or "installed package",
        "options": dataclasses.asdict(opts),
        "runs": [],
    }
    with contextlib.ExitStack() as stack:
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            work = args.logs.resolve()
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="conformance-")))
        for loop in loops:
            for module in modules:
                run = run_module(loop, module, opts, work)
                print(
                    f"{loop:8} {module:38} {run.status:11} {run.seconds:7.1f} s  {run.counts()}",
                    file=sys.stderr,
                    flush=True,
                )
                report["runs"].append(dataclasses.asdict(run))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(render(report, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
