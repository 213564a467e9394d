"""A check of the documented trace shape (docs/TRACE_FORMAT.md).

``problems(document)`` lists every way a trace document departs from the public
format, as readable strings; an empty list means the document is valid. It checks
types and allowed values, and that the two halves agree: every task has a thread,
one ``X`` slice per resume and an ``i`` instant named after its state when it ended.
"""

from __future__ import annotations

import math
from collections import Counter
from numbers import Real

TOP_KEYS = {"traceEvents", "tasks", "blocking", "problems"}
OPTIONAL_TOP_KEYS = {"displayTimeUnit", "otherData"}
TASK_KEYS = {
    "id",
    "name",
    "coro",
    "parent",
    "state",
    "created",
    "finished",
    "resumes",
    "result",
    "exception",
}
BLOCK_KEYS = {"task", "start", "duration", "line"}
PROBLEM_KEYS = {"kind", "task", "line", "time", "message", "count"}
# As docs/TRACE_FORMAT.md lists them (spelt out: the format, not the code, decides).
PROBLEM_KINDS = {
    "blocking call",
    "busy loop",
    "never awaited",
    "never retrieved",
    "deadlock",
    "task dropped",
    "left pending",
    "not awaitable",
    "other loop",
}
STATES = {"pending", "done", "cancelled", "failed"}
PHASES = {"M", "X", "B", "E", "i"}
METADATA = {"process_name", "thread_name", "thread_sort_index"}


def _number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value) -> bool:
    return value is None or isinstance(value, str)


def problems(document) -> list[str]:
    found: list[str] = []
    if not isinstance(document, dict):
        return ["the document is not a JSON object"]
    missing = TOP_KEYS - document.keys()
    extra = document.keys() - TOP_KEYS - OPTIONAL_TOP_KEYS
    if missing:
        return [f"missing top-level keys {sorted(missing)}"]
    if extra:
        found.append(f"unexpected top-level keys {sorted(extra)}")
    for key in TOP_KEYS:
        if not isinstance(document[key], list):
            found.append(f"{key} is not a list")
    if found:
        return found
    found += _event_problems(document["traceEvents"])
    found += _task_problems(document["tasks"])
    found += _block_problems(document["blocking"])
    found += _problem_problems(document["problems"])
    if not found:
        found += _agreement_problems(document)
    return found


def _event_problems(events: list) -> list[str]:
    found = []
    for index, event in enumerate(events):
        where = f"traceEvents[{index}]"
        if not isinstance(event, dict):
            found.append(f"{where} is not an object")
            continue
        phase = event.get("ph")
        if phase not in PHASES:
            found.append(f"{where}: ph {phase!r} is not one of {sorted(PHASES)}")
            continue
        if not isinstance(event.get("name"), str):
            found.append(f"{where}: name is not a string")
        if not (_int(event.get("pid")) and _int(event.get("tid"))):
            found.append(f"{where}: pid and tid must be integers")
        if "args" in event and not isinstance(event["args"], dict):
            found.append(f"{where}: args is not an object")
        if phase == "M":
            if event.get("name") not in METADATA:
                found.append(f"{where}: unknown metadata {event.get('name')!r}")
            continue
        if not (_number(event.get("ts")) and event["ts"] >= 0):
            found.append(f"{where}: ts must be a number of microseconds >= 0")
        if phase == "X" and not (_number(event.get("dur")) and event["dur"] >= 0):
            found.append(f"{where}: an X slice needs dur >= 0")
        if phase == "i" and event.get("s") not in ("t", "p", "g"):
            found.append(f"{where}: an instant needs scope s of t, p or g")
    return found


def _task_problems(tasks: list) -> list[str]:
    found = []
    for index, task in enumerate(tasks):
        where = f"tasks[{index}]"
        if not isinstance(task, dict) or set(task) != TASK_KEYS:
            keys = sorted(task) if isinstance(task, dict) else task
            found.append(f"{where}: keys must be {sorted(TASK_KEYS)}, not {keys}")
            continue
        checks = {
            "id": _int(task["id"]),
            "name": isinstance(task["name"], str),
            "coro": isinstance(task["coro"], str),
            "parent": task["parent"] is None or _int(task["parent"]),
            "state": task["state"] in STATES,
            "created": _number(task["created"]) and task["created"] >= 0,
            "finished": task["finished"] is None
            or (_number(task["finished"]) and task["finished"] >= task["created"]),
            "resumes": _int(task["resumes"]) and task["resumes"] >= 0,
            "result": _optional_str(task["result"]),
            "exception": _optional_str(task["exception"]),
        }
        found += [f"{where}: bad {key} {task[key]!r}" for key, ok in checks.items() if not ok]
        if checks["state"] and (task["state"] == "pending") != (task["finished"] is None):
            found.append(f"{where}: finished must be null exactly while pending")
    return found


def _block_problems(blocks: list) -> list[str]:
    found = []
    for index, block in enumerate(blocks):
        where = f"blocking[{index}]"
        if not isinstance(block, dict) or set(block) != BLOCK_KEYS:
            found.append(f"{where}: keys must be {sorted(BLOCK_KEYS)}")
            continue
        line = block["line"]
        checks = {
            "task": isinstance(block["task"], str),
            "start": _number(block["start"]) and block["start"] >= 0,
            "duration": _number(block["duration"]) and block["duration"] > 0,
            "line": line is None or (isinstance(line, str) and line.rsplit(":", 1)[-1].isdigit()),
        }
        found += [f"{where}: bad {key} {block[key]!r}" for key, ok in checks.items() if not ok]
    return found


def _problem_problems(entries: list) -> list[str]:
    found = []
    for index, entry in enumerate(entries):
        where = f"problems[{index}]"
        if not isinstance(entry, dict) or set(entry) != PROBLEM_KEYS:
            found.append(f"{where}: keys must be {sorted(PROBLEM_KEYS)}")
            continue
        line = entry["line"]
        checks = {
            "kind": entry["kind"] in PROBLEM_KINDS,
            "task": _optional_str(entry["task"]),
            "line": line is None or (isinstance(line, str) and line.rsplit(":", 1)[-1].isdigit()),
            "time": _number(entry["time"]) and entry["time"] >= 0,
            "message": isinstance(entry["message"], str) and entry["message"].strip() != "",
            "count": isinstance(entry["count"], int) and entry["count"] >= 1,
        }
        found += [f"{where}: bad {key} {entry[key]!r}" for key, ok in checks.items() if not ok]
    return found


def _agreement_problems(document: dict) -> list[str]:
    found = []
    events = document["traceEvents"]
    threads = {e["tid"]: e["args"].get("name") for e in events if e["name"] == "thread_name"}
    slices = Counter(e["tid"] for e in events if e["ph"] == "X")
    ends = {e["tid"]: e for e in events if e["ph"] == "i"}
    dropped = document.get("otherData", {}).get("dropped_steps", 0)
    for task in document["tasks"]:
        tid = task["id"]
        if threads.get(tid) != task["name"]:
            found.append(f"task {tid} ({task['name']}) has no matching thread_name event")
        if not dropped and slices[tid] != task["resumes"]:
            found.append(f"task {tid} has {slices[tid]} X slices for {task['resumes']} resumes")
        end = ends.get(tid)
        if task["finished"] is None:
            if end is not None:
                found.append(f"pending task {tid} has an end instant")
        elif end is None or end["name"] != task["state"]:
            found.append(f"task {tid} lacks an i instant named {task['state']!r}")
        elif abs(end["ts"] - task["finished"] * 1e6) > 2:
            found.append(f"task {tid}: end instant at {end['ts']} us, finished {task['finished']}")
    for tid, depth in _wait_depths(events).items():
        if depth:
            found.append(f"thread {tid}: {depth} unclosed wait slices")
    return found


def _wait_depths(events: list) -> dict[int, int]:
    depth: Counter = Counter()
    for event in events:
        if event["ph"] == "B":
            depth[event["tid"]] += 1
        elif event["ph"] == "E":
            depth[event["tid"]] -= 1
    return depth


def script_tasks(document: dict) -> list[dict]:
    """The tasks a script made, without the two asyncio.run adds as it shuts down
    (shutdown_asyncgens, shutdown_default_executor): the trace keeps them, as they
    really run."""
    return [t for t in document["tasks"] if not t["coro"].startswith("BaseEventLoop.shutdown_")]
