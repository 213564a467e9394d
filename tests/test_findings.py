"""Mistakes made visible: each classic asyncio mistake is named with its line, and a
correct program (every demo) gets no finding at all."""

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from coroscope import demos
from coroscope.cli import main
from coroscope.control.controller import Controller
from coroscope.control.run import Target
from coroscope.loop.events import LeftRunning, LoopStalled, TaskCreated, TaskEnded, TaskStep
from coroscope.loop.traced_loop import HeadlessLoop
from coroscope.models.findings import FindingsModel

from tests.trace_schema import problems as schema_problems
from tests.trace_schema import script_tasks

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"


# sample -> (the kind found, a fragment of the line it names, the exit code)
SAMPLE_FINDINGS = {
    "forgotten_await.py": ("never awaited", 'save("notes.txt")', 0),
    "blocking_call.py": ("blocking call", "time.sleep(1)", 0),
    # either line of the spinning loop, wherever the sample caught it
    "never_yields.py": ("busy loop", ("while time.perf_counter() < end:", "total += 1"), 0),
    "unretrieved_exception.py": ("never retrieved", "return a / b", 0),
    "deadlock_cycle.py": ("deadlock", 'await tasks["second"]', 3),
    "deadlock_event.py": ("deadlock", "await start.wait()", 3),
    "dropped_task.py": ("task dropped", "await reply", 0),
    "left_pending.py": ("left pending", "await asyncio.sleep(2)", 0),
    # these two end as python ends them: main fails, so the script exits 1
    "await_not_awaitable.py": ("not awaitable", "await asyncio.sleep\n", 1),
    "other_loop_future.py": ("other loop", "await answer", 1),
}


def trace(tmp_path, target: str, capsys) -> tuple[int, dict, str]:
    out = tmp_path / "trace.json"
    code = main(["trace", target, "-o", str(out)])
    err = capsys.readouterr().err
    return code, json.loads(out.read_text()), err


def trace_apart(tmp_path, target: str) -> tuple[int, dict, str]:
    """As ``trace``, in a process of its own: a sample's gc.collect() in this one,
    with the whole suite's objects to walk, could itself block the loop."""
    out = tmp_path / "trace.json"
    done = subprocess.run(
        [sys.executable, "-m", "coroscope", "trace", target, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, json.loads(out.read_text()), done.stderr


def line_of(path: Path, fragment: str) -> int:
    text = path.read_text()
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "sample",
    sorted(SAMPLE_FINDINGS),
)
def test_each_mistake_is_named_with_its_line(tmp_path, sample):
    kind, fragment, exit_code = SAMPLE_FINDINGS[sample]
    path = SAMPLES / sample
    code, document, err = trace_apart(tmp_path, str(path))
    assert schema_problems(document) == []
    assert code == exit_code
    found = [p for p in document["problems"] if p["kind"] == kind]
    assert len(found) == 1, document["problems"]
    fragments = fragment if isinstance(fragment, tuple) else (fragment,)
    assert found[0]["line"] in {f"{sample}:{line_of(path, f)}" for f in fragments}
    # ...and only that one: a sample shows its own mistake, not noise around it
    assert [p["kind"] for p in document["problems"]] == [kind]
    # one line per problem on stderr, after the summary
    lines = [line for line in err.splitlines() if line.startswith("coroscope: ")]
    assert lines[0].startswith("coroscope: wrote ")
    assert lines[1] == f"coroscope: problem: {found[0]['line']}: {kind}: {found[0]['message']}"


@pytest.mark.timeout(60)
def test_a_deadlock_stops_the_trace_at_once(tmp_path, capsys):
    code, document, err = trace(tmp_path, str(SAMPLES / "deadlock_event.py"), capsys)
    assert code == 3
    assert re.search(r"deadlock at t=0\.\d\d: ", err)
    # it did not run on to the 60 s --duration
    assert document["otherData"]["loop_time"] < 1.0
    (finding,) = document["problems"]
    assert "wait for Event.wait()" in finding["message"]
    assert all(task["state"] != "pending" for task in document["tasks"])


@pytest.mark.timeout(60)
def test_the_cycle_of_a_deadlock_is_named(tmp_path, capsys):
    code, document, _err = trace(tmp_path, str(SAMPLES / "deadlock_cycle.py"), capsys)
    assert code == 3
    (finding,) = document["problems"]
    assert finding["message"].startswith("first awaits second and second awaits first")
    # at once: 0.5 s of jumped sleep plus the real time of its few steps (more when busy)
    assert finding["time"] == pytest.approx(0.5, abs=0.05)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("key", sorted(d.key for d in demos.DEMOS))
def test_no_demo_has_a_finding_but_the_one_it_teaches(tmp_path, capsys, key):
    code, document, err = trace(tmp_path, key, capsys)
    assert code == 0, err
    found = [(p["kind"], p["line"]) for p in document["problems"]]
    if key == "thread_pool":  # it blocks the loop on purpose, to show what that does
        path = ROOT / "demos" / "thread_pool.py"
        assert found == [
            ("blocking call", f"thread_pool.py:{line_of(path, 'time.sleep(seconds)')}")
        ]
    else:
        assert found == []
        assert "coroscope: problem:" not in err


CORRECT = """
import asyncio
import time


async def worker(queue, results):
    while True:
        item = await queue.get()
        results.append(await asyncio.to_thread(sum, range(item)))
        queue.task_done()


async def main():
    queue, results = asyncio.Queue(), []
    workers = [asyncio.create_task(worker(queue, results)) for _ in range(3)]
    for n in range(10):
        await queue.put(n)
    await queue.join()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    try:
        async with asyncio.timeout(0.1):
            await asyncio.Event().wait()
    except TimeoutError:
        pass
    failing = asyncio.create_task(asyncio.sleep(0.1, result=1 / 1))
    print(await failing, len(results), time.monotonic() > 0)


asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_a_correct_program_has_no_finding(tmp_path, capsys):
    script = tmp_path / "correct.py"
    script.write_text(CORRECT)
    code, document, err = trace(tmp_path, str(script), capsys)
    assert code == 0, err
    assert document["problems"] == []


# -- the model on its own -----------------------------------------------------


def created(task, name, parent=None, run=1, coro=""):
    return TaskCreated(0.0, task, name, parent, coro or name, (), run)


def parked(task, t, targets=(), waiting="task", awaiting=""):
    return TaskStep(t, task, t, 0.0, waiting, awaiting, None, (("x.py", task * 10, "f"),), targets)


def test_a_three_task_cycle_is_named_in_order_and_said_once():
    model = FindingsModel()
    heard = []
    model.on_finding.append(heard.append)
    for task, name in ((1, "main"), (2, "a"), (3, "b"), (4, "c")):
        model.apply(created(task, name, parent=None if task == 1 else 1))
    model.apply(parked(1, 0.1, (2, 3, 4), "future", "gather(3)"))
    model.apply(parked(2, 0.2, (3,)))
    model.apply(parked(3, 0.3, (4,)))
    model.apply(parked(4, 0.4, (2,)))
    model.apply(LoopStalled(0.5, 1, (1, 2, 3, 4)))
    model.apply(LoopStalled(0.6, 1, (1, 2, 3, 4)))  # the same stall, heard again
    (finding,) = model.findings
    assert [f.kind for f in heard] == ["deadlock"]  # said once, then counted
    assert finding.kind == "deadlock"
    assert finding.message.startswith("a awaits b, b awaits c and c awaits a,")
    assert finding.tasks == (2, 3, 4)
    assert (finding.file, finding.line, finding.t) == ("x.py", 20, 0.5)
    assert finding.count == 2


def test_left_pending_names_only_the_tasks_nothing_awaits():
    model = FindingsModel()
    model.apply(created(1, "main"))
    model.apply(created(2, "outer", parent=1))
    model.apply(created(3, "inner", parent=2))
    model.apply(created(4, "finished", parent=1))
    model.apply(parked(2, 0.1, (3,)))
    model.apply(parked(3, 0.1, (), "sleep", "sleep(5)"))
    model.apply(TaskEnded(0.2, 4, "done", "None", None, None))
    model.apply(TaskEnded(0.5, 1, "done", "None", None, None))
    model.apply(LeftRunning(0.5, 1, (2, 3)))
    assert [(f.kind, f.task_name) for f in model.findings] == [("left pending", "outer")]
    assert "outer was still waiting for task when main returned" in model.findings[0].message


def test_the_apps_own_tasks_are_never_a_finding():
    model = FindingsModel()
    model.apply(created(1, "coroscope-stop", run=None))
    model.apply(parked(1, 0.1))
    model.apply(
        TaskEnded(
            0.5, 1, "failed", None, "TypeError: object int can't be used in 'await' expression", ""
        )
    )
    model.apply(LoopStalled(0.6, 1, (1,)))
    assert model.findings == []


# -- the loop's facts ----------------------------------------------------------


@pytest.mark.timeout(30)
def test_python_prints_its_own_warning_unchanged(tmp_path):
    """Hearing the warning does not change it: same text, same file and line."""
    script = tmp_path / "forgot.py"
    script.write_text(
        "import asyncio\n\nasync def main():\n    asyncio.sleep(1)\n\nasyncio.run(main())\n"
    )
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    traced = subprocess.run(
        [sys.executable, "-m", "coroscope", "trace", str(script), "-o", str(tmp_path / "t.json")],
        capture_output=True,
        text=True,
    )
    warning = re.compile(r".*RuntimeWarning: coroutine 'sleep' was never awaited")
    said = [line for line in plain.stderr.splitlines() if warning.match(line)]
    assert said == [f"{script}:4: RuntimeWarning: coroutine 'sleep' was never awaited"]
    assert said[0] in traced.stderr


@pytest.mark.timeout(30)
def test_stop_on_a_stalled_run_leaves_nothing_pending_and_the_stall_is_said_once():
    loop = HeadlessLoop(autojump=True)
    controller = Controller(loop, capture_output=False)
    stalls = []
    loop.events.subscribe(stalls.append, kinds=(LoopStalled,))
    said = loop.create_future()
    loop.events.subscribe(lambda _e: said.done() or said.set_result(None), kinds=(LoopStalled,))

    async def waiter():
        await asyncio.Event().wait()

    async def program():
        await asyncio.gather(waiter(), waiter())

    try:
        run = controller.start(Target("stuck", "Stuck", __file__, program))
        loop.run_until_complete(
            asyncio.wait([run.main, said], timeout=5, return_when="FIRST_COMPLETED")
        )
        assert len(stalls) == 1
        assert len(stalls[0].tasks) == 3  # main and both waiters
        assert loop.clock.run_time() < 0.1  # said before autojump leapt to the 5 s timeout
        loop.run_until_complete(controller.stop())
        assert run.tasks() == []
        assert [f.kind for f in controller.models.findings.findings] == ["deadlock"]
    finally:
        controller.close()
        loop.close()


@pytest.mark.timeout(30)
def test_the_narration_says_each_mistake_in_its_own_words():
    import subprocess
    import time

    from coroscope.host.child import ChildOptions, ScriptChild
    from coroscope.models.run_models import RunModels

    path = SAMPLES / "forgotten_await.py"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    child = ScriptChild(str(path), ChildOptions(autojump=True, tag_output=True, **quiet))
    models = RunModels(child.log, time.perf_counter)
    child.start()
    while child.pump(0.1):
        pass
    assert child.end().code == 0
    said = [t for t in models.narration.texts() if t.startswith("⚠")]
    line = line_of(path, 'save("notes.txt")')
    assert said == [f"⚠ save() was called at forgotten_await.py:{line} but never awaited"]
    (finding,) = models.findings.findings
    assert finding.message not in said[0]  # its own words, not the list's sentence
    models.close()


TOP_LEVEL_BLOCKS = """
import asyncio
import time

time.sleep(0.3)  # like a slow import: under python no loop runs yet


async def main():
    await asyncio.sleep(0.1)
    time.sleep(0.3)  # this one blocks the program's loop


asyncio.run(main())
time.sleep(0.3)  # and after asyncio.run() the loop is gone again
"""


@pytest.mark.timeout(60)
def test_a_scripts_top_level_code_blocks_no_loop(tmp_path):
    script = tmp_path / "top.py"
    script.write_text(TOP_LEVEL_BLOCKS)
    code, document, err = trace_apart(tmp_path, str(script))
    assert code == 0, err
    lines = [p["line"] for p in document["problems"]]
    assert lines == [f"top.py:{line_of(script, 'time.sleep(0.3)  # this one')}"]


THREAD_ANSWERS = """
import asyncio
import threading
import time


async def main():
    loop = asyncio.get_running_loop()
    answer = loop.create_future()

    def worker():
        time.sleep(0.3)
        loop.call_soon_threadsafe(answer.set_result, 42)

    threading.Thread(target=worker).start()
    async with asyncio.timeout(30):
        print("answer", await answer)


asyncio.run(main())
"""


@pytest.mark.timeout(60)
def test_autojump_waits_for_a_plain_thread(tmp_path):
    """Idle loop time may be skipped only while nothing outside the loop can wake
    it: a thread of the program's could (it did not leap to the 30 s timeout)."""
    script = tmp_path / "thread.py"
    script.write_text(THREAD_ANSWERS)
    code, document, err = trace_apart(tmp_path, str(script))
    assert code == 0, err
    assert "main failed" not in err
    assert [t["state"] for t in script_tasks(document)] == ["done"]
    assert document["problems"] == []
    assert 0.25 < document["otherData"]["loop_time"] < 5


def test_an_import_a_library_asks_for_is_excused_but_not_the_programs_own(tmp_path, monkeypatch):
    """A library's lazy import on first use (httpx's first request loads anyio's
    backend) is a one-time cost the program cannot help; ``import x`` on the
    program's own line is the program's."""
    import importlib

    from coroscope.scripts.watchdog import _importing

    seen = {}
    (tmp_path / "probe_lazy.py").write_text("import sys\nseen = sys._getframe()\n")
    (tmp_path / "probe_own.py").write_text("import sys\nseen = sys._getframe()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen["lazy"] = importlib.import_module("probe_lazy").seen  # importlib asks: library code
    import probe_own  # this line asks: the program's own

    seen["own"] = probe_own.seen
    assert _importing(seen["lazy"]) is True
    assert _importing(seen["own"]) is False
