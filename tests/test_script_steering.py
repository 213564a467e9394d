"""Steering a script that runs in its own process, from the real window.

Each intent is a click or a key on the window's widgets; each check reads what
the script's own loop did, as its events came back: a lane cancelled there, a
sleep woken there, its clock paused and stepped with the window's, and Stop
leaving no process behind.
"""

from __future__ import annotations

import os
import textwrap
import time

import pytest
from coroscope.host.remote import RemoteRun
from PySide6.QtCore import Qt

pytestmark = pytest.mark.timeout(60)

NAPS = """\
import asyncio


async def nap(seconds):
    await asyncio.sleep(seconds)
    print(f"slept {seconds}")
    return seconds


async def main():
    first = asyncio.create_task(nap(30), name="long")
    second = asyncio.create_task(nap(20), name="longer")
    done = await asyncio.gather(first, second, return_exceptions=True)
    print("main saw", [type(d).__name__ for d in done])


asyncio.run(main())
"""


@pytest.fixture
def naps(window, tmp_path):
    path = tmp_path / "naps.py"
    path.write_text(textwrap.dedent(NAPS))
    assert window.script_feature.open_path(str(path))
    return window


def row(window, name):
    return window.controller.tasks.by_name(name)


def wait_row(qtbot, window, name, state, timeout=8000):
    qtbot.waitUntil(
        lambda: row(window, name) is not None and row(window, name).state == state,
        timeout=timeout,
    )
    window.tick()
    return row(window, name)


def test_the_script_runs_in_a_process_of_its_own(qtbot, naps):
    wait_row(qtbot, naps, "long", "sleep")
    run = naps.controller.run
    assert isinstance(run, RemoteRun)
    assert run.child.pid != os.getpid() and not run.child.process_ended
    # its tasks carry its own run and ids far from the window's
    long = row(naps, "long")
    assert long.id > 2**40
    assert naps.windowTitle().startswith("naps.py")


def test_clicking_a_lane_cancel_button_cancels_the_task_in_the_script(qtbot, naps):
    long = wait_row(qtbot, naps, "long", "sleep")
    point = naps.lanes.area_centre(long.id, "button")
    qtbot.mouseClick(naps.lanes.viewport(), Qt.MouseButton.LeftButton, pos=point)
    cancelled = wait_row(qtbot, naps, "long", "cancelled", timeout=3000)
    assert cancelled.exception == "CancelledError"
    # the other sleeper, woken from its lane with W, finishes at once there
    longer = row(naps, "longer")
    naps.lanes.select(longer.id)
    started = time.monotonic()
    qtbot.keyClick(naps.lanes, Qt.Key.Key_W)
    wait_row(qtbot, naps, "longer", "done", timeout=3000)
    assert time.monotonic() - started < 2
    qtbot.waitUntil(
        lambda: "main saw ['CancelledError', 'int']" in naps.controller.console.texts(),
        timeout=3000,
    )
    # print() arrived tagged with the task that printed it
    assert "[longer] slept 20" in naps.console.toPlainText()


def test_pause_freezes_the_scripts_clock_and_step_runs_one_thing_there(qtbot, naps):
    long = wait_row(qtbot, naps, "long", "sleep")
    controller = naps.controller
    controller.pause()
    frozen = controller.clock.now()
    # wake it while paused: its timer is due, but nothing runs until Step
    controller.wake(long.id)
    qtbot.wait(300)
    assert row(naps, "long").state == "sleep"
    assert controller.clock.now() == frozen
    for _ in range(6):
        controller.step()
        qtbot.wait(100)
        if row(naps, "long").state == "done":
            break
    assert row(naps, "long").state == "done"
    assert controller.clock.paused
    # what the script's loop reports happened at the window's paused time
    assert abs(row(naps, "long").finished - frozen) < 0.05
    controller.resume()
    assert not controller.clock.paused


def test_stop_ends_the_script_and_its_process(qtbot, naps):
    wait_row(qtbot, naps, "long", "sleep")
    run = naps.controller.run
    pid = run.child.pid
    stop = naps.toolbar.widgetForAction(naps.stop_action)
    qtbot.mouseClick(stop, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: run.over, timeout=5000)
    assert run.child.outcome.killed == ""  # it heard the Stop and ended by itself
    assert row(naps, "long").state == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not naps.controller.running
    assert "■ naps.py stopped" in naps.controller.console.texts()


def test_restart_runs_the_script_again_in_a_new_process(qtbot, naps):
    wait_row(qtbot, naps, "long", "sleep")
    first = naps.controller.run
    naps.restart()
    qtbot.waitUntil(lambda: naps.controller.run is not first, timeout=8000)
    wait_row(qtbot, naps, "long", "sleep")
    assert first.over
    assert naps.controller.run.child.pid != first.child.pid


def test_moving_a_timer_of_the_loop_panel_moves_it_in_the_script(qtbot, naps):
    long = wait_row(qtbot, naps, "long", "sleep")
    controller = naps.controller
    [timer] = [t for t in controller.models.loop.live_timers() if t.sleeper == long.id]
    assert timer.when - controller.clock.now() > 25  # asyncio.sleep(30)
    controller.move_timer(timer.id, controller.clock.now() + 0.1)
    wait_row(qtbot, naps, "long", "done", timeout=3000)
    assert row(naps, "longer").state == "sleep"


def test_an_intent_the_script_cannot_carry_out_is_said(qtbot, naps):
    wait_row(qtbot, naps, "long", "sleep")
    controller = naps.controller
    controller.move_timer(123, controller.clock.now() + 1)  # no such timer over there
    qtbot.waitUntil(lambda: bool(controller.run.refusals), timeout=3000)
    assert controller.run.refusals == ["that timer has already fired or been cancelled"]
    qtbot.waitUntil(
        lambda: any("already fired" in text for text in controller.narration.texts()),
        timeout=2000,
    )


READY = """\
import asyncio


def note(word):
    print(word)


async def main():
    loop = asyncio.get_running_loop()
    await asyncio.sleep(0.3)
    loop.call_soon(note, "first")
    loop.call_soon(note, "second")
    await asyncio.sleep(30)


asyncio.run(main())
"""


def test_the_loop_panel_shows_the_scripts_ready_queue_and_step_runs_the_first(
    qtbot, window, tmp_path
):
    from coroscope.widgets.features.loop_anatomy import LoopAnatomyPanel
    from PySide6.QtWidgets import QDockWidget

    path = tmp_path / "ready.py"
    path.write_text(READY)
    window.findChild(QDockWidget, "loop_dock").raise_()
    panel = window.findChild(LoopAnatomyPanel)
    controller = window.controller
    assert window.script_feature.open_path(str(path))
    main = wait_row(qtbot, window, "Task-1", "sleep")
    controller.pause()
    controller.wake(main.id)  # due now, but paused: its step waits in the queue
    for _ in range(2):  # the timer's callback, then main's step that queues the notes
        controller.step()
        qtbot.wait(100)

    def shown():
        window.tick()
        return panel.ready.texts() == ["1 | note('first')", "2 | note('second')"]

    qtbot.waitUntil(shown, timeout=3000)
    controller.step()
    qtbot.waitUntil(lambda: "first" in controller.console.texts(), timeout=3000)

    def one_left():
        window.tick()
        return panel.ready.texts() == ["1 | note('second')"]

    qtbot.waitUntil(one_left, timeout=3000)
    assert "second" not in controller.console.texts()
    controller.resume()
    qtbot.waitUntil(lambda: "second" in controller.console.texts(), timeout=3000)


def test_export_trace_of_a_script_run_holds_its_tasks_and_times(qtbot, naps, tmp_path):
    import json

    long = wait_row(qtbot, naps, "long", "sleep")
    naps.controller.cancel(long.id)
    wait_row(qtbot, naps, "long", "cancelled", timeout=3000)
    path = naps.recording.traces.export_to(tmp_path / "naps-trace.json")
    assert path is not None
    document = json.loads(path.read_text())
    tasks = {t["name"]: t for t in document["tasks"]}
    assert tasks["long"]["state"] == "cancelled" and tasks["longer"]["state"] == "pending"
    assert tasks["Task-1"]["coro"] == "main"
    # times count from the run's start, as the window shows them
    assert 0 <= tasks["long"]["created"] < 2 and tasks["long"]["finished"] < 10


def test_once_the_script_has_ended_its_lanes_offer_no_run_again(qtbot, window, tmp_path):
    path = tmp_path / "quick.py"
    path.write_text(
        "import asyncio\n\n"
        "async def quick():\n    return 1\n\n"
        "async def main():\n"
        "    await asyncio.create_task(quick(), name='quick')\n"
        "    await asyncio.sleep(0.5)\n\n"
        "asyncio.run(main())\n"
    )
    lanes = window.lanes

    def button_colours(task_id):
        button = lanes._areas(lanes.row_rect(task_id))["button"].adjusted(2, 8, -2, -8)
        image = lanes.viewport().grab(button).toImage()
        return {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}

    assert window.script_feature.open_path(str(path))
    quick = wait_row(qtbot, window, "quick", "done")
    assert lanes.can_rerun and len(button_colours(quick.id)) > 1  # ↻ while the script runs
    qtbot.waitUntil(lambda: window.controller.run.over, timeout=5000)
    window.tick()
    assert not lanes.can_rerun
    asked = []
    lanes.rerunRequested.connect(asked.append)
    point = lanes.area_centre(quick.id, "button")
    qtbot.mouseClick(lanes.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert asked == []
    assert "run it again" not in lanes._tooltip(row(window, "quick"), "button")
    # and no ↻ is drawn there any more: the button's place is plain lane background
    assert len(button_colours(quick.id)) == 1
    # a demo's finished lanes offer it again
    window.run_demo("hello")
    qtbot.waitUntil(lambda: row(window, "main") is not None and row(window, "main").state == "done")
    window.tick()
    assert lanes.can_rerun
