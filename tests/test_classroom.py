"""Classroom mode: pause, step and slow motion on the real loop, and what they show."""

import asyncio
import time

import pytest
from coroscope.control.controller import Controller
from coroscope.control.targets import demo_target
from coroscope.loop.clock import VirtualClock
from coroscope.loop.events import TaskStep, TimerFired
from coroscope.loop.traced_loop import HeadlessLoop


class FrozenSource:
    """A real-time source that never moves: only Step and advance() move the loop clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stepped():
    loop = HeadlessLoop(clock=VirtualClock(FrozenSource()))
    controller = Controller(loop, capture_output=False)
    yield controller
    for task in asyncio.all_tasks(loop):
        task.cancel()
    for _ in range(1000):  # let cancelled tasks unwind, one step at a time
        if controller.step() == "idle":
            break
    controller.close()
    loop.close()


def test_stepping_the_countdown_tells_the_story_a_teacher_predicts(stepped):
    c = stepped
    c.pause()
    c.start(demo_target("countdown"))
    results = []
    for _ in range(40):
        result = c.step()
        results.append(result)
        if result == "idle":
            break
    assert results[-1] == "idle"
    assert c.narration.texts() == [
        "loop paused at t=0.00",
        "▶ Countdown started",
        "the loop created main (main): ready to start",
        "main created task1 (countdown): ready to start",
        "main created task2 (countdown): ready to start",
        "main created task3 (countdown): ready to start",
        "main awaits gather(3) on task1, task2, task3 at countdown.py:33",
        "task1 awaits sleep(4) at countdown.py:23: parked until t=4.00",
        "task2 awaits sleep(3) at countdown.py:23: parked until t=3.00",
        "task3 awaits sleep(2) at countdown.py:23: parked until t=2.00",
        "timer fired: task3 is ready",
        "step ran the timer's callback: task3's sleep is over; its step is next",
        "task3 finished and returned 'task3 slept 2 s'",
        "step ran gather()'s callback: it takes note that task3 finished",
        "timer fired: task2 is ready",
        "step ran the timer's callback: task2's sleep is over; its step is next",
        "task2 finished and returned 'task2 slept 3 s'",
        "step ran gather()'s callback: it takes note that task2 finished",
        "timer fired: task1 is ready",
        "step ran the timer's callback: task1's sleep is over; its step is next",
        "task1 finished and returned 'task1 slept 4 s'",
        "step ran gather()'s callback: it takes note that task1 finished",
        "main finished and returned None",
    ]
    # four task steps to start, then per countdown: the timer, the task's step and
    # gather's done-callback; main's final step; and the last Step finds nothing.
    assert results[:4] == ["ran"] * 4
    assert results.count("timer") == 3
    assert c.clock.run_time() == pytest.approx(4.0)


def test_a_woken_sleeper_is_ready_until_its_step_runs(stepped):
    c = stepped
    c.pause()
    c.start(demo_target("countdown"))
    while c.tasks.by_name("task3") is None or c.tasks.by_name("task3").state != "sleep":
        assert c.step() == "ran"
    while c.step() != "timer":  # the first timer to fire is task3's
        pass
    assert c.tasks.by_name("task3").state == "ready"  # woken, queued, not yet run
    assert c.tasks.by_name("task2").state == "sleep"
    # the timer's callback resolves the sleep, then task3's step runs
    assert [c.step(), c.tasks.by_name("task3").state] == ["ran", "ready"]
    assert [c.step(), c.tasks.by_name("task3").state] == ["ran", "done"]


def test_each_step_runs_exactly_one_callback(stepped):
    c = stepped
    c.pause()
    c.start(demo_target("countdown"))
    steps_before = len(c.events.of_type(TaskStep))
    assert c.step() == "ran"
    assert len(c.events.of_type(TaskStep)) == steps_before + 1
    assert c.step() == "ran"
    assert len(c.events.of_type(TaskStep)) == steps_before + 2
    assert c.clock.run_time() == 0.0  # running ready callbacks never moves the clock


def test_await_graph_of_chained_compute(headless_controller):
    c = headless_controller
    c.pause()
    c.start(demo_target("chained"))
    while c.tasks.by_name("main") is None or c.tasks.by_name("main").state != "sleep":
        assert c.step() != "idle"
    edges = c.graph.labelled_edges()
    assert ("main", "print_sum") in edges
    assert ("print_sum", "compute") in edges
    assert ("compute", "sleep(1)") in edges


def test_await_graph_links_gathering_task_to_its_children(headless_controller):
    c = headless_controller
    c.pause()
    c.start(demo_target("countdown"))
    for _ in range(4):
        c.step()
    edges = c.graph.labelled_edges()
    assert {("gather(3)", "task1"), ("gather(3)", "task2"), ("gather(3)", "task3")} <= edges
    assert ("main", "gather(3)") in edges


def test_cancelling_an_awaited_task_sends_a_pulse_to_its_awaiter(headless_controller):
    c = headless_controller
    c.pause()
    c.start(demo_target("countdown"))
    for _ in range(4):
        c.step()
    task2 = c.tasks.by_name("task2")
    c.cancel(task2.id)
    c.step()  # task2 runs, receives CancelledError and ends
    pulses = c.graph.pulses(c.clock.now())
    assert len(pulses) == 1
    assert pulses[0].kind == "cancelled"
    assert pulses[0].src == f"task:{task2.id}"


@pytest.mark.timeout(30)
def test_half_speed_doubles_wall_time_not_loop_time(qtbot, controller):
    async def one_second():
        import asyncio

        await asyncio.sleep(1.0)

    from coroscope.control.run import Target

    controller.set_speed(0.5)
    wall0 = time.monotonic()
    loop0 = controller.clock.now()
    controller.start(Target("s", "one second", __file__, one_second))
    qtbot.waitUntil(
        lambda: (
            controller.tasks.by_name("main") is not None
            and controller.tasks.by_name("main").state == "done"
        ),
        timeout=6000,
    )
    wall = time.monotonic() - wall0
    loop_time = controller.tasks.by_name("main").finished - loop0
    assert loop_time == pytest.approx(1.0, abs=0.05)
    assert wall == pytest.approx(2.0, abs=0.3)


@pytest.mark.timeout(30)
def test_pause_holds_every_timer_and_task_for_a_paused_second(qtbot, controller):
    controller.start(demo_target("countdown"))
    qtbot.waitUntil(
        lambda: [r.state for r in controller.tasks.rows()] == ["future", "sleep", "sleep", "sleep"],
        timeout=3000,
    )
    controller.pause()
    frozen = controller.clock.now()
    steps = len(controller.events.of_type(TaskStep, TimerFired))
    dues = [r.due for r in controller.tasks.rows()]
    qtbot.wait(1000)  # a real second passes while paused
    assert controller.clock.now() == frozen
    assert len(controller.events.of_type(TaskStep, TimerFired)) == steps
    assert [r.due for r in controller.tasks.rows()] == dues
    controller.resume()
    task3 = controller.tasks.by_name("task3")
    qtbot.waitUntil(lambda: task3.state == "done", timeout=4000)
    # the paused second did not count: task3 still slept its full 2 s of loop time
    assert task3.finished - task3.created == pytest.approx(2.0, abs=0.1)


def test_speed_keys_and_presentation_mode(qtbot, window):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    classroom = window.classroom
    base_font = QApplication.font().pointSizeF()
    base_row = window.lanes.row_height
    base_code = window.code.font().pointSizeF()
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    assert window.controller.clock.speed == 0.5
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert window.controller.clock.speed == 2.0
    classroom.presentation_action.setChecked(True)
    try:
        assert QApplication.font().pointSizeF() == pytest.approx(base_font * 1.6)
        assert window.lanes.row_height == round(base_row * 1.6)
        assert window.code.font().pointSizeF() == pytest.approx(base_code * 1.6)
        assert not window.statusBar().isVisible()
    finally:
        classroom.presentation_action.setChecked(False)
    assert QApplication.font().pointSizeF() == pytest.approx(base_font)
    assert window.statusBar().isVisible()


def test_space_pauses_and_right_arrow_steps(qtbot, window):
    from PySide6.QtCore import Qt

    window.run_demo("countdown")
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task3") is not None, timeout=3000)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task3").state == "sleep", timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.controller.clock.paused
    due = window.controller.tasks.by_name("task3").due
    qtbot.keyClick(window, Qt.Key.Key_Right)  # nothing ready: jump to task3's timer
    assert window.controller.clock.now() == pytest.approx(due, abs=0.001)
    window.tick()
    assert window.controller.narration.texts()[-1] == "timer fired: task3 is ready"
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.controller.clock.paused


def test_input_overlay_echoes_keys_and_help_lists_shortcuts(qtbot, window):
    from PySide6.QtCore import Qt

    classroom = window.classroom
    classroom.overlay_action.setChecked(True)
    try:
        qtbot.keyClick(window.lanes, Qt.Key.Key_W)
        assert classroom.input_overlay.caption == "W"
        # Keys bound to shortcuts, which Qt never delivers as key presses, are echoed
        # too, and still do what they do.
        none, ctrl = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier
        speed = window.controller.clock.speed
        for key, modifier, caption in (
            (Qt.Key.Key_Space, none, "Space"),
            (Qt.Key.Key_Right, none, "Right"),
            (Qt.Key.Key_Plus, none, "+"),
            (Qt.Key.Key_Minus, none, "-"),
            (Qt.Key.Key_R, ctrl, "Ctrl+R"),
        ):
            qtbot.keyClick(window.lanes, key, modifier)
            assert classroom.input_overlay.caption == caption
            qtbot.wait(250)  # the same key again later is a new caption
        assert window.controller.clock.paused  # Space paused, Right stepped...
        assert window.controller.clock.speed == speed  # ...+ and - did their part
        qtbot.keyClick(window.lanes, Qt.Key.Key_Space)
        qtbot.mouseClick(window.lanes.viewport(), Qt.MouseButton.LeftButton)
        assert classroom.input_overlay._ripples
    finally:
        classroom.overlay_action.setChecked(False)
    classroom.show_help()
    assert classroom.help_overlay.isVisible()
    entries = dict((text, keys) for keys, text in classroom.help_overlay._entries)
    assert entries["Run"] == "F5"
    assert entries["Pause"] == "Space"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not classroom.help_overlay.isVisible()


@pytest.mark.timeout(30)
def test_timeouts_follow_the_loop_speed(qtbot, controller):
    from coroscope.control.run import Target

    outcome = {}

    async def patient():
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            async with asyncio.timeout(1.0):
                await asyncio.sleep(10)
        except TimeoutError:
            outcome["timeout"] = loop.time() - start
        start = loop.time()
        try:
            await asyncio.wait_for(asyncio.sleep(10), 0.5)
        except TimeoutError:
            outcome["wait_for"] = loop.time() - start

    controller.set_speed(4.0)
    wall0 = time.monotonic()
    controller.start(Target("t", "timeouts", __file__, patient))
    qtbot.waitUntil(lambda: len(outcome) == 2, timeout=5000)
    wall = time.monotonic() - wall0
    assert outcome["timeout"] == pytest.approx(1.0, abs=0.05)
    assert outcome["wait_for"] == pytest.approx(0.5, abs=0.05)
    assert wall == pytest.approx(1.5 / 4, abs=0.25)  # 1.5 s of loop time at 4x


@pytest.mark.timeout(30)
def test_real_io_queues_while_paused_and_flows_on_resume(qtbot, controller):
    import socket

    from coroscope.control.run import Target
    from coroscope.models.loop_model import describe_handle

    ours, theirs = socket.socketpair()
    received = []

    async def listen():
        reader, writer = await asyncio.open_connection(sock=ours)
        received.append(await reader.readexactly(5))
        writer.close()
        await writer.wait_closed()

    controller.start(Target("io", "socket", __file__, listen))
    qtbot.waitUntil(lambda: controller.tasks.by_name("main") is not None, timeout=2000)
    qtbot.waitUntil(lambda: controller.tasks.by_name("main").state == "future", timeout=2000)
    controller.pause()
    theirs.sendall(b"hello")
    # The bytes are there and the loop has queued the read for them, but paused it
    # runs no callback.
    qtbot.waitUntil(
        lambda: any("fd " in describe_handle(h) for h in controller.scheduler.ready_handles()),
        timeout=2000,
    )
    assert received == []
    assert controller.tasks.by_name("main").state == "future"
    controller.resume()
    qtbot.waitUntil(lambda: received == [b"hello"], timeout=2000)
    theirs.close()


def test_theme_and_presentation_are_remembered(qtbot, controller, tmp_path):
    from coroscope.widgets.paint import theme
    from coroscope.widgets.shell.main_window import MainWindow
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = MainWindow(controller, settings=settings)
    qtbot.addWidget(first)
    first.classroom.light_action.setChecked(True)
    first.classroom.presentation_action.setChecked(True)
    first.close()
    try:
        second = MainWindow(controller, settings=settings)
        qtbot.addWidget(second)
        assert second.classroom.light_action.isChecked()
        assert second.classroom.presentation_action.isChecked()
        assert theme.current().name == "light"
        assert theme.current().scale == pytest.approx(1.6)
        second.classroom.presentation_action.setChecked(False)
        second.classroom.light_action.setChecked(False)
        second.close()
    finally:
        theme.apply_theme("dark")


def test_timeline_hover_names_the_line_and_zoom_pan_follow(qtbot, window):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QDockWidget

    window.findChild(QDockWidget, "timeline_dock").raise_()
    window.run_demo("countdown")
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task3") is not None, timeout=3000)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task3").state == "sleep", timeout=3000)
    window.controller.pause()
    view = window.classroom.timeline
    QApplication.processEvents()
    window.tick()
    lanes = [lane.name for lane in view._lanes]
    assert lanes == ["main", "task1", "task2", "task3"]
    lane = view._lanes[1]
    x = round(view.x_of(lane.starts[0]))
    y = view.viewport().height() and (theme_px(22) + 1 * view.lane_height + view.lane_height // 2)
    text = view.describe(QPoint(x, y))
    assert "task1" in text and "countdown.py:23" in text
    scale = view.scale
    wheel = QWheelEvent(
        QPointF(300, 40),
        QPointF(view.mapToGlobal(QPoint(300, 40))),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.scale == pytest.approx(scale * 1.25)
    assert not view.follow  # zooming stops following now
    t0 = view.t0
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(400, 60))
    qtbot.mouseMove(view.viewport(), QPoint(300, 60))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 60))
    assert view.t0 == pytest.approx(t0 + 100 / view.scale)
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.follow
    window.controller.resume()


def theme_px(value):
    from coroscope.widgets.paint import theme

    return theme.current().px(value)


def test_about_box_is_not_modal_and_names_the_version(qtbot, window):
    from coroscope.about import __version__

    window.classroom.show_about()
    box = window.classroom.about_box
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert __version__ in box.text()
    assert not box.isModal()
    box.close()


def _click_tab(qtbot, window, title: str) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    for bar in window.findChildren(QTabBar):
        for index in range(bar.count()):
            if bar.tabText(index) == title:
                qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
                return
    raise AssertionError(f"no {title!r} tab")


def test_the_narrator_rests_while_its_tab_is_hidden_and_catches_up_when_shown(qtbot, window):
    c = window.controller
    view = window.classroom.narration

    def listening() -> bool:
        return any(getattr(f, "__self__", None) is c.narration for f, _ in c.events._subscriptions)

    assert c.narration.resting and not listening()  # its tab is behind the console's
    window.run_demo("countdown")
    qtbot.waitUntil(lambda: c.tasks.by_name("task3") is not None, timeout=3000)
    qtbot.waitUntil(lambda: c.tasks.by_name("task3").state == "sleep", timeout=3000)
    assert not listening()
    _click_tab(qtbot, window, "Narration")
    qtbot.waitUntil(lambda: not c.narration.resting, timeout=3000)
    assert listening()
    window.tick()
    texts = [line.text for line in c.narration.lines()]
    assert "main created task3 (countdown): ready to start" in texts
    assert any(text.startswith("task3 awaits sleep(2)") for text in texts)
    assert view._count == len(texts)  # the panel shows what it caught up on
    _click_tab(qtbot, window, "Console")
    qtbot.waitUntil(lambda: c.narration.resting, timeout=3000)
    assert not listening()
    window.tick()  # a hidden panel leaves its narrator resting
    assert c.narration.resting
    # Floated out from behind the console's tab it shows, though Qt does not say so.
    dock = view.parentWidget()
    dock.setFloating(True)
    qtbot.waitUntil(lambda: not c.narration.resting, timeout=3000)
    dock.setFloating(False)
    qtbot.waitUntil(lambda: c.narration.resting, timeout=3000)
