"""The trace file on disk: the collector's document written whole, and its one-line summary.

What the document holds is ``coroscope.models.trace_collector``'s business (and
docs/TRACE_FORMAT.md's); this module only writes it and says it in one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from coroscope.loop.states import TRACE_STATES
from coroscope.takes.atomic_file import AtomicFile


def write_trace(document: dict, path: str | os.PathLike) -> Path:
    """Write ``document`` to ``path`` atomically (a complete file or none)."""
    # One string from json.dumps, then one write: dumps runs the C encoder, where
    # json.dump to a stream always runs the pure-Python one, a few times slower
    # (most of a 100,000-step ``coroscope trace`` went there). A document that cannot
    # be encoded fails here, before any file exists.
    text = encode(document)
    with AtomicFile(path) as out, open(out.temp, "w", encoding="utf-8") as stream:
        stream.write(text)
        stream.write("\n")
    return Path(path)


_COMPACT = (",", ":")


def encode(document: dict) -> str:
    """``json.dumps(document)``, compact, byte for byte; the events a collector
    encoded while the run went on (``TraceCollector.encode_ahead``) are taken as
    they are, so only the rest is encoded now."""
    encoded = getattr(document, "encoded", None)
    events = document.get("traceEvents")
    if (
        encoded is None
        or not encoded.count
        or not isinstance(events, list)
        or next(iter(document)) != "traceEvents"
        or not _still_holds(events, encoded)
    ):
        return json.dumps(document, separators=_COMPACT)
    first, stop = encoded.first, encoded.first + encoded.count
    head = json.dumps(events[:first], separators=_COMPACT)[1:-1]
    tail = json.dumps(events[stop:], separators=_COMPACT)[1:-1]
    parts = ",".join(part for part in (head, *encoded.chunks, tail) if part)
    rest = {key: value for key, value in document.items() if key != "traceEvents"}
    after = "," + json.dumps(rest, separators=_COMPACT)[1:] if rest else "}"
    return '{"traceEvents":[' + parts + "]" + after


def _still_holds(events: list, encoded) -> bool:
    """Whether ``events`` still has the encoded ones where they were (nobody has
    changed the list since the document was built)."""
    first, count = encoded.first, encoded.count
    return (
        len(events) >= first + count
        and events[first] is encoded.made[0]
        and events[first + count - 1] is encoded.made[count - 1]
    )


def summary_line(document: dict) -> str:
    """One line for the terminal: tasks by state, steps, blocking calls, loop time."""
    tasks = document["tasks"]
    states = [s for s in TRACE_STATES if any(t["state"] == s for t in tasks)]
    by_state = ", ".join(f"{sum(t['state'] == s for t in tasks)} {s}" for s in states)
    steps = sum(t["resumes"] for t in tasks)
    blocking = len(document["blocking"])
    loop_time = document.get("otherData", {}).get("loop_time", 0.0)
    return (
        f"{_count(len(tasks), 'task')} ({by_state or 'none'}), {_count(steps, 'step')}, "
        f"{blocking} blocking, {loop_time:.2f} s of loop time"
    )


def problem_line(problem: dict) -> str:
    """One of the document's ``problems`` for the terminal: ``x.py:3: kind: message``."""
    where = f"{problem['line']}: " if problem.get("line") else ""
    times = f" ({problem['count']} times)" if problem.get("count", 1) > 1 else ""
    return f"{where}{problem['kind']}: {problem['message']}{times}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
