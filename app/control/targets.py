"""Turn what the user names (a demo key or a script path) into a runnable Target."""

from __future__ import annotations

from coroscope import demos
from coroscope.control.run import Target


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
