"""Record and Export Trace in the running app: click, wait on the loop, read the file back."""

import asyncio

import av
import numpy as np
import pytest
from coroscope.control.run import Target
from coroscope.widgets.features.frame_grabber import even_size, to_array
from PySide6.QtCore import Qt

from tests.trace_schema import problems

pytestmark = pytest.mark.timeout(30)


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.fixture
def feature(window, tmp_path):
    feature = window.recording
    feature.folder = tmp_path
    feature.traces.folder = tmp_path
    return feature


def click(qtbot, window, action):
    button = window.toolbar.widgetForAction(action)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def wait_saved(qtbot, window, feature):
    qtbot.waitUntil(lambda: feature.finishing is None and feature.recorder is None, timeout=10000)
    message = window.statusBar().currentMessage()
    assert message.startswith("Saved a "), message
    return message


def test_record_button_records_the_window_until_pressed_again(qtbot, window, feature, tmp_path):
    window.run_demo("countdown")
    click(qtbot, window, feature.record_action)
    recorder = feature.recorder
    assert recorder is not None and feature.record_action.isChecked()
    assert window.windowTitle().startswith("● REC 0:00 — Countdown")
    # the status bar says so, without the path (a home folder in a public video)
    assert (
        window.statusBar().currentMessage()
        == "Recording the window (MP4 (H.264)); press Record to stop"
    )
    qtbot.waitUntil(lambda: recorder.frames >= 12, timeout=5000)
    window.tick()
    assert feature.record_action.text().startswith("Stop 0:0")
    assert str(tmp_path) in feature.record_action.toolTip()
    # ...but the frames show the app as it looks when not recording
    frame = recorder.grabber.fit(window.grab().toImage())
    with feature.as_when_not_recording():
        idle = recorder.grabber.grab()
    button = window.toolbar.widgetForAction(feature.record_action)
    assert button.text().startswith("Stop 0:0") and button.isChecked()  # and back again
    assert window.statusBar().currentMessage().startswith("Recording the window")
    assert recorder.recording
    click(qtbot, window, feature.record_action)
    message = wait_saved(qtbot, window, feature)
    [take] = list(tmp_path.iterdir())
    assert take.name.startswith("coroscope-countdown-") and take.suffix == ".mp4"
    assert str(take) in message
    assert not window.windowTitle().startswith("●")
    assert feature.record_action.text() == "Record" and not feature.record_action.isChecked()
    frames = decode(take)
    assert len(frames) == recorder.frames >= 12
    # the take's frames look like the idle grab where the recording chrome would be
    assert button.isVisible(), (window.size(), button.geometry())
    area = button.rect().translated(button.mapTo(window, button.rect().topLeft()))
    bar = window.statusBar().geometry()
    bar.setWidth(bar.width() * 2 // 5)  # where messages go (the readouts on the right move)
    for rect in (area, bar):
        rows, cols = slice(rect.top(), rect.bottom()), slice(rect.left(), rect.right())
        recording_look = to_array(frame)[rows, cols, :3].astype(int)
        assert abs(idle[rows, cols, :3].astype(int) - recording_look).max() > 60
        assert abs(frames[-2][rows, cols, ::-1].astype(int) - idle[rows, cols, :3]).mean() < 8
    width, height = even_size(window.size())
    assert frames[0].shape == (height, width, 3)
    # the rings counted down while recording
    assert np.abs(frames[-1].astype(int) - frames[0]).max() > 100
    # the take keeps real time: its length matches how long it recorded
    assert recorder.video_seconds == pytest.approx(recorder.elapsed, abs=1 / recorder.fps)


def test_the_panel_menu_picks_what_is_recorded(qtbot, window, feature, tmp_path):
    window.run_demo("countdown")
    feature.panel_actions["lanes"].trigger()
    assert feature.panel == "lanes"
    feature.record_action.trigger()
    qtbot.waitUntil(lambda: feature.recorder.frames >= 5, timeout=5000)
    feature.record_action.trigger()
    wait_saved(qtbot, window, feature)
    [take] = list(tmp_path.iterdir())
    width, height = even_size(window.lanes.size())
    assert decode(take)[0].shape == (height, width, 3)


def test_record_take_as_asks_without_blocking_then_records_a_gif(qtbot, window, feature, tmp_path):
    window.run_demo("countdown")
    feature.record_as_action.trigger()
    dialog = feature.dialog
    # open(), not exec(): we are back here while the dialog is up
    assert dialog is not None and dialog.isVisible()
    assert feature.recorder is None
    target = tmp_path / "my take.gif"
    dialog.selectFile(str(target))
    dialog.accept()
    assert feature.recorder is not None
    assert feature.extension == ".gif"
    qtbot.waitUntil(lambda: feature.recorder.frames >= 5, timeout=5000)
    feature.stop()
    wait_saved(qtbot, window, feature)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my take.gif"]
    assert len(decode(target)) >= 5


def test_an_unusable_folder_is_a_message_not_a_crash(qtbot, window, feature, tmp_path):
    (tmp_path / "afile").write_text("in the way")
    feature.folder = tmp_path / "afile" / "takes"
    feature.record_action.trigger()
    assert feature.recorder is None
    assert not feature.record_action.isChecked()
    assert window.statusBar().currentMessage().startswith("Could not start recording: ")


def test_closing_the_window_mid_take_still_writes_the_take(qtbot, window, feature, tmp_path):
    window.run_demo("countdown")
    feature.record_action.trigger()
    qtbot.waitUntil(lambda: feature.recorder.frames >= 5, timeout=5000)
    window.close()
    [take] = list(tmp_path.iterdir())
    assert take.suffix == ".mp4"
    assert len(decode(take)) >= 5


async def _nap(seconds):
    await asyncio.sleep(seconds)
    return seconds


def _naps():
    async def main():
        return await asyncio.gather(
            asyncio.create_task(_nap(0.2), name="short"),
            asyncio.create_task(_nap(0.3), name="long"),
        )

    return Target("naps", "Two naps", __file__, main)


def export(qtbot, feature, path):
    feature.traces.action.trigger()
    dialog = feature.traces.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


def test_export_trace_writes_the_current_run(qtbot, window, feature, tmp_path):
    import json

    feature.traces.action.trigger()
    assert window.statusBar().currentMessage() == "Nothing to export yet: run a demo first"
    controller = window.controller
    for attempt in range(2):  # a second run replaces the first in the trace
        window.run_target(_naps())
        qtbot.waitUntil(lambda: not controller.running, timeout=5000)
        out = tmp_path / f"run{attempt}.json"
        export(qtbot, feature, out)
        document = json.loads(out.read_text())
        assert problems(document) == []
        tasks = {t["name"]: t for t in document["tasks"]}
        assert sorted(tasks) == ["long", "main", "short"]
        # real time in the app: never early, and late only by what a busy machine adds
        assert 0.19 <= tasks["short"]["finished"] < 0.8
        assert 0.29 <= tasks["long"]["finished"] < 0.9
        # times count from the run's start, not the loop's (which began before run 0)
        assert tasks["main"]["created"] == pytest.approx(0.0, abs=0.01)
        assert window.statusBar().currentMessage().startswith(f"Trace saved to {out}: 3 tasks")


def test_the_chosen_folder_format_and_panel_are_remembered(qtbot, controller, tmp_path):
    from coroscope.widgets.shell.main_window import MainWindow
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    first = MainWindow(controller, settings)
    qtbot.addWidget(first)
    first.frame_timer.stop()
    first.recording.panel_actions["stage"].trigger()
    takes = tmp_path / "takes"
    takes.mkdir()
    assert first.recording.record_to(takes / "one.webm")
    first.recording.stop()
    qtbot.waitUntil(lambda: first.recording.finishing.done, timeout=10000)
    second = MainWindow(controller, settings)
    qtbot.addWidget(second)
    second.frame_timer.stop()
    feature = second.recording
    assert (feature.folder, feature.extension, feature.panel) == (takes, ".webm", "stage")
    assert feature.panel_actions["stage"].isChecked()
    assert feature.default_path().parent == takes and feature.default_path().suffix == ".webm"
