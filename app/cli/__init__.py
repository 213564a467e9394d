"""The command line: ``coroscope run | list | trace | record``."""

from coroscope.cli.commands import main

__all__ = ["main"]
