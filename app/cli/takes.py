"""``coroscope trace`` and ``coroscope record``: headless runs that write a file.

    coroscope trace DEMO_OR_SCRIPT [-o trace.json] [--block-threshold S] [--realtime]
    coroscope record DEMO_OR_SCRIPT [-o take.mp4] [--size WxH] [--fps N] [--speed X]
                     [--theme dark|light] [--presentation] [--duration S] [--panel P]

Every mistake (an unknown demo, a missing script, an output that cannot be
written, an unknown extension, a value out of range) is one line on stderr and
exit code 2, reported before any work starts. A trace lists the program's own
mistakes (``problems``) after its summary, one line each; a deadlock ends the
run at once, and the command with exit code 3. Outputs are written atomically:
a failure, Ctrl+C (exit 130) or SIGTERM (exit 143) leaves no partial file behind.

This module imports no Qt; ``record`` loads the Qt recorder only once the
arguments are known to be good.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coroscope.about import APP_NAME, __version__
from coroscope.control.ctrl_c import Terminated
from coroscope.loop.events import DEFAULT_BLOCK_THRESHOLD
from coroscope.takes.atomic_file import OutputPathError, check_output
from coroscope.takes.options import (
    AUTO_LIMIT,
    PANELS,
    THEMES,
    VIDEO_EXTENSIONS,
    OptionError,
    TakeOptions,
    parse_duration,
    parse_fps,
    parse_size,
    parse_speed,
)

TRACE_EXTENSIONS = (".json",)
TRACE_LIMIT = 60.0
EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_DEADLOCK = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # 128 + SIGTERM, as a shell reports a killed command


class _CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``trace`` and ``record`` to the ``coroscope`` command line."""
    version = f"{APP_NAME} {__version__}"
    target_help = "a demo name (see `coroscope list`) or a path to a .py script"

    trace = sub.add_parser(
        "trace",
        help="run a demo or script headless and write a Perfetto trace",
        description="Run DEMO_OR_SCRIPT headless on a traced loop and write Chrome Trace "
        "Event JSON (open it in https://ui.perfetto.dev) with a task and blocking summary.",
    )
    trace.add_argument("--version", action="version", version=version)
    trace.add_argument("target", metavar="DEMO_OR_SCRIPT", help=target_help)
    trace.add_argument(
        "script_args",
        nargs="*",
        metavar="ARG",
        help="arguments for the script (its sys.argv[1:]); put them after --",
    )
    trace.add_argument(
        "--python",
        metavar="PATH",
        help="the Python (3.11 or newer) to run a script with (default: the active "
        "virtual environment's, else the one Coroscope runs on)",
    )
    trace.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the trace (default: NAME-trace.json)"
    )
    trace.add_argument(
        "--block-threshold",
        metavar="SECONDS",
        default=str(DEFAULT_BLOCK_THRESHOLD),
        help="list every step that holds the loop at least this long (default: %(default)s)",
    )
    trace.add_argument(
        "--realtime",
        action="store_true",
        help="let sleeps take real time (default: skip idle loop time)",
    )
    trace.add_argument(
        "--duration",
        metavar="SECONDS",
        help=f"stop the run after this much loop time (default: {TRACE_LIMIT:g})",
    )

    record = sub.add_parser(
        "record",
        help="render a demo or script to MP4, WebM or GIF without a display",
        description="Render the app running DEMO_OR_SCRIPT offscreen, frame by frame on a "
        "virtual clock, so every take has identical timing and no dropped frames.",
    )
    record.add_argument("--version", action="version", version=version)
    record.add_argument("target", metavar="DEMO_OR_SCRIPT", help=target_help)
    record.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the take: .mp4 (H.264), .webm (VP9) or .gif (default: NAME.mp4)",
    )
    record.add_argument("--size", default="1280x720", help="frame size (default: %(default)s)")
    record.add_argument("--fps", default="30", help="frames per second (default: %(default)s)")
    record.add_argument(
        "--speed", default="1.0", help="loop seconds per video second (default: %(default)s)"
    )
    record.add_argument("--theme", choices=THEMES, default="dark", help="colour theme")
    record.add_argument(
        "--presentation",
        action="store_true",
        help="the window's presentation mode: large type, no menus, gallery or status bar",
    )
    record.add_argument(
        "--duration",
        metavar="SECONDS",
        help=f"video length (default: until the run ends, at most {AUTO_LIMIT:g} s)",
    )
    record.add_argument(
        "--panel",
        choices=PANELS,
        default="window",
        help="record the whole window or one panel (default: %(default)s)",
    )


def cmd_trace(args: argparse.Namespace) -> int:
    return _guarded(_trace, args)


def cmd_record(args: argparse.Namespace) -> int:
    return _guarded(_record, args)


HANDLERS = {"trace": cmd_trace, "record": cmd_record}


def _guarded(command, args: argparse.Namespace) -> int:
    try:
        return command(args)
    except _CommandError as failure:
        _error(str(failure))
        return failure.code
    except Terminated:
        _error("terminated; no file was written")
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        _error("interrupted; no file was written")
        return EXIT_INTERRUPTED


def _error(message: str) -> None:
    print(f"coroscope: error: {message}", file=sys.stderr)


def _resolve(name: str):
    """The demo ``name`` names (a script's path goes through ``_script_path``)."""
    from coroscope.control.targets import UnknownTargetError, demo_target

    try:
        return demo_target(name)
    except UnknownTargetError as exc:
        raise _CommandError(str(exc)) from exc


def _script_path(name: str, python: str | None) -> str | None:
    """The full path of the script ``name`` names, checked; None for a demo."""
    from coroscope import demos
    from coroscope.scripts.loader import ScriptError, check_script, looks_like_script

    if demos.find(name) is not None or not looks_like_script(name):
        return None
    if not Path(name).expanduser().exists():
        raise _CommandError(f"no such file: {name}")
    if python is not None and not os.access(python, os.X_OK):
        raise _CommandError(f"--python {python}: no such interpreter")
    try:
        return check_script(name, syntax=python is None)
    except ScriptError as exc:
        raise _CommandError(str(exc)) from exc


def _output(args: argparse.Namespace, target, default_suffix: str, allowed: tuple[str, ...]):
    key = target if isinstance(target, str) else target.key
    name = args.output or f"{Path(key).stem}{default_suffix}"
    try:
        return check_output(name, allowed)
    except OutputPathError as exc:
        raise _CommandError(str(exc)) from exc


def _option(parse, text: str | None, *extra):
    if text is None:
        return None
    try:
        return parse(text, *extra)
    except OptionError as exc:
        raise _CommandError(str(exc)) from exc


# -- trace ---------------------------------------------------------------------
def _trace(args: argparse.Namespace) -> int:
    threshold = _option(parse_duration, args.block_threshold, "--block-threshold")
    limit = _option(parse_duration, args.duration) or TRACE_LIMIT
    script = _script_path(args.target, args.python)
    if script is None:
        if args.script_args or args.python:
            raise _CommandError(f"{args.target} is a demo: arguments and --python are for scripts")
        target = _resolve(args.target)
        output = _output(args, target, "-trace.json", TRACE_EXTENSIONS)
    else:
        output = _output(args, script, "-trace.json", TRACE_EXTENSIONS)

    from coroscope.takes.trace_file import problem_line, summary_line, write_trace

    if script is None:
        document, note, code = _run_traced(target, threshold, limit, realtime=args.realtime)
    else:
        from coroscope.cli.trace_script import trace_script
        from coroscope.host.child import ChildError

        try:
            document, note, code = trace_script(
                script,
                tuple(args.script_args),
                python=args.python,
                threshold=threshold,
                limit=limit,
                realtime=args.realtime,
            )
        except ChildError as exc:
            raise _CommandError(str(exc), EXIT_FAILED) from exc
    try:
        write_trace(document, output)
    except OSError as exc:
        raise _CommandError(f"cannot write {output}: {exc.strerror or exc}", EXIT_FAILED) from exc
    print(f"coroscope: wrote {output}: {summary_line(document)}{note}", file=sys.stderr)
    for problem in document["problems"]:
        print(f"coroscope: problem: {problem_line(problem)}", file=sys.stderr)
    return code


def _run_traced(target, threshold: float, limit: float, realtime: bool) -> tuple[dict, str, int]:
    """Run ``target`` on a headless traced loop; the trace document, a note for the
    summary line and the exit code."""
    import asyncio

    from coroscope.control.controller import Controller, IntentError
    from coroscope.control.ctrl_c import CtrlC
    from coroscope.control.shutdown import close_loop
    from coroscope.loop.traced_loop import HeadlessLoop
    from coroscope.models.trace_collector import TraceCollector
    from coroscope.scripts.watchdog import Watchdog

    loop = HeadlessLoop(autojump=not realtime, block_threshold=threshold)
    asyncio.set_event_loop(loop)
    collector = TraceCollector()
    collector.listen_to(loop.events)
    controller = Controller(loop, capture_output=True, echo_output=True)
    findings = controller.models.findings
    # Samples a blocking step's line and CPU share; it never interrupts a trace.
    watchdog = Watchdog(loop.tracer)
    deadlock: asyncio.Future = loop.create_future()

    def stop_on_deadlock(finding) -> None:
        if finding.kind == "deadlock" and not deadlock.done():
            deadlock.set_result(finding)

    findings.on_finding.append(stop_on_deadlock)
    note, code = "", 0
    try:
        try:
            run = controller.start(target)
        except IntentError as exc:
            raise _CommandError(str(exc), EXIT_FAILED) from exc
        collector.reset(origin=loop.clock.origin, run=run.id)
        watchdog.start()
        with CtrlC(on_press=loop.stop) as ctrl_c:
            try:
                loop.run_until_complete(
                    asyncio.wait(
                        [run.main, deadlock], timeout=limit, return_when=asyncio.FIRST_COMPLETED
                    )
                )
            except RuntimeError:  # "stopped before Future completed": Ctrl+C stopped it
                if not ctrl_c.pressed:
                    raise
        if ctrl_c.pressed:
            raise ctrl_c.interruption()
        if deadlock.done():
            at = loop.clock.run_time(deadlock.result().t)
            note = f"; deadlock at t={at:.2f}: the run could never go on"
            code = EXIT_DEADLOCK
        elif not run.main.done():
            note = f"; stopped at the {limit:g} s limit (--duration)"
        elif not run.main.cancelled() and run.main.exception() is not None:
            error = run.main.exception()
            note = f"; main failed with {type(error).__name__}: {error}"
        # Like asyncio.run(): when main is over, whatever it left running is cancelled.
        loop.run_until_complete(controller.stop())
        document = collector.build(
            end=loop.clock.now(),
            metadata={
                "target": target.key,
                "block_threshold": threshold,
                "realtime": realtime,
            },
            findings=findings.findings,
        )
        return document, note, code
    finally:
        watchdog.stop()
        if not deadlock.done():
            deadlock.cancel()
        close_loop(loop, controller)


def _record(args: argparse.Namespace) -> int:
    size = _option(parse_size, args.size)
    fps = _option(parse_fps, args.fps)
    speed = _option(parse_speed, args.speed)
    duration = _option(parse_duration, args.duration)
    # A script runs in its own process, as in the window and under trace.
    script = _script_path(args.target, None)
    target = script if script is not None else _resolve(args.target)
    output = _output(args, target, ".mp4", VIDEO_EXTENSIONS)
    options = TakeOptions(
        output=output,
        size=size,
        fps=fps,
        speed=speed,
        theme=args.theme,
        presentation=args.presentation,
        duration=duration,
        panel=args.panel,
    )

    from coroscope.cli.progress import ProgressBar
    from coroscope.takes.video_encoder import EncoderError
    from coroscope.widgets.shell.recorder import TakeError, render_take

    bar = ProgressBar(f"recording {Path(script).name if script else target.key}")
    try:
        result = render_take(target, options, progress=bar.update)
    except (TakeError, EncoderError) as exc:
        raise _CommandError(f"could not record {output}: {exc}", EXIT_FAILED) from exc
    except OSError as exc:
        raise _CommandError(f"cannot write {output}: {exc.strerror or exc}", EXIT_FAILED) from exc
    finally:
        bar.close()
    note = ""
    if result.limited:
        note = f"; the run was still going at {AUTO_LIMIT:g} s (use --duration for longer)"
    print(
        f"coroscope: wrote {output}: {result.frames} frames, {result.video_seconds:.1f} s at "
        f"{fps} fps, {size[0]}x{size[1]}, rendered at {result.speed_ratio:.1f}x real time{note}",
        file=sys.stderr,
    )
    return 0
