"""Latest values a demo published through ``coroscope.demos.stage``, for its stage widget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coroscope.demos import stage


class StageModel:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._values: dict[str, tuple[float, Any]] = {}
        self.version = 0
        self._unsubscribe = stage.subscribe(self._published)

    def _published(self, key: str, value: Any) -> None:
        self._values[key] = (self._now(), value)
        self.version += 1

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._values.get(key)
        return entry[1] if entry else default

    def age(self, key: str) -> float | None:
        """Loop seconds since ``key`` was last published."""
        entry = self._values.get(key)
        return None if entry is None else self._now() - entry[0]

    def clear(self) -> None:
        self._values.clear()
        self.version += 1

    def close(self) -> None:
        self._unsubscribe()
