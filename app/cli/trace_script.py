"""``coroscope trace SCRIPT.py``: the script runs in a child process, as python runs it.

The child (``coroscope.host``) streams its loops' events here; the same trace
collector and findings model as a demo's turn them into the trace document. The
script's stdout, stderr and stdin are the terminal's, so it prints and fails
exactly as under ``python SCRIPT.py``, and the command exits with the script's
own exit code: except after a deadlock (3, as for a demo), or when the run was
stopped at ``--duration`` (0). A program that never yields cannot stop itself at
the limit, so the child is ended from here and the trace says where it was stuck.
"""

from __future__ import annotations

import signal

from coroscope.control.ctrl_c import CtrlC
from coroscope.host import protocol
from coroscope.host.child import ChildOptions, ChildOutcome, ScriptChild, default_python
from coroscope.models.findings import FindingsModel, ReadyStep
from coroscope.models.trace_collector import TraceCollector, gc_paused

EXIT_DEADLOCK = 3
# Events made ahead are encoded to JSON in chunks of at least this many.
ENCODE_BATCH = 5000
# Past the limit by this much loop time, the program is stuck in a step: end it.
_STUCK_MARGIN = 1.0


def trace_script(
    script: str,
    args: tuple[str, ...],
    python: str | None,
    threshold: float,
    limit: float,
    realtime: bool,
) -> tuple[dict, str, int]:
    """Run ``script`` in a child; the trace document, a note for the summary line
    and the exit code. Raises ``ChildError`` if the child cannot start, and
    KeyboardInterrupt (or ``Terminated``) on Ctrl+C (SIGTERM), with the child ended."""
    # The cyclic garbage collector rests meanwhile. This end makes next to no
    # cyclic garbage (events come as tuples of numbers and strings, and what the
    # models and the document keep is kept to the end), yet the collections its
    # allocations set off walked all of it again and again: about 0.1 s of a
    # 100,000-step run. What is alive at the end (the document, the models) is
    # frozen before the collector resumes, so it does not walk that either;
    # reference counting still frees it.
    with gc_paused(freeze=True):
        options = ChildOptions(
            python=python or default_python(),
            autojump=not realtime,
            block_threshold=threshold,
            limit=limit,
            stop_on_stall=True,
            args=args,
            run_id=protocol.DEFAULT_RUN,
        )
        child = ScriptChild(script, options)
        collector = TraceCollector()
        collector.listen_to(child.log)
        collector.reset(run=protocol.DEFAULT_RUN)
        findings = FindingsModel()
        findings.listen_to(child.log)
        deadlocks = []
        findings.on_finding.append(lambda f: deadlocks.append(f) if f.kind == "deadlock" else None)

        def ready_steps(steps: list[ReadyStep]) -> None:
            # In the order they subscribed; neither emits anything.
            collector.ready_steps(steps)
            findings.ready_steps(steps)

        # Nobody else listens, and nothing holds the log: bare-yield steps, most of a
        # busy run's events, need not become TaskSteps (see ScriptChild.on_ready_steps).
        child.on_ready_steps = ready_steps
        with CtrlC() as ctrl_c:
            child.start()
            try:
                while child.pump(0.05):
                    if ctrl_c.pressed or deadlocks or _past_limit(child, limit):
                        child.stop()
                        break
                    if child.origin is not None:
                        # The script runs in another process: while it does, make
                        # what of the document can be made already.
                        collector.origin = child.origin
                        collector.build_ahead()
                        collector.encode_ahead(at_least=ENCODE_BATCH)
            finally:
                outcome = child.end()
            if ctrl_c.pressed:
                raise ctrl_c.interruption()
        origin = child.origin if child.origin is not None else 0.0
        collector.origin = origin
        end = child.now if child.now is not None else origin
        document = collector.build(
            end=end,
            metadata={
                "target": script,
                "block_threshold": threshold,
                "realtime": realtime,
                "python": child.python_version,
                "exit_code": outcome.code,
            },
            findings=findings.findings,
        )
        if deadlocks:
            at = deadlocks[0].t - origin
            return document, f"; deadlock at t={at:.2f}: the run could never go on", EXIT_DEADLOCK
        if child.limit_reached or outcome.stopped:
            return document, f"; stopped at the {limit:g} s limit (--duration){_how(outcome)}", 0
        return document, _ending(outcome), _exit_code(outcome)


def _past_limit(child: ScriptChild, limit: float) -> bool:
    if child.origin is None or child.now is None:
        return False
    return child.now - child.origin > limit + _STUCK_MARGIN


def _how(outcome: ChildOutcome) -> str:
    if outcome.stuck is not None:
        _loop, _task, what, held, file, line, _cpu, _excuse = outcome.stuck
        where = f" at {file.rsplit('/', 1)[-1]}:{line}" if file else ""
        return f", {what} stuck{where} for {held:.1f} s ({outcome.killed})"
    return f" ({outcome.killed})" if outcome.killed else ""


def _ending(outcome: ChildOutcome) -> str:
    code = outcome.code
    if code is None or code == 0:
        return ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"; the script was killed by {name}"
    if outcome.said:
        return f"; the script failed with {outcome.said} (exit code {code})"
    return f"; the script exited with code {code}"


def _exit_code(outcome: ChildOutcome) -> int:
    code = outcome.code or 0
    return 128 - code if code < 0 else code
