"""The wire between a script's child process (the agent) and whoever watches it.

Version 1, documented in docs/PROTOCOL.md. A stream of frames, each a 4-byte
little-endian length and then that many bytes of ``marshal`` (format 4, which
every Python 3 reads the same) holding one message: a tuple whose first item
names it. ``marshal`` is C-fast and keeps the records as the event ring already
holds them, ``(kind number, *fields)``: plain tuples of numbers, strings and None.

The kind numbers are the sender's: its ``hello`` lists its kinds by name, so a
watcher built from another version of Coroscope maps them onto its own, and
drops a kind it does not know instead of misreading it.
"""

from __future__ import annotations

import marshal
import struct
from collections.abc import Iterator
from typing import Any, cast

from coroscope.loop.events import _KINDS, _READY_STEP, Event, unpacked

VERSION = 1
# The run every task of a program belongs to, unless the watcher names another
# (``--run``): the agent hosts exactly one program.
DEFAULT_RUN = 1
_LENGTH = struct.Struct("<I")
# A frame longer than this is a broken stream, not a message.
MAX_FRAME = 64 * 1024 * 1024

# From the agent:
HELLO = "hello"  # (HELLO, version, pid, python, origin, script, kind names)
LOOP = "loop"  # (LOOP, loop, thread name): the program made an event loop
EVENTS = "events"  # (EVENTS, loop, [(kind number, *fields) or packed step, ...])
# (TICK, loop time now, stuck, ready): see ``Stuck``; ``ready`` is None, or on
# every fifth tick, for each running loop, (loop, ((label, task id or None), ...
# up to 60), callbacks queued, callbacks run so far): the Loop panel's look.
TICK = "tick"
LIMIT = "limit"  # (LIMIT,): the run reached its loop-time limit and is stopping
# (EXIT, exit code, how it ended in one line or "", file, line): the last two
# say where an uncaught exception was raised, or sys.exit() called ("", 0 if
# neither: the script ran to its end).
EXIT = "exit"
REFUSED = "refused"  # (REFUSED, why): an intent could not be carried out
# Both ways: (CLOCK, virtual anchor, real anchor, speed, paused), the whole clock,
# whose real anchor is a time.perf_counter() reading, the same clock in both
# processes; sent by the watcher when it pauses, resumes or changes speed, and
# by the agent after a Step moved its clock.
CLOCK = "clock"
# A headless take steps the program frame by frame: the watcher sends (FRAME,
# frame time) to move the agent's clock (a source the watcher moves, see
# ``--frames``) and run what is then due, to quiescence; the agent answers
# (SETTLED, frame time, outside work busy, program over) once it has sent that
# frame's events; "program over": no loop will run again, the process is ending.
FRAME = "frame"
SETTLED = "settled"
# From the watcher:
STOP = "stop"  # (STOP,): cancel every task of every loop, so the program ends
# (INTENT, name, args): do to the program what the user asked of its lanes or
# timers; names and arguments as coroscope.control.loop_intents takes them.
INTENT = "intent"

# ``TICK``'s stuck entries: (loop, task id or None, what, seconds held so far,
# file, line, cpu share, excuse), for each loop whose current step has held it
# past the block threshold, so a watcher that ends the child there can still
# say where it was stuck.
Stuck = tuple[int, int | None, str, float, str, int, float, str]


# A bare-yield step as the agent packs it (32 bytes, as the event ring keeps it),
# unpacked: (t, task, wall, rate). It started at ``t - wall * rate`` and is the
# ``TaskStep(t, task, t - wall * rate, wall, "ready", "", None, ())`` that
# ``EventDecoder.decode`` makes of it; see ``ready_steps``.
ReadyStep = tuple[float, int, float, float]


class ProtocolError(Exception):
    """The other side sent something that is not this protocol."""


def kind_names() -> tuple[str, ...]:
    return tuple(kind.__name__ for kind in _KINDS)


def frame(message: tuple) -> bytes:
    try:
        payload = marshal.dumps(message, 4)
    except ValueError:
        payload = marshal.dumps(_plain(message), 4)
    return _LENGTH.pack(len(payload)) + payload


def _plain(value: Any) -> Any:
    """``value`` with whatever marshal cannot write replaced by its repr()."""
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(item) for item in value)
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    return repr(value)


class Reader:
    """Cuts a byte stream into messages: ``feed`` bytes, then iterate."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def pending(self) -> int:
        """Bytes fed and not yet given out as messages."""
        return len(self._buffer)

    def __iter__(self) -> Iterator[tuple]:
        # A reader may stop early (its time is up): what it did not take stays.
        buffer = self._buffer
        start = 0
        try:
            while len(buffer) - start >= 4:
                (length,) = _LENGTH.unpack_from(buffer, start)
                if length > MAX_FRAME:
                    raise ProtocolError(f"a frame of {length} bytes")
                end = start + 4 + length
                if end > len(buffer):
                    break
                try:
                    message = marshal.loads(bytes(buffer[start + 4 : end]))
                except (EOFError, ValueError, TypeError) as exc:
                    raise ProtocolError(f"an unreadable frame: {exc}") from exc
                start = end
                if not isinstance(message, tuple) or not message or not isinstance(message[0], str):
                    raise ProtocolError(f"not a message: {message!r:.60}")
                yield message
        finally:
            del buffer[:start]


class EventDecoder:
    """Turns the agent's ``(kind number, *fields)`` records back into events."""

    def __init__(self, names: tuple[str, ...]) -> None:
        ours = {kind.__name__: kind for kind in _KINDS}
        self._kinds: list[type | None] = [ours.get(name) for name in names]

    def decode(self, record: tuple | bytes) -> Event | None:
        if isinstance(record, bytes):  # a bare-yield step, packed as the ring keeps it
            try:
                return unpacked(record)
            except struct.error:
                return None
        try:
            kind = self._kinds[record[0]]
        except (IndexError, TypeError):
            return None
        if kind is None:
            return None
        try:
            return kind._make(record[1:])
        except TypeError:
            return None  # the fields of another version's kind of that name


def ready_steps(packed: list[bytes]) -> list[ReadyStep]:
    """Packed bare-yield steps, unpacked all at once (in C), in order. A record of
    another size than a step's is dropped, as ``EventDecoder.decode`` drops it."""
    if set(map(len, packed)) - {_READY_STEP.size}:
        packed = [record for record in packed if len(record) == _READY_STEP.size]
    return cast(list[ReadyStep], list(_READY_STEP.iter_unpack(b"".join(packed))))
