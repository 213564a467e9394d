"""Clicking the Loop panel steers the real loop; the panel shows what the loop holds.

Each test runs a target in the traced qasync loop, clicks, drags or types on the
anatomy panel with qtbot, and checks what the loop did: which callbacks ran and
at what loop time.
"""

import asyncio
import dataclasses
import functools

import pytest
from coroscope.control.run import Target
from coroscope.control.targets import demo_target
from coroscope.widgets.features.loop_anatomy import LoopAnatomyPanel
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QDoubleSpinBox

pytestmark = pytest.mark.timeout(30)


def panel_of(window) -> LoopAnatomyPanel:
    window.findChild(QDockWidget, "loop_dock").raise_()
    return window.findChild(LoopAnatomyPanel)


def timers_target(fired, delays):
    """A run that schedules ``ring(name)`` after each delay and waits for them all."""

    async def main():
        loop = asyncio.get_running_loop()

        def ring(name):
            fired[name] = loop.time()

        for name, delay in delays.items():
            loop.call_later(delay, ring, name)
        await asyncio.sleep(max(delays.values()) + 0.4)

    return Target("timers", "Timers", __file__, main)


def wait_timers(qtbot, window, panel, count):
    def shown():
        window.tick()
        return len([r for r in panel.timers.rows() if r.callback == "ring"]) == count

    qtbot.waitUntil(shown, timeout=3000)
    return {r.args.strip("'"): r for r in panel.timers.rows() if r.callback == "ring"}


def finish(qtbot, window):
    qtbot.waitUntil(lambda: not window.controller.running, timeout=5000)


def test_clicking_x_cancels_the_real_timer(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"first": 1.0, "second": 1.2}))
    panel = panel_of(window)
    rows = wait_timers(qtbot, window, panel, 2)
    first = rows["first"]
    qtbot.mouseClick(
        panel.timers, Qt.MouseButton.LeftButton, pos=panel.timers.area_centre(first.id, "button")
    )
    assert window.controller.scheduler.timer(first.id) is None  # gone from the heap at once
    finish(qtbot, window)
    assert list(fired) == ["second"]


def test_dragging_a_bar_moves_the_real_timer(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"late": 3.0}))
    panel = panel_of(window)
    row = wait_timers(qtbot, window, panel, 1)["late"]
    timers = panel.timers
    start = timers.bar_point(row.id, row.remaining(window.controller.clock.now()))
    end = timers.bar_point(row.id, 0.5)
    qtbot.mousePress(timers, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(timers, end)
    released = window.controller.clock.now()
    qtbot.mouseRelease(timers, Qt.MouseButton.LeftButton, pos=end)
    step = timers.horizon / timers._areas(timers.row_rect(row.id))["bar"].width()
    assert window.controller.scheduler.timer(row.id).when == pytest.approx(
        released + 0.5, abs=0.05 + step
    )
    qtbot.waitUntil(lambda: "late" in fired, timeout=3000)
    assert fired["late"] == pytest.approx(released + 0.5, abs=0.15 + step)


def test_typing_a_new_time_in_the_inline_editor(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"typed": 4.0}))
    panel = panel_of(window)
    row = wait_timers(qtbot, window, panel, 1)["typed"]
    qtbot.mouseDClick(
        panel.timers, Qt.MouseButton.LeftButton, pos=panel.timers.area_centre(row.id, "text")
    )
    editor = panel.timers._editor
    assert editor is not None and editor.isVisible()
    # Inline, not a dialog: a spin box laid over the row inside the timer list, no
    # modal window is up, and the loop keeps running while it is open (a modal
    # exec() would nest an event loop and stall qasync; a double-click that only
    # returns once the editor closes never gets here).
    assert isinstance(editor, QDoubleSpinBox) and not editor.isWindow()
    assert editor.parentWidget() is panel.timers
    assert QApplication.activeModalWidget() is None
    stepped = []
    window.controller.loop.call_soon(stepped.append, "loop ran")
    qtbot.waitUntil(lambda: stepped == ["loop ran"], timeout=2000)
    assert editor.isVisible() and panel.timers._editor is editor
    editor.setValue(0.3)
    typed_at = window.controller.clock.now()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "typed" in fired, timeout=3000)
    assert fired["typed"] == pytest.approx(typed_at + 0.3, abs=0.15)


def test_keys_fire_now_and_cancel_a_sleep(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"soon": 5.0}))
    panel = panel_of(window)
    row = wait_timers(qtbot, window, panel, 1)["soon"]
    timers = panel.timers
    timers.select(row.id)
    pressed = window.controller.clock.now()
    qtbot.keyClick(timers, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: "soon" in fired, timeout=2000)
    assert fired["soon"] == pytest.approx(pressed, abs=0.15)
    # main now sleeps on its own timer: Delete on it cancels the sleep, so main
    # gets CancelledError instead of waiting forever.
    window.tick()
    sleep = next(r for r in timers.rows() if r.sleeper is not None)
    timers.select(sleep.id)
    qtbot.keyClick(timers, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: window.controller.tasks.by_name("main").state == "cancelled", timeout=2000
    )


def test_a_timer_that_already_fired_gives_a_message_not_a_crash(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"quick": 0.3}))
    panel = panel_of(window)
    row = wait_timers(qtbot, window, panel, 1)["quick"]
    qtbot.waitUntil(lambda: "quick" in fired, timeout=2000)
    panel.timers.cancelRequested.emit(row.id)
    assert "already fired" in window.statusBar().currentMessage()


def test_paused_ready_queue_lists_callbacks_in_order_and_step_runs_the_first(qtbot, window, qloop):
    ran = []

    def note(word):
        ran.append(word)

    panel = panel_of(window)
    window.controller.pause()
    qloop.call_soon(note, "first")
    qloop.call_soon(note, "second")
    window.tick()
    assert panel.ready.texts() == ["1 | note('first')", "2 | note('second')"]
    window.controller.step()
    window.tick()
    assert ran == ["first"]
    assert panel.ready.texts() == ["1 | note('second')"]
    window.controller.resume()
    qtbot.waitUntil(lambda: ran == ["first", "second"], timeout=2000)


def demo(key, **kwargs):
    target = demo_target(key)
    return dataclasses.replace(target, make_main=functools.partial(target.make_main, **kwargs))


def test_echo_demo_shows_watched_sockets_and_bytes(qtbot, window):
    window.run_target(demo("echo_streams", pause=0.3))
    panel = panel_of(window)

    def bytes_shown():
        window.tick()
        texts = panel.channels.texts()
        return any("↓47 B" in t and "↑47 B" in t for t in texts)

    qtbot.waitUntil(bytes_shown, timeout=5000)
    assert any(
        t.split(" | ")[2].startswith("listening on 127.0.0.1:") for t in panel.watches.texts()
    )
    finish(qtbot, window)
    # The server's connection handlers were started by an I/O callback; they still
    # belong to the run (lanes show them, Stop would cancel them).
    assert [r.coro for r in window.controller.tasks.rows()].count("handle") == 2


def test_child_process_and_thread_pool_rows(qtbot, window):
    window.run_target(demo("subprocess_pipes", lines=2, pause=0.05))
    panel = panel_of(window)

    def exited():
        window.tick()
        return any("exit code 3" in t for t in panel.processes.texts())

    qtbot.waitUntil(exited, timeout=5000)
    assert panel.processes.texts()[0].split(" | ")[1].startswith("python")
    finish(qtbot, window)
    window.run_target(demo("thread_pool", block=0.2))

    def crunched():
        window.tick()
        return sum("crunch(" in t and "done" in t for t in panel.threads.texts()) == 2

    qtbot.waitUntil(crunched, timeout=5000)
    kind, text = panel.health.banner()
    assert kind == "blocked" and "held the loop" in text and "thread_pool.py:" in text


def test_base_loop_demos_bring_the_loop_panel_to_the_front(qtbot, window):
    panel = window.findChild(LoopAnatomyPanel)
    assert not panel.showing()  # tabbed behind Code at first
    window.run_demo("callouts")
    qtbot.waitUntil(panel.showing, timeout=2000)


def test_plus_and_minus_in_the_timer_list_move_the_timer_not_the_speed(qtbot, window):
    fired = {}
    window.run_target(timers_target(fired, {"later": 5.0}))
    panel = panel_of(window)
    row = wait_timers(qtbot, window, panel, 1)["later"]
    timers = panel.timers
    timers.setFocus()
    timers.select(row.id)
    speed, due = window.controller.clock.speed, row.when  # the row itself will move
    qtbot.keyClick(timers, Qt.Key.Key_Plus)
    window.tick()
    assert panel.model.timer(row.id).when == pytest.approx(due + 1.0)
    qtbot.keyClick(timers, Qt.Key.Key_Minus)
    window.tick()
    assert panel.model.timer(row.id).when == pytest.approx(due)
    assert window.controller.clock.speed == speed
