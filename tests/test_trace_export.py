"""The trace file: what a run did, in the documented shape, from the loop's own events.

All runs here are headless with autojump, so sleeps cost no real time and the
countdown's tasks end at 2, 3 and 4 s of loop time.
"""

import asyncio
import gc
import json
import re
import time
from pathlib import Path

import pytest
from coroscope.control.controller import Controller
from coroscope.control.run import Target
from coroscope.control.targets import demo_target
from coroscope.models.trace_collector import TraceCollector
from coroscope.takes.trace_file import summary_line, write_trace

from tests.trace_schema import problems

HERE = Path(__file__).name


def trace_of(loop, target, collector=None):
    collector = collector or TraceCollector()
    collector.listen_to(loop.events)
    controller = Controller(loop, capture_output=False)
    try:
        run = controller.start(target)
        collector.reset(origin=loop.clock.origin, run=run.id)
        loop.run_until_complete(asyncio.wait([run.main]))
        loop.run_until_complete(controller.stop())
    finally:
        controller.close()
    return collector.build(end=loop.clock.now(), metadata={"target": target.key})


def by_name(document):
    return {task["name"]: task for task in document["tasks"]}


def test_countdown_trace_lists_three_tasks_ending_at_2_3_4_seconds(headless):
    document = trace_of(headless, demo_target("countdown"))
    tasks = by_name(document)
    assert sorted(tasks) == ["main", "task1", "task2", "task3"]
    for name, seconds in (("task1", 4), ("task2", 3), ("task3", 2)):
        task = tasks[name]
        assert task["state"] == "done"
        assert task["finished"] == pytest.approx(seconds, abs=0.02)
        assert task["created"] == pytest.approx(0.0, abs=0.02)
        assert task["resumes"] == 2  # first step parks on sleep(); the timer wakes it
        assert task["parent"] == tasks["main"]["id"]
        assert task["result"] == f"'{name} slept {seconds} s'"
        assert task["exception"] is None
    assert tasks["main"]["parent"] is None
    assert tasks["main"]["finished"] == pytest.approx(4.0, abs=0.02)
    assert document["blocking"] == []


def test_countdown_trace_has_the_documented_shape(headless):
    document = trace_of(headless, demo_target("countdown"))
    assert problems(document) == []
    # and survives a JSON round trip unchanged
    assert json.loads(json.dumps(document)) == document


def test_trace_events_make_threads_slices_waits_and_end_instants(headless):
    document = trace_of(headless, demo_target("countdown"))
    events = document["traceEvents"]
    task1 = by_name(document)["task1"]
    mine = [e for e in events if e.get("tid") == task1["id"] and e["ph"] != "M"]
    assert [(e["ph"], e["name"]) for e in mine] == [
        ("X", "task1"),
        ("B", "sleep(4)"),
        ("E", "sleep(4)"),
        ("X", "task1"),
        ("i", "done"),
    ]
    first, wait_start, wait_end, second, end = mine
    assert first["args"]["then"] == "sleep(4)"
    assert first["args"]["line"] == "countdown.py:23"
    assert wait_end["ts"] - wait_start["ts"] == pytest.approx(4e6, rel=0.01)
    assert second["args"]["then"] == "done"
    assert end["ts"] == pytest.approx(4e6, rel=0.01)
    process = next(e for e in events if e["name"] == "process_name")
    assert process["args"]["name"] == "coroscope: countdown"


async def _nap(seconds):
    await asyncio.sleep(seconds)


async def _fail_later():
    await asyncio.sleep(0.5)
    raise ValueError("bad value")


def _spin(seconds):
    # Holds the loop like a blocking call would, without sleeping the test.
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


async def _blocker():
    await asyncio.sleep(1.0)
    _spin(0.06)
    await asyncio.sleep(0)  # where the blocking step parked: the trace points here


def _mixed_target():
    async def main():
        sleeper = asyncio.create_task(_nap(10), name="sleeper")
        failing = asyncio.create_task(_fail_later(), name="failing")
        blocker = asyncio.create_task(_blocker(), name="blocker")
        await asyncio.sleep(2.0)
        sleeper.cancel()
        await asyncio.gather(sleeper, failing, blocker, return_exceptions=True)

    return Target("mixed", "Mixed", __file__, main)


def test_cancelled_failed_and_blocking_tasks():
    from coroscope.loop.traced_loop import HeadlessLoop

    loop = HeadlessLoop(autojump=True, block_threshold=0.05)
    try:
        document = trace_of(loop, _mixed_target())
    finally:
        loop.close()
    assert problems(document) == []
    tasks = by_name(document)
    assert tasks["sleeper"]["state"] == "cancelled"
    assert tasks["sleeper"]["exception"] == "CancelledError"
    assert tasks["sleeper"]["finished"] == pytest.approx(2.0, abs=0.1)
    assert tasks["failing"]["state"] == "failed"
    assert tasks["failing"]["exception"] == "ValueError: bad value"
    assert tasks["failing"]["finished"] == pytest.approx(0.5, abs=0.05)
    ends = {e["tid"]: e["name"] for e in document["traceEvents"] if e["ph"] == "i"}
    assert ends[tasks["sleeper"]["id"]] == "cancelled"
    assert ends[tasks["failing"]["id"]] == "failed"
    [block] = document["blocking"]
    assert block["task"] == "blocker"
    assert block["duration"] >= 0.06
    assert block["start"] == pytest.approx(1.0, abs=0.05)
    line = next(
        n
        for n, text in enumerate(Path(__file__).read_text().splitlines(), 1)
        if "_spin(0.06)" in text
    )
    assert block["line"] == f"{HERE}:{line + 1}"


def test_a_run_filter_keeps_only_that_runs_tasks_and_times_start_at_the_run(headless):
    headless.run_until_complete(asyncio.sleep(3.0))  # loop time passes before the run
    collector = TraceCollector()
    collector.listen_to(headless.events)
    controller = Controller(headless, capture_output=False)
    try:
        run = controller.start(demo_target("countdown"))
        collector.reset(origin=headless.clock.now(), run=run.id)
        headless.run_until_complete(run.main)
    finally:
        controller.close()
    document = collector.build()
    tasks = by_name(document)
    assert sorted(tasks) == ["main", "task1", "task2", "task3"]  # not the wait() helper
    assert tasks["task3"]["finished"] == pytest.approx(2.0, abs=0.02)
    assert problems(document) == []


def test_pending_tasks_keep_open_waits_closed_at_the_end(headless):
    collector = TraceCollector()
    collector.listen_to(headless.events)

    async def main():
        long = asyncio.create_task(_nap(100), name="long")
        await asyncio.sleep(1)
        return long

    headless.run_until_complete(main())
    document = collector.build(end=headless.clock.now())
    long = by_name(document)["long"]
    assert long["state"] == "pending" and long["finished"] is None
    assert problems(document) == []


def test_step_cap_drops_slices_but_keeps_counts_exact(headless):
    collector = TraceCollector(max_steps=3)
    document = trace_of(headless, demo_target("countdown"), collector)
    assert collector.dropped_steps == 5
    assert sum(1 for e in document["traceEvents"] if e["ph"] == "X") == 3
    assert [t["resumes"] for t in document["tasks"]] == [2, 2, 2, 2]
    assert document["otherData"]["dropped_steps"] == 5
    assert problems(document) == []


def test_summary_line(headless):
    document = trace_of(headless, demo_target("countdown"))
    assert re.fullmatch(
        r"4 tasks \(4 done\), 8 steps, \d+ blocking, 4\.0\d s of loop time", summary_line(document)
    )
    document["tasks"][0]["state"] = "failed"
    assert summary_line(document).startswith("4 tasks (3 done, 1 failed), 8 steps")


def test_write_is_atomic(tmp_path, headless):
    document = trace_of(headless, demo_target("countdown"))
    out = tmp_path / "t.json"
    write_trace(document, out)
    assert json.loads(out.read_text()) == document
    broken = dict(document, otherData={"oops": object()})  # not JSON-serialisable
    with pytest.raises(TypeError):
        write_trace(broken, tmp_path / "broken.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def test_the_file_is_what_the_pure_python_encoder_writes(tmp_path, headless):
    # The writer uses json's C encoder; the bytes are those json.dump wrote before
    # (compact, ASCII escapes, one line and a newline).
    document = trace_of(headless, demo_target("countdown"))
    document["otherData"]["target"] = "café ✓.py"
    document["tasks"][0]["result"] = 'a "quoted"\nline'
    out = write_trace(document, tmp_path / "t.json")
    encoder = json.JSONEncoder(separators=(",", ":"))
    assert out.read_bytes() == ("".join(encoder.iterencode(document)) + "\n").encode()


def test_building_leaves_the_garbage_collector_as_it_was(headless):
    collector = TraceCollector()
    trace_of(headless, demo_target("countdown"), collector)
    assert gc.isenabled()
    gc.disable()
    try:
        document = collector.build()
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collector.build() == document
    assert gc.isenabled()


def test_schema_check_catches_mistakes(headless):
    document = trace_of(headless, demo_target("countdown"))
    bad = json.loads(json.dumps(document))
    bad["tasks"][1]["state"] = "finished"
    bad["tasks"][2]["resumes"] = 3
    del bad["tasks"][3]["exception"]
    bad["traceEvents"].append({"name": "x", "ph": "X", "ts": 1, "pid": 1, "tid": 1})
    found = problems(bad)
    assert any("bad state 'finished'" in p for p in found)
    assert any("keys must be" in p for p in found)
    assert any("needs dur" in p for p in found)
    assert problems({"traceEvents": []}) == [
        "missing top-level keys ['blocking', 'problems', 'tasks']"
    ]
