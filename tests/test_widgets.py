"""Clicking the real window changes the real loop.

Each test runs a demo in the traced qasync loop, clicks or types with qtbot, and
asserts on the task's state and timing as the loop saw them.
"""

import asyncio
import math
import time

import pytest
from coroscope.control.run import Target
from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt
from PySide6.QtWidgets import QDockWidget

pytestmark = pytest.mark.timeout(30)


def wait_row(qtbot, window, name, state=None, timeout=5000):
    def ready():
        row = window.controller.tasks.by_name(name)
        assert row is not None
        if state is not None:
            assert row.state == state
        return row

    qtbot.waitUntil(lambda: ready() is not None, timeout=timeout)
    window.tick()
    return window.controller.tasks.by_name(name)


def click(qtbot, widget, pos: QPoint, button=Qt.MouseButton.LeftButton):
    qtbot.mouseClick(widget, button, Qt.KeyboardModifier.NoModifier, pos)


async def nap(seconds):
    await asyncio.sleep(seconds)
    return seconds


def two_naps_target(first=0.5, second=0.5):
    async def main():
        await asyncio.gather(
            asyncio.create_task(nap(first), name="first"),
            asyncio.create_task(nap(second), name="second"),
        )

    return Target("naps", "Two naps", __file__, main)


def five_nappers_target():
    """Five tasks sleeping a few milliseconds at a time: frame after frame of a busy run."""

    async def busy():
        async def napper(i):
            for _ in range(1000):
                await asyncio.sleep(0.005 + i * 0.001)

        await asyncio.gather(*(napper(i) for i in range(5)))

    return Target("busy", "Busy", __file__, busy)


class EventCounter(QObject):
    """An event filter that counts the events of one type its objects receive,
    and notes how wide each object was when it got one."""

    def __init__(self, kind: QEvent.Type) -> None:
        super().__init__()
        self.kind = kind
        self.count = 0
        self.widths: list[int] = []

    def eventFilter(self, obj, event):
        if event.type() == self.kind:
            self.count += 1
            self.widths.append(obj.width())
        return False


def frames_until_quiet(qtbot, window, counter, timeout=3000):
    """Tick frame after frame until one passes in which ``counter`` hears nothing."""
    heard = []

    def quiet():
        if heard and heard[-1] == counter.count:
            return True
        heard.append(counter.count)
        window.tick()
        return False

    qtbot.waitUntil(quiet, timeout=timeout)


def frame_then_loop_work(qtbot, window):
    """One frame tick, then wait until the loop has changed the task model again."""
    tasks = window.controller.tasks
    before = tasks.version
    window.tick()
    qtbot.waitUntil(lambda: tasks.version > before, timeout=2000)


def test_clicking_a_lane_cancel_button_cancels_the_task(qtbot, window):
    window.run_demo("countdown")
    row = wait_row(qtbot, window, "task2", "sleep")
    click(qtbot, window.lanes.viewport(), window.lanes.area_centre(row.id, "button"))
    qtbot.waitUntil(
        lambda: window.controller.tasks.by_name("task2").state == "cancelled", timeout=2000
    )
    assert window.controller.tasks.by_name("task2").exception == "CancelledError"
    # wake the others so main finishes and reports what it saw
    for name in ("task1", "task3"):
        window.lanes.select(window.controller.tasks.by_name(name).id)
        qtbot.keyClick(window.lanes, Qt.Key.Key_W)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("main").state == "done", timeout=3000)
    texts = window.controller.console.texts()
    assert "main: task2 ended with CancelledError" in texts
    assert "task2 was cancelled" in texts


def test_wake_key_makes_a_four_second_sleep_finish_at_once(qtbot, window):
    window.run_demo("countdown")
    row = wait_row(qtbot, window, "task1", "sleep")
    started = time.monotonic()
    window.lanes.select(row.id)
    qtbot.keyClick(window.lanes, Qt.Key.Key_W)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task1").state == "done", timeout=3000)
    assert time.monotonic() - started < 1.0
    task1 = window.controller.tasks.by_name("task1")
    assert task1.finished - task1.created < 1.0  # loop time, not 4 s


def test_delay_key_makes_the_task_finish_a_second_later(qtbot, window):
    window.run_target(two_naps_target())
    row = wait_row(qtbot, window, "first", "sleep")
    window.lanes.select(row.id)
    qtbot.keyClick(window.lanes, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("first").state == "done", timeout=4000)
    tasks = window.controller.tasks
    second = tasks.by_name("second")
    # loop time started when the loop was made, before the window: measure from creation
    assert second.finished - second.created == pytest.approx(0.5, abs=0.15)
    assert tasks.by_name("first").finished - tasks.by_name("second").finished == pytest.approx(
        1.0, abs=0.15
    )


def test_dragging_the_bar_sets_the_remaining_time(qtbot, window):
    window.run_demo("countdown")
    row = wait_row(qtbot, window, "task1", "sleep")
    lanes = window.lanes
    start = lanes.bar_point(row.id, 0.9)
    end = lanes.bar_point(row.id, 0.1)
    qtbot.mousePress(lanes.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(lanes.viewport(), end)
    qtbot.mouseRelease(lanes.viewport(), Qt.MouseButton.LeftButton, pos=end)
    row = window.controller.tasks.by_name("task1")
    remaining = row.due - window.controller.clock.now()
    assert remaining == pytest.approx(0.4, abs=0.15)  # a tenth of the 4 s bar
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task1").state == "done", timeout=2000)


def test_typing_a_remaining_time_in_the_spin_box(qtbot, window):
    window.run_demo("countdown")
    row = wait_row(qtbot, window, "task1", "sleep")
    editor = window.lanes.edit_remaining(row.id)
    assert editor is not None and editor.isVisible()
    editor.setValue(0.2)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.tasks.by_name("task1").state == "done", timeout=2000)
    task1 = window.controller.tasks.by_name("task1")
    assert task1.finished - task1.created < 1.0


def test_clicking_a_ring_cancels_and_clicking_again_runs_it_again(qtbot, window):
    window.run_demo("countdown")
    row = wait_row(qtbot, window, "task3", "sleep")
    rings = window.stage.rings
    window.tick()
    centre = rings.ring_for(row.id).center().toPoint()
    click(qtbot, rings, centre)
    qtbot.waitUntil(
        lambda: window.controller.tasks.by_name("task3").state == "cancelled", timeout=2000
    )
    window.tick()
    click(qtbot, rings, rings.ring_for(row.id).center().toPoint())
    qtbot.waitUntil(
        lambda: (
            [r.state for r in window.controller.tasks.rows() if r.name == "task3"]
            == ["cancelled", "sleep"]
        ),
        timeout=2000,
    )


def test_stop_cancels_everything_and_leaves_no_timer(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task1", "sleep")
    assert window.stop_action.isEnabled()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)
    # the stop coroutine resumes once more after the last task ends: it drops its
    # own timeout timer and then updates the button
    qtbot.waitUntil(lambda: not window.stop_action.isEnabled(), timeout=2000)
    assert all(not r.live for r in window.controller.tasks.rows())
    assert window.controller.scheduler.timers() == []


def test_restart_runs_the_demo_again_from_scratch(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task1", "sleep")
    window.restart_action.trigger()
    qtbot.waitUntil(
        lambda: (
            [r.name for r in window.controller.tasks.rows()] == ["main", "task1", "task2", "task3"]
            and window.controller.tasks.by_name("task1").state == "sleep"
        ),
        timeout=3000,
    )
    assert window.controller.tasks.by_name("task1").created > 0


def test_code_view_marks_each_parked_line_in_its_task_colour(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task3", "sleep")
    window.tick()
    marks = window.code.marks()
    lines = window.code.toPlainText().splitlines()
    sleep_line = next(
        i for i, text in enumerate(lines, 1) if "await asyncio.sleep(seconds)" in text
    )
    assert sorted(name for _c, name, _inner in marks[sleep_line]) == ["task1", "task2", "task3"]
    gather_line = next(i for i, text in enumerate(lines, 1) if "await asyncio.gather" in text)
    assert [name for _c, name, _inner in marks[gather_line]] == ["main"]
    # the tag column sits right against the text area, scroll bar or not
    code = window.code

    def tags_against_text():
        viewport = code.viewport().geometry()
        assert code._tags.geometry().left() == viewport.right() + 1
        assert code._tags.geometry().height() == viewport.height()

    code.resize(900, 300)  # wide
    qtbot.waitUntil(tags_against_text, timeout=2000)
    code.resize(260, 300)  # narrow enough for a horizontal scroll bar
    qtbot.waitUntil(code.horizontalScrollBar().isVisible, timeout=2000)
    qtbot.waitUntil(tags_against_text, timeout=2000)
    assert code.verticalScrollBar().isVisible() and code.horizontalScrollBar().isVisible()


def test_console_tags_lines_with_the_task_that_printed(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task3", "sleep")
    window.tick()
    text = window.console.toPlainText()
    assert "[task1] task1 sleeping for: 4 seconds" in text
    assert "[task3] task3 sleeping for: 2 seconds" in text


def test_gallery_activation_runs_the_demo(qtbot, window):
    window.gallery.select("hello")
    item = window.gallery.tree.currentItem()
    window.gallery.tree.itemActivated.emit(item, 0)
    qtbot.waitUntil(lambda: "hello world!" in window.controller.console.texts(), timeout=3000)
    assert "hello world" in window.gallery.explanation.text().lower()


def test_a_bad_intent_shows_a_message_not_a_traceback(qtbot, window):
    window.run_demo("countdown")
    main = wait_row(qtbot, window, "main")
    window.lanes.wakeRequested.emit(main.id)
    assert "not sleeping" in window.statusBar().currentMessage()


def test_the_app_window_shows_first_and_its_panels_follow_with_the_saved_layout(
    qtbot, controller, tmp_path
):
    from coroscope.widgets.shell.main_window import MainWindow
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QDockWidget

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = MainWindow(controller, settings=settings)
    qtbot.addWidget(first)
    loop_dock = first.findChild(QDockWidget, "loop_dock")
    first.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, loop_dock)
    first.close()

    # Closed before its panels arrived: the saved layout is left as it was.
    early = MainWindow(controller, settings=settings, defer_features=True)
    qtbot.addWidget(early)
    assert early.findChild(QDockWidget, "loop_dock") is None
    early.close()

    second = MainWindow(controller, settings=settings, defer_features=True)
    qtbot.addWidget(second)
    assert not second.features_installed
    with qtbot.waitSignal(second.built, timeout=3000):
        second.show()
    assert second.features_installed
    dock = second.findChild(QDockWidget, "loop_dock")
    assert second.dockWidgetArea(dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    second.install_features()  # a second call changes nothing
    assert len(second.findChildren(QDockWidget, "loop_dock")) == 1
    second.close()

    # A demo started before the first paint brings the panels in first.
    third = MainWindow(controller, settings=None, defer_features=True)
    qtbot.addWidget(third)
    third.run_target(two_naps_target(0.05, 0.05))
    assert third.features_installed
    qtbot.waitUntil(lambda: not controller.running, timeout=5000)
    loop_model = third.findChild(QDockWidget, "loop_dock").widget().model
    assert loop_model.fired >= 2  # the Loop panel saw the run's timers from the start
    third.close()


def test_the_window_frame_shows_first_then_the_views_take_their_places(qtbot, controller, tmp_path):
    from coroscope.widgets.shell.main_window import MainWindow
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("main_window/demo", "countdown")
    # As coroscope.widgets.shell.gui does: the frame shows before there is a loop to watch.
    window = MainWindow(None, settings, defer_features=True)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert not window.run_action.isEnabled()  # nothing to run on yet
    assert not window.frame_timer.isActive()
    sizes = window.splitter.sizes()
    code_width = window.findChild(QDockWidget, "code_dock").width()

    with qtbot.waitSignal(window.built, timeout=3000):
        window.attach(controller)
    # The views took the blank panels' places without moving the layout.
    assert window.splitter.sizes() == sizes
    assert window.findChild(QDockWidget, "code_dock").width() == code_width
    assert window.splitter.widget(1) is window.lanes
    assert window.frame_timer.isActive()
    # The last demo is selected again, and its code shown.
    assert window.gallery.current_key == "countdown"
    assert window.code.path.endswith("countdown.py")
    window.run_action.trigger()
    row = wait_row(qtbot, window, "task3", "sleep")
    assert row.live
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not controller.running, timeout=3000)
    window.close()


def test_the_frame_already_wears_the_saved_theme_and_presentation_mode(qtbot, controller, tmp_path):
    from coroscope.models.view_prefs import PRESENTATION_SCALE
    from coroscope.widgets.paint import theme
    from coroscope.widgets.shell.main_window import MainWindow
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("view/light", True)
    settings.setValue("view/presentation", True)
    try:
        window = MainWindow(None, settings, defer_features=True)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        # Before any feature is in: no flash of the dark, small-print window.
        assert (theme.current().name, theme.current().scale) == ("light", PRESENTATION_SCALE)
        assert window.menuBar().isHidden() and window.statusBar().isHidden()
        assert window.gallery.parentWidget().isHidden()
        assert window.toolbar.iconSize().height() == round(24 * PRESENTATION_SCALE)
        with qtbot.waitSignal(window.built, timeout=3000):
            window.attach(controller)
        # The Classroom feature agrees with what the frame showed.
        assert window.classroom.presentation_action.isChecked()
        assert window.classroom.light_action.isChecked()
        assert window.menuBar().isHidden()
        window.close()
    finally:
        theme.apply_theme("dark")


def test_lanes_redraw_only_rows_that_changed_and_look_the_same_as_drawn_afresh(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task3", "sleep")
    window.controller.pause()  # the bars stand still, so two grabs can be compared
    window.tick()
    lanes = window.lanes
    lanes.new_looks_budget = math.inf  # every changed row in the frame it changes
    lanes.viewport().repaint()
    drawn = []
    original = lanes._paint_row
    lanes._paint_row = lambda p, row, *rest: (drawn.append(row.name), original(p, row, *rest))
    lanes.viewport().repaint()
    assert drawn == []  # nothing changed: every row is last frame's picture
    kept = lanes.viewport().grab().toImage()
    lanes._pictures.clear()
    lanes.viewport().repaint()
    assert sorted(drawn) == ["main", "task1", "task2", "task3"]
    assert lanes.viewport().grab().toImage() == kept
    drawn.clear()
    lanes.select(window.controller.tasks.by_name("task2").id)
    lanes.viewport().repaint()
    assert drawn == ["task2"]  # the newly selected row; the others are unchanged
    drawn.clear()
    lanes.select(window.controller.tasks.by_name("task1").id)
    lanes.viewport().repaint()
    assert drawn == ["task1"]  # task2 looks as it did before: that picture was kept
    drawn.clear()
    lanes.select(window.controller.tasks.by_name("task2").id)
    lanes.viewport().repaint()
    assert drawn == []  # a row going back and forth between two looks draws each once
    lanes._paint_row = original
    window.controller.resume()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_a_frame_draws_new_looks_within_its_budget_and_later_frames_the_rest(qtbot, window):
    window.run_demo("countdown")
    wait_row(qtbot, window, "task3", "sleep")
    window.controller.pause()  # nothing moves: only the lanes left to draw ask for frames
    window.tick()
    lanes = window.lanes
    lanes.new_looks_budget = math.inf
    lanes.viewport().repaint()
    whole = lanes.viewport().grab().toImage()
    drawn, shaped = [], []
    original, shapes = lanes._paint_row, lanes._paint_shapes
    lanes._paint_row = lambda p, row, *rest: (drawn.append(row.name), original(p, row, *rest))
    lanes._paint_shapes = lambda p, row, *rest: (shaped.append(row.name), shapes(p, row, *rest))
    lanes.new_looks_budget = 0.0  # one new look per frame
    lanes._pictures.clear()
    lanes.viewport().repaint()
    assert drawn == ["main"]  # the rest show only their shapes for now: state, bar, button
    assert shaped == ["main", "task1", "task2", "task3"]
    assert lanes.viewport().grab().toImage() != whole
    # The frame tick keeps asking for frames until every lane is drawn.
    qtbot.waitUntil(lambda: len(drawn) == 4, timeout=3000)
    assert drawn == ["main", "task1", "task2", "task3"]
    # ... and then stops: three more frames are painted (the paused sleepers' bars
    # still ask for them) and none draws a lane again.
    painted = EventCounter(QEvent.Type.Paint)
    lanes.viewport().installEventFilter(painted)
    qtbot.waitUntil(lambda: painted.count >= 3, timeout=3000)
    lanes.viewport().removeEventFilter(painted)
    assert len(drawn) == 4
    assert lanes.viewport().grab().toImage() == whole
    # Two lanes change look at once: the second keeps its last look for a frame.
    drawn.clear()
    lanes.select(window.controller.tasks.by_name("task1").id)
    lanes._hover = window.controller.tasks.by_name("task2").id
    lanes.viewport().repaint()
    assert drawn == ["task1"]
    qtbot.waitUntil(lambda: drawn == ["task1", "task2"], timeout=3000)
    lanes._paint_row, lanes._paint_shapes = original, shapes
    window.controller.resume()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_lanes_scrolled_into_view_are_drawn_whole_at_once(qtbot, window):
    async def many():
        await asyncio.gather(*(asyncio.sleep(30) for _ in range(40)))

    window.run_target(Target("many", "Many sleepers", __file__, many))
    qtbot.waitUntil(lambda: len(window.controller.tasks) > 40, timeout=3000)
    window.controller.pause()
    window.tick()
    lanes = window.lanes
    lanes.viewport().repaint()
    lanes.new_looks_budget = 0.0
    drawn = []
    original = lanes._paint_row
    lanes._paint_row = lambda p, row, *rest: (drawn.append(row.id), original(p, row, *rest))
    bar = lanes.verticalScrollBar()
    bar.setValue(bar.maximum())  # a screenful of lanes never drawn before
    lanes.viewport().repaint()
    shown = [row.id for row in lanes._visible_rows()]
    assert len(shown) > 2 and drawn == shown  # the person asked for them: all at once
    drawn.clear()
    lanes._pictures.clear()  # a burst that nobody asked for keeps to the budget
    lanes.viewport().repaint()
    assert drawn == shown[:1]
    window.frame_timer.stop()  # from here only the resize's own paint and the one below
    width = lanes.viewport().width()
    drawn.clear()
    painted = EventCounter(QEvent.Type.Paint)
    lanes.viewport().installEventFilter(painted)
    window.resize(window.width() + 40, window.height())  # every lane at a new width
    # until the resize's own paint, at the new width, has been and gone
    qtbot.waitUntil(
        lambda: width != lanes.viewport().width() == (painted.widths or [width])[-1],
        timeout=3000,
    )
    lanes.viewport().removeEventFilter(painted)
    lanes.viewport().repaint()
    assert sorted(drawn) == sorted(row.id for row in lanes._visible_rows())
    window.frame_timer.start()
    lanes._paint_row = original
    window.controller.resume()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_idle_lanes_draw_every_state_ahead_of_a_run(qtbot, window):
    from coroscope.models.task_model import STATE_LABELS, TaskRow
    from coroscope.widgets.paint import stamps

    lanes = window.lanes
    width = lanes.viewport().width()
    stamps._STAMPS.clear()
    window.resize(window.width() - 60, window.height())
    qtbot.waitUntil(lambda: lanes.viewport().width() != width, timeout=3000)
    window.tick()  # with no lanes, a tick warms them up at each new size
    kept = len(stamps._STAMPS)
    assert kept
    rect = lanes.viewport().rect()
    rect.setHeight(lanes.row_height)
    for index, state in enumerate(STATE_LABELS):
        row = TaskRow(index, f"t{index}", None, "c", 0.0, state=state, awaiting="sleep(1)")
        lanes._picture(row, rect, lanes._areas(rect), 1.0, index, state == "sleep")
    assert len(stamps._STAMPS) == kept  # every piece was ready


def test_lanes_make_room_for_the_scroll_bar_before_drawing_a_run(qtbot, window):
    async def many():
        await asyncio.gather(*(asyncio.sleep(5) for _ in range(60)))

    lanes = window.lanes
    assert not lanes.verticalScrollBar().isVisible()
    width = lanes.viewport().width()
    window.run_target(Target("many", "Many sleepers", __file__, many))
    qtbot.waitUntil(lambda: len(window.controller.tasks) > 60, timeout=3000)
    window.tick()  # the frame that first shows them: no events handled in between
    assert lanes.verticalScrollBar().isVisible()
    assert lanes.viewport().width() < width  # the lanes are drawn once, narrower
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_frames_of_a_busy_run_do_not_make_the_window_redo_its_layout(qtbot, window):
    window.controller.start(five_nappers_target())
    qtbot.waitUntil(lambda: len(window.controller.tasks) == 6, timeout=3000)
    counter = EventCounter(QEvent.Type.LayoutRequest)
    window.installEventFilter(counter)
    window.toolbar.installEventFilter(counter)
    frames_until_quiet(qtbot, window, counter)  # the run's first layout settles
    counter.count = 0
    changes = window.controller.tasks.version
    for _ in range(15):
        frame_then_loop_work(qtbot, window)
    assert window.controller.tasks.version > changes + 10  # the model kept changing
    assert counter.count == 0
    assert "t = " in window.time_label.text()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_frames_of_a_busy_run_leave_the_code_margins_alone_while_the_marks_stay(qtbot, window):
    window.controller.start(five_nappers_target())
    window.code.show_source(__file__)
    counter = EventCounter(QEvent.Type.Paint)
    window.code._tags.installEventFilter(counter)
    window.code._numbers.installEventFilter(counter)
    qtbot.waitUntil(lambda: len(window.code.marks()) == 2, timeout=3000)
    frames_until_quiet(qtbot, window, counter)  # the marks' first paint is over
    counter.count = 0
    changes = window.controller.tasks.version
    for _ in range(10):
        frame_then_loop_work(qtbot, window)
    assert window.controller.tasks.version > changes + 10  # the tasks kept stepping
    assert counter.count == 0  # ... on the same lines, so the margins had nothing new
    names = sorted(name for entries in window.code.marks().values() for _c, name, _i in entries)
    assert len(names) == 2 and "main" in names  # the five nappers share one line
    assert any(name.endswith(" +4 more") for name in names)
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=3000)


def test_a_feature_that_fails_to_load_leaves_the_rest_of_the_window_working(
    qtbot, controller, monkeypatch, capsys
):
    import coroscope.widgets.shell.main_window as main_window
    from PySide6.QtWidgets import QDockWidget

    monkeypatch.setattr(
        main_window, "FEATURES", ("coroscope.no_such_feature", *main_window.FEATURES)
    )
    window = main_window.MainWindow(controller, settings=None)
    qtbot.addWidget(window)
    assert window.features_installed
    assert window.findChild(QDockWidget, "loop_dock") is not None
    assert "no_such_feature" in window.statusBar().currentMessage()
    assert "ModuleNotFoundError" in capsys.readouterr().err
    window.close()


def test_panels_arrive_even_if_the_window_never_paints(qtbot, controller, monkeypatch):
    import coroscope.widgets.shell.main_window as main_window

    monkeypatch.setattr(main_window, "FIRST_PAINT_WAIT_MS", 50)
    window = main_window.MainWindow(controller, settings=None, defer_features=True)
    qtbot.addWidget(window)  # never shown, as when started minimised
    with qtbot.waitSignal(window.built, timeout=2000):
        pass
    assert window.features_installed
    window.close()


def test_status_readouts_grow_with_a_larger_font(qtbot, window):
    from coroscope.widgets.paint import theme

    readout = window.time_label
    before = readout.width()
    try:
        theme.apply_theme("dark", scale=1.6)
        qtbot.waitUntil(lambda: readout.width() > before * 1.4, timeout=2000)
        assert readout.width() >= readout.sizeHint().width()  # nothing clipped
    finally:
        theme.apply_theme("dark")


def test_lanes_squeezed_to_nothing_draw_without_painter_warnings(qtbot, qtlog):
    from coroscope.loop.clock import VirtualClock
    from coroscope.loop.events import TaskCreated
    from coroscope.models.task_model import TaskModel
    from coroscope.widgets.views.task_lanes import TaskLanesView

    model = TaskModel()
    lanes = TaskLanesView(model, VirtualClock())
    qtbot.addWidget(lanes)
    lanes.show()
    model.apply(TaskCreated(0.0, 1, "squeezed", None, "c", (), 1))
    for width, height in ((3, 50), (1, 1), (0, 0)):
        size = QSize(width, height)
        lanes.resize(size)
        qtbot.waitUntil(lambda size=size: lanes.size() == size, timeout=1000)
        lanes.warm_up()
        lanes.refresh()
        lanes.viewport().repaint()
    assert not [r.message for r in qtlog.records if "Paint" in r.message]


def test_the_status_bar_counts_folded_away_lanes(qtbot, window):
    from coroscope.loop.events import TaskCreated, TaskEnded

    tasks = window.controller.tasks
    tasks._keep_finished = 2  # a small bound stands in for the 5,000 of a real run
    tasks.apply(TaskCreated(0.0, 1, "main", None, "main", (), 1))
    for task in range(2, 8):
        tasks.apply(TaskCreated(0.0, task, f"t{task}", 1, "work", (), 1))
        tasks.apply(TaskEnded(0.0, task, "done", "None", None, None))
    window.tick()
    assert window.count_label.text().strip() == "1 live · 6 finished · 4 folded"
    assert tasks.get(1) is not None


def test_a_run_without_a_picture_gives_the_stage_to_the_lanes(qtbot, window):
    window.run_demo("countdown")
    qtbot.waitUntil(lambda: window.stage.isVisible())
    lanes_with_stage = window.lanes.height()
    window.run_demo("callouts")  # a demo with no picture of its own
    qtbot.waitUntil(lambda: not window.stage.isVisible(), timeout=3000)
    qtbot.waitUntil(lambda: window.lanes.height() > lanes_with_stage * 1.3, timeout=3000)
    window.run_demo("countdown")
    qtbot.waitUntil(lambda: window.stage.isVisible(), timeout=3000)
