"""Taps on the loop's transports: what each watched fd is, and the bytes that cross.

asyncio's selector transports register ``loop._add_reader(fd, transport._read_ready)``
and hand every chunk they read to ``protocol.data_received``. We observe both
without copying any of asyncio's private read paths:

* incoming bytes: the protocol given to a transport is wrapped in a thin proxy
  whose ``data_received`` (or ``buffer_updated``) reports the chunk, then forwards;
* outgoing bytes: the socket and write-pipe transport classes are subclassed so
  that ``write`` reports what it was given after asyncio accepted it;
* the fd a transport watches is named from ``IoTaps.channel_for(transport)``,
  which the loop's ``_add_reader`` hook asks with the callback's owner.

One trade-off: ``transport.get_protocol()`` returns the proxy, not the protocol
the program made; everything else (streams, ``sendfile``, subprocess pipes) goes
through the proxy unchanged. SSL and datagram transports are not tapped.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import weakref
from asyncio import selector_events
from collections.abc import Callable

from coroscope.loop.anatomy.protocol_proxy import ProtocolProxy
from coroscope.loop.events import Event, IoChannel, IoData
from coroscope.loop.scheduler import RUN_ID

try:  # pipes and subprocesses: Unix only
    from asyncio import unix_events
except ImportError:  # pragma: no cover - Windows
    unix_events = None  # type: ignore[assignment]

_PREVIEW_BYTES = 40


def preview(data) -> str:
    """The first bytes of ``data``, escaped like a bytes literal, for display."""
    head = bytes(data[:_PREVIEW_BYTES])
    text = repr(head)[2:-1]
    return text + "…" if len(data) > _PREVIEW_BYTES else text


def address(addr) -> str:
    if isinstance(addr, tuple) and len(addr) >= 2:
        host = addr[0]
        return f"[{host}]:{addr[1]}" if ":" in str(host) else f"{host}:{addr[1]}"
    return str(addr) if addr else "?"


class Channel:
    """One tapped transport: its id and label, and the events it reports."""

    __slots__ = ("_emit", "_now", "closed", "id", "kind", "label", "run")

    def __init__(self, channel_id: int, kind: str, label: str, emit, now) -> None:
        self.id = channel_id
        self.kind = kind
        self.label = label
        self.run = RUN_ID.get()
        self.closed = False
        self._emit = emit
        self._now = now
        emit(IoChannel(now(), channel_id, kind, label, "open", self.run))

    def data(self, direction: str, data) -> None:
        if data:
            self._emit(IoData(self._now(), self.id, direction, len(data), preview(data)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._emit(IoChannel(self._now(), self.id, self.kind, self.label, "closed", self.run))


# -- protocol proxies: incoming bytes -------------------------------------------
class _TapBase(ProtocolProxy):
    def __init__(self, inner: asyncio.BaseProtocol, channel: Channel) -> None:
        super().__init__(inner)
        self._channel = channel

    def connection_lost(self, exc) -> None:
        self._channel.close()
        self._inner.connection_lost(exc)

    def __repr__(self) -> str:
        return f"<tapped {self._inner!r}>"


class _TapProtocol(_TapBase, asyncio.Protocol):
    _inner: asyncio.Protocol

    def data_received(self, data) -> None:
        self._channel.data("in", data)
        self._inner.data_received(data)

    def eof_received(self):
        return self._inner.eof_received()


class _TapBufferedProtocol(_TapBase, asyncio.BufferedProtocol):
    _inner: asyncio.BufferedProtocol
    _buffer = None

    def get_buffer(self, sizehint: int):
        self._buffer = self._inner.get_buffer(sizehint)
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self._buffer is not None:
            self._channel.data("in", memoryview(self._buffer)[:nbytes])
        self._inner.buffer_updated(nbytes)

    def eof_received(self):
        return self._inner.eof_received()


def tap_protocol(protocol: asyncio.BaseProtocol, channel: Channel) -> asyncio.BaseProtocol:
    # The transport picks its read path from the protocol's type, so the proxy
    # must be buffered exactly when the real protocol is.
    if isinstance(protocol, asyncio.BufferedProtocol):
        return _TapBufferedProtocol(protocol, channel)
    if isinstance(protocol, asyncio.Protocol):
        return _TapProtocol(protocol, channel)
    return _TapBase(protocol, channel)


# -- transport subclasses: outgoing bytes ------------------------------------------
class TappedSocketTransport(selector_events._SelectorSocketTransport):  # type: ignore[name-defined]
    _channel: Channel | None = None

    def write(self, data) -> None:
        super().write(data)
        if self._channel is not None:
            self._channel.data("out", data)

    def writelines(self, list_of_data) -> None:
        self.write(b"".join(list_of_data))


if unix_events is not None:

    class TappedWritePipeTransport(unix_events._UnixWritePipeTransport):  # type: ignore[name-defined]
        _channel: Channel | None = None

        def write(self, data) -> None:
            super().write(data)
            if self._channel is not None:
                self._channel.data("out", data)


# -- the registry the loop hooks use -------------------------------------------------
class IoTaps:
    """Makes tapped transports for one loop and names the fds they watch."""

    def __init__(self, emit: Callable[[Event], None], now: Callable[[], float]) -> None:
        self._emit = emit
        self._now = now
        self._ids = itertools.count(1)
        self._channels: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # fd -> (server, label, run)
        self._listeners: dict[int, tuple[asyncio.AbstractServer, str, int | None]] = {}

    def channel_for(self, transport: object) -> Channel | None:
        try:
            return self._channels.get(transport)
        except TypeError:  # not weak-referenceable: not one of ours
            return None

    def listening(self, fd: int, label: str, args: tuple) -> None:
        """A server started listening on ``fd`` (``_accept_connection``'s args hold it)."""
        server = args[3] if len(args) > 3 else None
        if server is not None:
            self._listeners[fd] = (server, label, RUN_ID.get())

    def stopped_listening(self, fd: int) -> None:
        self._listeners.pop(fd, None)

    def open_servers(self, run_id: int) -> list[tuple[asyncio.AbstractServer, str]]:
        """Servers a run started that still listen."""
        return [
            (server, label)
            for server, label, run in list(self._listeners.values())
            if run == run_id and server.is_serving()
        ]

    def open_transports(self, run_id: int) -> list[tuple[object, Channel]]:
        """Transports a run opened that are still open."""
        return [
            (transport, channel)
            for transport, channel in list(self._channels.items())
            if channel.run == run_id and not channel.closed and not transport.is_closing()
        ]

    def _open(self, kind: str, label: str) -> Channel:
        return Channel(next(self._ids), kind, label, self._emit, self._now)

    def socket_transport(self, loop, sock, protocol, waiter, extra, server):
        try:
            here, there = sock.getsockname(), sock.getpeername()
        except OSError:
            here = there = None
        local, peer = address(here), address(there)
        if isinstance(here, tuple) and isinstance(there, tuple) and here[0] == there[0]:
            local = f":{here[1]}"  # both ends on one host (loopback): the port says it all
        kind = "tcp" if sock.family in (socket.AF_INET, socket.AF_INET6) else "unix"
        side = "server" if server is not None else "client"
        channel = self._open(kind, f"{side} {local} ⇄ {peer}")
        transport = TappedSocketTransport(
            loop, sock, tap_protocol(protocol, channel), waiter, extra, server
        )
        transport._channel = channel
        self._channels[transport] = channel
        return transport

    def read_pipe_transport(self, make: Callable, pipe, protocol, waiter, extra):
        channel = self._open("read pipe", _pipe_label(pipe, protocol, "read"))
        transport = make(pipe, tap_protocol(protocol, channel), waiter, extra)
        self._channels[transport] = channel
        return transport

    def write_pipe_transport(self, loop, pipe, protocol, waiter, extra):
        channel = self._open("write pipe", _pipe_label(pipe, protocol, "write"))
        transport = TappedWritePipeTransport(
            loop, pipe, tap_protocol(protocol, channel), waiter, extra
        )
        transport._channel = channel
        self._channels[transport] = channel
        return transport


_STD_NAMES = {0: "stdin", 1: "stdout", 2: "stderr"}


def _pipe_label(pipe, protocol, direction: str) -> str:
    proc = getattr(protocol, "proc", None)  # asyncio's subprocess pipe protocols
    fd = getattr(protocol, "fd", None)
    get_pid = getattr(proc, "get_pid", None)
    if get_pid is not None and fd in _STD_NAMES:
        return f"pid {get_pid()} {_STD_NAMES[fd]}"
    try:
        number = pipe.fileno()
    except (AttributeError, OSError, ValueError):
        number = "?"
    return f"{direction} pipe fd {number}"


def describe_watch(taps: IoTaps, fd: int, callback, args: tuple) -> tuple[str, int | None]:
    """What a watched fd is, from the callback the loop will run when it is ready."""
    owner = getattr(callback, "__self__", None)
    channel = taps.channel_for(owner) if owner is not None else None
    if channel is not None:
        return channel.label, channel.id
    name = getattr(callback, "__name__", "")
    if name == "_read_from_self":
        return "self-pipe: lets other threads wake the loop", None
    if name == "_accept_connection" and len(args) >= 2:
        try:
            return f"listening on {address(args[1].getsockname())}", None
        except (AttributeError, OSError):
            return "listening socket", None
    if name == "_sock_connect_cb":
        return f"socket fd {fd}: connecting", None
    if name.startswith("_sock_"):
        return f"socket fd {fd}: loop.sock_{name[6:]}()", None
    if name == "_do_wait":
        return "child exit (pidfd)", None
    label = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"fd {fd}: {label}", None


def is_loop_internal(label: str) -> bool:
    return label.startswith("self-pipe")
