"""The ``coroscope`` command line.

    coroscope                 open the app
    coroscope run DEMO        open the app and run a demo
    coroscope run SCRIPT.py   open the app and run your script (as Python, like python SCRIPT.py)
    coroscope list            list the demos
    coroscope trace DEMO      write a Perfetto trace of a headless run
    coroscope record DEMO     render a take to MP4, WebM or GIF without a display

Every failure is one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coroscope import demos
from coroscope.about import APP_NAME, __version__
from coroscope.cli import takes as take_cli


class CliError(Exception):
    """A user mistake: printed as one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coroscope",
        description=f"{APP_NAME}: watch asyncio run. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="open the app and run a demo or your .py script")
    run.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    run.add_argument(
        "target",
        metavar="DEMO_OR_SCRIPT",
        help="a demo name (see `coroscope list`) or a path to a .py script, "
        "which runs as Python on this machine, like `python script.py`",
    )
    run.add_argument(
        "script_args",
        nargs="*",
        metavar="ARG",
        help="arguments for the script (its sys.argv[1:]); put them after --",
    )
    run.add_argument(
        "--python",
        metavar="PATH",
        help="the Python (3.11 or newer) to run a script with (default: the active "
        "virtual environment's, else the one Coroscope runs on)",
    )
    listing = sub.add_parser("list", help="list the demos")
    listing.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    take_cli.add_commands(sub)
    return parser


def cmd_list(_args: argparse.Namespace) -> int:
    width = max(len(d.key) for d in demos.DEMOS)
    for group, members in demos.groups().items():
        print(f"{group}:")
        for demo in members:
            print(f"  {demo.key:<{width}}  {demo.summary}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from coroscope.control.targets import UnknownTargetError, demo_target
    from coroscope.scripts.loader import looks_like_script

    if demos.find(args.target) is None and looks_like_script(args.target):
        from coroscope.scripts.loader import ScriptError, check_script

        if not Path(args.target).expanduser().exists():
            raise CliError(f"no such file: {args.target}")
        if args.python is not None and not os.access(args.python, os.X_OK):
            raise CliError(f"--python {args.python}: no such interpreter")
        try:
            # A file that cannot run: one line, exit 2 (another Python judges its syntax).
            script = check_script(args.target, syntax=args.python is None)
        except ScriptError as exc:
            raise CliError(str(exc)) from exc
        from coroscope.widgets.shell.gui import run_app

        return run_app(script=script, python=args.python, script_args=tuple(args.script_args))
    if args.script_args or args.python:
        raise CliError(f"{args.target} is a demo: arguments and --python are for scripts")
    try:
        target = demo_target(args.target)
    except UnknownTargetError as exc:
        raise CliError(str(exc)) from exc
    from coroscope.widgets.shell.gui import run_app

    return run_app(target)


def cmd_app(_args: argparse.Namespace) -> int:
    from coroscope.widgets.shell.gui import run_app

    return run_app()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # What follows "--" is the script's own, whatever it looks like. argparse
    # cannot give it to the positional after options came between (trace prog.py
    # -o out.json -- --port 8080), so it is split off here.
    script_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, script_args = argv[:split], argv[split + 1 :]
    parser = _parser()
    args = parser.parse_args(argv)
    if script_args:
        if not hasattr(args, "script_args"):
            parser.error(f"unrecognized arguments: -- {' '.join(script_args)}")
        args.script_args = [*args.script_args, *script_args]
    handler = {"run": cmd_run, "list": cmd_list, **take_cli.HANDLERS}.get(args.command, cmd_app)
    try:
        return handler(args)
    except CliError as exc:
        print(f"coroscope: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
