"""A tiny, Qt-free channel from a demo to whatever is watching it.

A demo calls ``publish("clock", now)``; run on its own nothing listens and the
call costs a dict lookup. Inside Coroscope the stage widget subscribes and draws
the latest value of each key on its next frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_listeners: list[Callable[[str, Any], None]] = []


def publish(key: str, value: Any) -> None:
    for listener in _listeners:
        listener(key, value)


def subscribe(listener: Callable[[str, Any], None]) -> Callable[[], None]:
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe
