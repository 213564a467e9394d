"""The PyAV encoder, its thread, atomic files and option limits: no Qt involved."""

import io
import os
import threading

import av
import numpy as np
import pytest
from coroscope.cli.progress import ProgressBar
from coroscope.takes.atomic_file import AtomicFile, OutputPathError, check_output
from coroscope.takes.options import OptionError, parse_duration, parse_fps, parse_size, parse_speed
from coroscope.takes.video_encoder import EncoderError, EncoderThread, VideoEncoder

W, H = 160, 120


def frame(step: int) -> np.ndarray:
    """A dark BGRA frame with a bright block that moves 8 px per step."""
    image = np.full((H, W, 4), 30, np.uint8)
    image[..., 3] = 255
    image[40:80, step * 8 : step * 8 + 24, :3] = 230
    return image


def decode(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("extension", [".mp4", ".webm", ".gif"])
def test_each_format_round_trips_with_repeats(tmp_path, extension):
    path = tmp_path / f"take{extension}"
    encoder = EncoderThread(VideoEncoder(path, (W, H), 10))
    for step in range(6):
        assert encoder.put(frame(step), repeat=2 if step == 3 else 1)
    assert encoder.finish() == path
    frames = decode(path)
    assert len(frames) == 7
    assert frames[0].shape == (H, W, 3)
    # the moving block is where it was drawn (allowing for lossy compression)
    block = frames[6][40:80, 5 * 8 : 5 * 8 + 24].mean()
    assert block > 180 and frames[6][40:80, :24].mean() < 80
    # the repeated frame really is repeated, and the next one moved on
    assert np.abs(frames[3].astype(int) - frames[4]).max() < 30
    assert np.abs(frames[4].astype(int) - frames[5]).max() > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_the_file_appears_only_when_finished(tmp_path):
    path = tmp_path / "take.mp4"
    encoder = EncoderThread(VideoEncoder(path, (W, H), 10))
    encoder.put(frame(0))
    assert not path.exists()
    [temp] = list(tmp_path.iterdir())
    assert temp.name.startswith(".take.mp4.") and temp.name.endswith(".part")
    encoder.finish()
    assert path.exists() and not temp.exists()
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # not left private like a temp file


def test_abort_removes_everything(tmp_path):
    encoder = EncoderThread(VideoEncoder(tmp_path / "take.webm", (W, H), 10))
    for step in range(3):
        encoder.put(frame(step))
    encoder.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(EncoderError):
        encoder.put(frame(0))


def test_a_wrong_frame_size_fails_the_take_and_wakes_the_producer(tmp_path):
    encoder = EncoderThread(VideoEncoder(tmp_path / "take.mp4", (W, H), 10), max_queue=1)
    encoder.put(np.zeros((10, 10, 4), np.uint8))
    # blocking puts keep going (the failed worker drains the queue) until one reports it
    with pytest.raises(EncoderError, match="frame is 10x10, the take is 160x120"):
        for _ in range(10_000):
            encoder.put(frame(0))
    with pytest.raises(EncoderError):
        encoder.finish()
    assert encoder.done.is_set()
    assert list(tmp_path.iterdir()) == []


def test_a_full_queue_refuses_without_blocking(tmp_path):
    encoder = EncoderThread(VideoEncoder(tmp_path / "take.mp4", (W, H), 10), max_queue=1)
    gate = threading.Event()
    real_write = encoder.encoder.write

    def slow_write(*args):
        gate.wait(10)
        real_write(*args)

    encoder.encoder.write = slow_write
    assert encoder.put(frame(0))  # the worker takes it and waits at the gate
    results = [encoder.put(frame(1), block=False) for _ in range(3)]
    assert results[-1] is False  # the one slot filled up; no call blocked
    gate.set()
    encoder.finish()
    assert len(decode(tmp_path / "take.mp4")) == 1 + results.count(True)


def test_atomic_file_commits_or_discards(tmp_path):
    with AtomicFile(tmp_path / "a.json") as out:
        out.temp.write_text("{}")
    assert (tmp_path / "a.json").read_text() == "{}"
    with pytest.raises(KeyboardInterrupt), AtomicFile(tmp_path / "b.json") as out:
        out.temp.write_text("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_check_output(tmp_path):
    assert check_output(tmp_path / "x.GIF", (".gif",)) == tmp_path / "x.GIF"
    with pytest.raises(OutputPathError, match=r"use \.mp4, \.webm or \.gif"):
        check_output(tmp_path / "x.avi", (".mp4", ".webm", ".gif"))
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputPathError, match="permission denied"):
            check_output(locked / "x.gif", (".gif",))


@pytest.mark.parametrize(
    ("parse", "good", "bad"),
    [
        (parse_size, {"1280x720": (1280, 720), " 320 X 200 ": (320, 200)}, ["159x120", "0x0", "x"]),
        (parse_fps, {"1": 1, "60": 60}, ["0", "61", "-5", "ten", "30.0"]),
        (parse_speed, {"0.1": 0.1, "4": 4.0}, ["0.05", "4.5", "inf", "nan", ""]),
        (parse_duration, {"0.5": 0.5, "3600": 3600.0}, ["0", "-1", "3601", "inf"]),
    ],
)
def test_option_limits(parse, good, bad):
    for text, value in good.items():
        assert parse(text) == value
    for text in bad:
        with pytest.raises(OptionError):
            parse(text)


def test_progress_bar_draws_only_on_a_terminal():
    quiet = io.StringIO()
    bar = ProgressBar("recording countdown", quiet)
    bar.update(5, 10, "0.5 s")
    bar.close()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = ProgressBar("recording countdown", shown, enabled=True)
    bar.update(10, 10, "1.0 s")
    assert "recording countdown" in shown.getvalue() and "100%" in shown.getvalue()
    assert bar.render(5, 10).count("█") == bar.render(5, 10).count("░")
    bar.close()
    assert shown.getvalue().endswith("\r\x1b[K")


def test_a_gif_keeps_one_palette_and_stores_only_what_changed(tmp_path):
    """A window take is mostly still: with one palette for the whole take each GIF
    frame is just the rectangle that changed, and a colour the caller said would
    come (a state colour, say) is exact although the first frame lacked it."""
    width, height, red = 320, 240, (239, 68, 68)
    still = np.full((height, width, 4), 40, dtype=np.uint8)
    still[..., 3] = 255
    gif = tmp_path / "take.gif"
    encoder = EncoderThread(VideoEncoder(gif, (width, height), 10, colours=[red]))
    for step in range(40):
        shown = still.copy()
        shown[100:120, step * 5 : step * 5 + 20, :3] = red[::-1]  # BGRA: blue first
        encoder.put(shown)
    encoder.finish()
    frames = decode(gif)
    assert len(frames) == 40
    assert tuple(frames[30][110, 30 * 5 + 10]) == red
    assert tuple(frames[30][10, 10]) == (40, 40, 40)
    # 40 frames of 320x240 in well under what two whole frames would take
    assert gif.stat().st_size < 2 * width * height
