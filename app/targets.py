"""Turn what the user names (a demo key or a script path) into a runnable Target."""

from __future__ import annotations

import demos
from app.run import Target


class UnknownTargetError(Exception):
    pass


def demo_target(key: str) -> Target:
    info = demos.find(key)
    if info is None:
        known = ", ".join(d.key for d in demos.DEMOS)
        raise UnknownTargetError(f"unknown demo {key!r} (known demos: {known})")
    module = info.load()
    return Target(
        key=info.key,
        title=info.title,
        source_path=str(info.path),
        make_main=module.main,
        stage=info.stage,
        summary=info.summary,
    )


def resolve(name: str) -> Target:
    """What the command line's DEMO_OR_SCRIPT means: a demo key, or a path to a .py
    script (a name ending in .py, containing a path separator, or naming a file)."""
    if demos.find(name) is None:
        # Imported here: the loader imports this module for UnknownTargetError.
        from app.script_loader import load_script, looks_like_script

        if looks_like_script(name):
            return load_script(name).target()
    return demo_target(name)
