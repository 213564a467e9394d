"""``coroscope trace`` takes bare-yield steps in bulk and makes the document's steps
while the script runs: the file and the findings are the same as when every
step is emitted into the log as a ``TaskStep`` and the document made at the end."""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

import pytest
from coroscope.host import protocol
from coroscope.host.child import ChildOptions, ScriptChild
from coroscope.loop.events import TaskStep, unpacked
from coroscope.models.findings import FindingsModel, ReadyStep
from coroscope.models.trace_collector import TraceCollector
from coroscope.takes.trace_file import encode

pytestmark = pytest.mark.timeout(60)

PACK = struct.Struct("<dqdd").pack
KIND = {name: number for number, name in enumerate(protocol.kind_names())}


class _Recording(ScriptChild):
    """A child whose messages are kept, to be taken in again other ways."""

    def __init__(self, script: str, options: ChildOptions) -> None:
        super().__init__(script, options)
        self.messages: list[tuple] = []

    def _dispatch(self, message: tuple) -> None:
        self.messages.append(message)
        super()._dispatch(message)


def _taken_in(
    messages: list[tuple], bulk: bool, ahead_every: int = 0, max_steps: int = 1_000_000
) -> tuple[str, list, tuple[int, int]]:
    """The file's text, the findings and the dropped counts, as ``trace_script``
    makes them of these messages: with steps in bulk and the document made
    ``ahead_every`` messages as it goes, or the plain way."""
    child = ScriptChild("prog.py")
    collector = TraceCollector(max_steps=max_steps)
    collector.listen_to(child.log)
    collector.reset(run=1)
    findings = FindingsModel()
    findings.listen_to(child.log)
    if bulk:

        def ready_steps(steps: list[ReadyStep]) -> None:
            collector.ready_steps(steps)
            findings.ready_steps(steps)

        child.on_ready_steps = ready_steps
    for number, message in enumerate(messages):
        child._dispatch(message)
        if ahead_every and number % ahead_every == 0 and child.origin is not None:
            collector.origin = child.origin
            collector.build_ahead(most=ahead_every * 7)
            collector.encode_ahead(at_least=ahead_every * 3)  # JSON text made ahead too
    origin = child.origin if child.origin is not None else 0.0
    collector.origin = origin
    document = collector.build(
        end=child.now, metadata={"target": "prog.py"}, findings=findings.findings
    )
    # The plain way, json.dumps of it all; else as the trace file writes it, with
    # the text made ahead: the same bytes either way.
    text = encode(document) if ahead_every else json.dumps(document, separators=(",", ":"))
    return text, findings.findings, (collector.dropped_steps, collector.dropped_tasks)


def _all_ways(messages: list[tuple], max_steps: int = 1_000_000) -> str:
    plain = _taken_in(messages, bulk=False, max_steps=max_steps)
    for ahead_every in (0, 1, 2, 5):
        assert _taken_in(messages, True, ahead_every, max_steps) == plain, ahead_every
    return plain[0]


SCRIPT = """\
import asyncio, time


async def spin(n):
    for _ in range(n):
        await asyncio.sleep(0)
    if n == 52:
        time.sleep(0.15)  # held the loop, in a step that ends in a bare yield
    await asyncio.sleep(0)
    await asyncio.sleep(0.005)
    return n


async def main():
    await asyncio.gather(*(spin(50 + i) for i in range(20)))
    asyncio.create_task(asyncio.Event().wait(), name="forgotten")
    await asyncio.sleep(0)


asyncio.run(main())
"""


def test_a_real_run_taken_in_bulk_makes_the_same_file_and_findings(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text(SCRIPT)
    child = _Recording(str(script), ChildOptions(python=sys.executable, run_id=1))
    child.start()
    deadline = time.monotonic() + 30
    while child.pump(0.05) and time.monotonic() < deadline:
        pass
    assert child.end().code == 0
    steps = sum(
        isinstance(record, bytes)
        for message in child.messages
        if message[0] == protocol.EVENTS
        for record in message[2]
    )
    assert steps > 1000  # most of the steps came packed
    text = _all_ways(child.messages)
    document = json.loads(text)
    assert sum(task["resumes"] for task in document["tasks"]) > steps
    assert len(document["blocking"]) == 1
    assert {problem["kind"] for problem in document["problems"]} >= {"blocking call"}
    # Fewer steps kept than came: the same ones dropped, the same count.
    assert '"dropped_steps":0' not in _all_ways(child.messages, max_steps=500)


def _created(task: int, name: str, run: int | None = 1) -> tuple:
    return (KIND["TaskCreated"], 0.1, task, name, 1 if task > 1 else None, "work()", (), run)


def _step(t: float, task: int, waiting: str, awaiting: str = "", line: int = 0) -> tuple:
    frames = (("/x/prog.py", line, "work"),) if line else ()
    return (KIND["TaskStep"], t, task, t - 0.001, 0.001, waiting, awaiting, None, frames, ())


def _ended(t: float, task: int) -> tuple:
    return (KIND["TaskEnded"], t, task, "done", "None", None, None, "", 0)


def test_the_odd_cases_make_the_same_file() -> None:
    hello = (protocol.HELLO, protocol.VERSION, 1, "3.11.7", 0.05, "prog.py", protocol.kind_names())
    batches = [
        [_created(1, "main"), _created(2, "Task-2"), _created(9, "helper", run=None)],
        # Bare yields, one of a task of no run, one that is not a step at all.
        [
            PACK(0.2, 2, 0.001, 1.0),
            PACK(0.21, 9, 0.001, 1.0),
            b"\x00" * 31,
            PACK(0.22, 1, 0.0, 0.0),
        ],
        [_step(0.3, 2, "sleep", "sleep(1)", line=4), PACK(0.4, 1, 0.002, 0.5)],
        # A bare yield that held the loop, then its LoopBlocked, in one batch and across two.
        [
            PACK(0.6, 2, 0.15, 1.0),
            (KIND["LoopBlocked"], 0.6, 2, "Task-2", 0.15, "/x/p.py", 3, 0.0, ""),
        ],
        [PACK(0.8, 1, 0.2, 1.0)],
        [(KIND["LoopBlocked"], 0.8, 1, "main", 0.2, "/x/p.py", 9, 0.9, "")],
        # Renamed once its steps may have been made: made again under its new name.
        [(KIND["TaskRenamed"], 0.85, 2, "renamed"), PACK(0.9, 2, 0.001, 1.0)],
        [_step(1.0, 1, "task", "Task-2"), PACK(1.1, 2, 0.001, 1.0)],
        [_ended(1.2, 2), _step(1.3, 1, "done")],
        [_ended(1.3, 1)],
    ]
    messages = [hello, *((protocol.EVENTS, 0, batch) for batch in batches)]
    messages.append((protocol.TICK, 1.4, ()))
    text = _all_ways(messages)
    document = json.loads(text)
    steps = [event for event in document["traceEvents"] if event["ph"] == "X"]
    assert {event["name"] for event in steps if event["tid"] == 2} == {"renamed"}
    assert [task["resumes"] for task in document["tasks"]] == [5, 5]
    assert len(document["blocking"]) == 2
    for max_steps in (1, 3, 7):
        _all_ways(messages, max_steps=max_steps)


def test_a_document_made_ahead_is_made_again_for_another_origin_and_each_build() -> None:
    collector = TraceCollector()
    collector.reset(run=1)
    collector._created(_event("TaskCreated", _created(1, "main")))
    collector.ready_steps([(0.2, 1, 0.001, 1.0), (0.3, 1, 0.001, 1.0)])
    collector.origin = 0.1
    collector.build_ahead()
    collector.origin = 0.0  # say the run's start came later
    first = json.dumps(collector.build())
    fresh = TraceCollector()
    fresh.reset(run=1)
    fresh._created(_event("TaskCreated", _created(1, "main")))
    fresh.ready_steps([(0.2, 1, 0.001, 1.0), (0.3, 1, 0.001, 1.0)])
    assert first == json.dumps(fresh.build())
    # A build hands what was made ahead to its document: the next makes its own.
    collector.build_ahead()
    again = collector.build()
    assert json.dumps(again) == first
    for event in again["traceEvents"]:
        event.clear()  # (the document is its reader's)
    assert json.dumps(collector.build()) == first


def _event(kind: str, record: tuple):
    decoder = protocol.EventDecoder(protocol.kind_names())
    event = decoder.decode(record)
    assert type(event).__name__ == kind
    return event


def test_packed_steps_unpack_in_bulk_as_one_by_one() -> None:
    packed = [PACK(1.5, 7, 0.25, 0.5), PACK(2.0, 8, 0.0, 0.0), b"short", PACK(3.0, 9, 1.0, 2.0)]
    steps = protocol.ready_steps(packed)
    assert steps == [(1.5, 7, 0.25, 0.5), (2.0, 8, 0.0, 0.0), (3.0, 9, 1.0, 2.0)]
    decoder = protocol.EventDecoder(protocol.kind_names())
    assert [decoder.decode(record) for record in packed] == [
        unpacked(packed[0]),
        unpacked(packed[1]),
        None,
        unpacked(packed[3]),
    ]
    for (t, task, wall, rate), record in zip(steps, (packed[0], packed[1], packed[3]), strict=True):
        assert unpacked(record) == TaskStep(t, task, t - wall * rate, wall, "ready", "", None, ())


def test_without_a_bulk_taker_listeners_hear_every_step_as_a_taskstep() -> None:
    """The window's models (no ``on_ready_steps``) hear packed steps as before."""
    child = ScriptChild("prog.py")
    heard: list = []
    child.log.subscribe(heard.append, kinds=(TaskStep,))
    hello = (protocol.HELLO, protocol.VERSION, 1, "3.11.7", 0.0, "prog.py", protocol.kind_names())
    child._dispatch(hello)
    child._dispatch((protocol.EVENTS, 0, [PACK(0.5, 3, 0.1, 1.0), _step(0.6, 3, "sleep")]))
    assert [type(event) for event in heard] == [TaskStep, TaskStep]
    assert heard[0] == unpacked(PACK(0.5, 3, 0.1, 1.0))


def test_text_made_ahead_is_not_used_once_the_events_were_changed() -> None:
    collector = TraceCollector()
    messages = [
        (protocol.HELLO, protocol.VERSION, 1, "3.11", 0.0, "prog.py", protocol.kind_names()),
        (protocol.EVENTS, 1, [_created(1, "main"), _step(0.2, 1, "ready"), _ended(0.3, 1)]),
    ]
    child = ScriptChild("prog.py")
    collector.listen_to(child.log)
    collector.reset(run=1)
    for message in messages:
        child._dispatch(message)
    collector.origin = child.origin
    collector.build_ahead()
    collector.encode_ahead()
    document = collector.build(end=0.3)
    assert document.encoded is not None and document.encoded.count
    assert encode(document) == json.dumps(document, separators=(",", ":"))
    document["traceEvents"].insert(1, {"name": "added later"})  # someone edits the list
    assert encode(document) == json.dumps(document, separators=(",", ":"))
    assert '"added later"' in encode(document)
