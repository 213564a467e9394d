"""Starts the agent under any Python 3.11+, with or without Coroscope installed.

Run as a file (``python .../host/boot.py --fd N script.py``), it makes the
``coroscope`` import package this very source tree (the folder above this one),
so the child runs the same version of the core as the window that started it,
and none of the interpreter's own packages, or the script's, can shadow it.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _own_core() -> None:
    core = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.machinery.ModuleSpec("coroscope", None, is_package=True)
    spec.submodule_search_locations = [core]
    sys.modules["coroscope"] = importlib.util.module_from_spec(spec)


if __name__ == "__main__":
    if sys.version_info < (3, 11):  # noqa: UP036  # --python may name an older one
        print(
            f"coroscope: error: scripts run on Python 3.11 or newer, not {sys.version.split()[0]}",
            file=sys.stderr,
        )
        sys.exit(2)
    _own_core()
    from coroscope.host.agent import main

    sys.exit(main())
