"""A protocol standing in front of another one, which it forwards everything to.

The loop's taps wrap the protocols of sockets, pipes and child processes to
see what passes through; a wrapper overrides only the calls it watches.
"""

from __future__ import annotations

import asyncio


class ProtocolProxy(asyncio.BaseProtocol):
    def __init__(self, inner: asyncio.BaseProtocol) -> None:
        self._inner = inner

    def connection_made(self, transport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc) -> None:
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def __getattr__(self, name: str):
        # Anything else the real protocol offers (its own attributes, say).
        return getattr(self._inner, name)
