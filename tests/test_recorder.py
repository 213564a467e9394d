"""Headless takes: frame-stepped on the virtual clock, decoded back with PyAV.

Takes here are small (320x200 at 10 fps) so each renders in well under a second.
"""

import asyncio
import hashlib
import itertools
import os
import signal

import av
import numpy as np
import pytest
from coroscope.control.run import Target
from coroscope.control.targets import demo_target
from coroscope.takes.options import TakeOptions
from coroscope.takes.video_encoder import EncoderError, VideoEncoder
from coroscope.widgets.shell import recorder
from coroscope.widgets.shell.recorder import TakeError, render_take

pytestmark = pytest.mark.timeout(60)

SMALL = {"size": (320, 200), "fps": 10}


def decode(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_a_two_second_countdown_take_decodes_to_twenty_changing_frames(qapp, tmp_path):
    options = TakeOptions(output=tmp_path / "take.mp4", duration=2.0, **SMALL)
    result = render_take(demo_target("countdown"), options)
    assert result.path == options.output
    assert result.frames == 20
    assert result.video_seconds == 2.0
    assert result.loop_seconds == pytest.approx(1.9)  # frame n shows loop time n / fps
    frames = decode(options.output)
    assert len(frames) == 20
    assert frames[0].shape == (200, 320, 3)
    # the rings count down every frame: each frame differs from the last by far
    # more than compression noise
    for before, after in itertools.pairwise(frames):
        assert np.abs(after.astype(int) - before.astype(int)).max() > 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.mp4"]


def test_every_take_has_identical_frames(qapp, tmp_path):
    def hashes():
        seen = []
        render_take(
            demo_target("countdown"),
            TakeOptions(output=tmp_path / "unused.mp4", duration=2.5, **SMALL),
            on_frame=lambda _i, frame: seen.append(hashlib.sha1(frame.tobytes()).hexdigest()),
            encode=False,
        )
        return seen

    first, second = hashes(), hashes()
    assert len(first) == 25
    assert first == second
    assert len(set(first)) == 25
    assert list(tmp_path.iterdir()) == []  # encode=False writes nothing


def test_without_a_duration_the_take_lasts_until_the_run_ends_plus_a_second(qapp, tmp_path):
    options = TakeOptions(output=tmp_path / "take.webm", size=(320, 200), fps=5)
    result = render_take(demo_target("countdown"), options)
    assert result.run_finished and not result.limited
    # main ends at 4.0 s of loop time: seen first in frame 20 (t = 4.0), then 5 frames of tail
    assert result.frames == 26
    assert len(decode(options.output)) == 26


def test_half_speed_makes_the_whole_take_twice_as_long(qapp, tmp_path):
    options = TakeOptions(output=tmp_path / "slow.webm", size=(320, 200), fps=5, speed=0.5)
    result = render_take(demo_target("countdown"), options, encode=False)
    # main ends at 4.0 s of loop time, seen first in frame 40 (8 s of video), then
    # 1 s of loop time is 2 s of video: 10 frames of tail (26 frames at 1x)
    assert result.run_finished
    assert result.frames == 51


def test_speed_is_loop_seconds_per_video_second(qapp, tmp_path):
    options = TakeOptions(output=tmp_path / "fast.gif", duration=1.0, speed=2.0, **SMALL)
    result = render_take(demo_target("countdown"), options)
    assert result.loop_seconds == pytest.approx(1.8)
    assert len(decode(options.output)) == 10


def test_a_panel_take_has_the_requested_size(qapp, tmp_path):
    options = TakeOptions(output=tmp_path / "stage.mp4", duration=0.5, panel="stage", **SMALL)
    seen = []
    render_take(demo_target("countdown"), options, on_frame=lambda _i, f: seen.append(f))
    assert seen[0].shape == (200, 320, 4)
    assert decode(options.output)[0].shape == (200, 320, 3)
    # the stage alone, edge to edge: its corner is the stage background (theme
    # "base", #12161B, stored B G R A), not the window's menu bar
    assert seen[0][0, 0].tolist() == [0x1B, 0x16, 0x12, 255]
    assert seen[0][-1, -1].tolist() == [0x1B, 0x16, 0x12, 255]


def test_an_endless_demo_stops_at_the_auto_limit(qapp, tmp_path, monkeypatch):
    monkeypatch.setattr(recorder, "AUTO_LIMIT", 1.0)
    options = TakeOptions(output=tmp_path / "clock.mp4", **SMALL)
    result = render_take(demo_target("live_clock"), options)
    assert result.limited and not result.run_finished
    assert result.frames == 10


def test_ctrl_c_leaves_no_file(qapp, tmp_path):
    def interrupt(index, _frame):
        if index == 3:
            raise KeyboardInterrupt

    options = TakeOptions(output=tmp_path / "take.mp4", duration=2.0, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        render_take(demo_target("countdown"), options, on_frame=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_a_real_ctrl_c_waits_for_the_end_of_the_frame(qapp, tmp_path):
    # Raised mid-paint, KeyboardInterrupt would crash Qt: the recorder defers it
    # to the frame loop, so the code after the signal still runs.
    reached = []
    # (Not always the default: a shell's background job starts with SIGINT ignored.)
    before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c(index, _frame):
        if index == 3:
            os.kill(os.getpid(), signal.SIGINT)
            reached.append(index)

    options = TakeOptions(output=tmp_path / "take.mp4", duration=2.0, **SMALL)
    with pytest.raises(KeyboardInterrupt):
        render_take(demo_target("countdown"), options, on_frame=press_ctrl_c)
    assert reached == [3]
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is before  # given back as it was


def test_a_failing_encoder_leaves_no_file(qapp, tmp_path, monkeypatch):
    real_write = VideoEncoder.write

    def write(self, frame, repeat=1):
        if self.frames >= 3:
            raise OSError(28, "No space left on device")
        real_write(self, frame, repeat)

    monkeypatch.setattr(VideoEncoder, "write", write)
    options = TakeOptions(output=tmp_path / "take.mp4", duration=2.0, **SMALL)
    with pytest.raises(EncoderError, match="No space left on device"):
        render_take(demo_target("countdown"), options)
    assert list(tmp_path.iterdir()) == []


def test_a_target_that_cannot_start_is_a_take_error(qapp, tmp_path):
    def broken():
        raise RuntimeError("no main here")

    target = Target("broken", "Broken", __file__, broken)
    with pytest.raises(TakeError, match="no main here"):
        render_take(target, TakeOptions(output=tmp_path / "take.mp4", duration=1.0, **SMALL))
    assert list(tmp_path.iterdir()) == []


def test_the_session_leaves_the_theme_and_loop_as_it_found_them(qapp, tmp_path):
    import asyncio

    from coroscope.widgets.paint import theme

    before = theme.current()
    options = TakeOptions(
        output=tmp_path / "t.mp4", duration=0.3, theme="light", presentation=True, **SMALL
    )
    render_take(demo_target("hello"), options)
    assert (theme.current().name, theme.current().scale) == (before.name, before.scale)
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_a_take_shows_every_lane_whole_however_slow_the_drawing(qapp, tmp_path, monkeypatch):
    from coroscope.widgets.views.task_lanes import TaskLanesView

    # The live window lets lanes that changed together finish over a few frames
    # (a budget per frame); a take is frame-stepped and must not.
    monkeypatch.setattr(TaskLanesView, "new_looks_budget", 0.0)
    behind = []
    original = TaskLanesView.paintEvent

    def paint(self, event):
        original(self, event)
        behind.append(self._behind)

    monkeypatch.setattr(TaskLanesView, "paintEvent", paint)

    async def many():
        await asyncio.gather(*(asyncio.sleep(0.3 + i / 10) for i in range(12)))

    options = TakeOptions(output=tmp_path / "unused.mp4", duration=1.0, size=(900, 700), fps=10)
    render_take(Target("many", "Many sleepers", __file__, many), options, encode=False)
    assert len(behind) >= 10 and not any(behind)


@pytest.mark.timeout(60)
def test_takes_with_worker_threads_keep_their_length(qapp, tmp_path):
    """Threads take real time whatever the frames do: while they work, loop time
    keeps pace with real time, so a take lasts as long however fast the machine
    renders (three takes gave 97, 84 and 53 frames before). On a quiet machine the
    frames are identical; a thread slowed by a busy one may land a frame later."""

    def hashes():
        seen = []
        result = render_take(
            demo_target("thread_pool"),
            TakeOptions(output=tmp_path / "unused.mp4", **SMALL),
            on_frame=lambda _i, frame: seen.append(hashlib.sha1(frame.tobytes()).hexdigest()),
            encode=False,
        )
        assert result.run_finished
        return seen

    first, second = hashes(), hashes()
    assert abs(len(first) - len(second)) <= 1
    assert first[:10] == second[:10]  # before the threads start: frame for frame
    # 0.5 s, then a 0.6 s block in the loop (no loop time in a take), 0.2 s, the
    # two 0.6 s jobs in threads side by side, and the 1 s tail: about 2.3 s
    assert 22 <= len(first) <= 26


def test_a_presentation_take_is_the_windows_presentation_mode_in_the_takes_theme(qapp, tmp_path):
    """As a class sees it: large type, and no menus, gallery or status bar."""
    options = TakeOptions(
        output=tmp_path / "t.mp4", duration=0.3, theme="light", presentation=True, size=(1280, 720)
    )
    with recorder.OffscreenSession(options) as session:
        session.start(demo_target("countdown"))
        window = session.window
        assert window.classroom.presenting
        assert not window.menuBar().isVisible() and not window.statusBar().isVisible()
        assert not window.gallery.isVisible()
        from coroscope.widgets.paint import theme

        assert theme.current().name == "light" and theme.current().scale > 1
