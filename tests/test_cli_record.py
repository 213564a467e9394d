"""``coroscope record``: every bad input is one line and exit 2 before any rendering,
and a real process renders a take that decodes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from coroscope.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "10x10"], "--size must be WIDTHxHEIGHT with even numbers"),
        (["--size", "5000x5000"], "not 5000x5000"),
        (["--size", "321x200"], "(odd)"),
        (["--size", "wide"], "not 'wide'"),
        (["--fps", "0"], "--fps must be a whole number from 1 to 60, not '0'"),
        (["--fps", "61"], "not '61'"),
        (["--fps", "29.97"], "not '29.97'"),
        (["--speed", "10"], "--speed must be from 0.1 to 4, not '10'"),
        (["--speed", "nan"], "--speed must be"),
        (["--duration", "0"], "--duration must be a number of seconds above 0"),
        (["-o", "{tmp}/take.avi"], "unsupported output extension ('.avi') in"),
        (["-o", "{tmp}/take"], "unsupported output extension (no extension)"),
        (["-o", "{tmp}/missing/take.mp4"], "does not exist"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    argv = ["record", "countdown", *(a.replace("{tmp}", str(tmp_path)) for a in extra)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("coroscope: error: ")
    assert message in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temp file


@pytest.mark.parametrize(
    ("target", "message"),
    [("nope", "unknown demo 'nope'"), ("gone.py", "no such file: gone.py")],
)
def test_unknown_targets(tmp_path, monkeypatch, capsys, target, message):
    monkeypatch.chdir(tmp_path)
    assert main(["record", target]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_bad_input_never_starts_qt(tmp_path):
    # The checks run before the recorder (and Qt) is imported: fast, and no
    # display libraries are needed to be told about a typo.
    program = (
        "import sys\n"
        "from coroscope.cli.commands import main\n"
        "code = main(['record', 'countdown', '--fps', '0'])\n"
        "assert 'PySide6' not in sys.modules, 'Qt was imported'\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_real_process_records_a_gif(tmp_path):
    take = tmp_path / "take.gif"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coroscope",
            "record",
            "countdown",
            "-o",
            str(take),
            "--size",
            "320x200",
            "--fps",
            "10",
            "--duration",
            "1",
            "--theme",
            "light",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    [line] = out.stderr.strip().splitlines()  # no progress bar when stderr is not a terminal
    assert line.startswith(f"coroscope: wrote {take}: 10 frames, 1.0 s at 10 fps, 320x200")
    assert out.stdout == ""  # the demo's prints went to the recorded console, not here
    with av.open(str(take)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 10
    assert (frames[0].width, frames[0].height) == (320, 200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.gif"]


def test_ctrl_c_during_a_take_writes_nothing(tmp_path, monkeypatch, capsys):
    from coroscope.widgets.shell import recorder

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "render_take", interrupted)
    assert main(["record", "countdown", "-o", str(tmp_path / "take.mp4")]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["coroscope: error: interrupted; no file was written"]
    assert list(tmp_path.iterdir()) == []


def test_a_failing_take_is_one_line_and_exit_1(qapp, tmp_path, monkeypatch, capsys):
    from coroscope.takes.video_encoder import VideoEncoder

    def full_disk(self, frame, repeat=1):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(VideoEncoder, "write", full_disk)
    out = tmp_path / "take.mp4"
    argv = ["record", "countdown", "-o", str(out), "--size", "320x200", "--fps", "10"]
    assert main([*argv, "--duration", "1"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == f"coroscope: error: could not record {out}: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_sigterm_during_a_take_leaves_no_file_not_even_a_hidden_one(tmp_path):
    take = tmp_path / "take.mp4"
    argv = ["record", "countdown", "-o", str(take), "--size", "320x200", "--fps", "10"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "coroscope", *argv, "--duration", "30"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        deadline = time.monotonic() + 30
        # The encoder's hidden part file shows that frames are being written.
        while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no part file appeared"
            time.sleep(0.05)  # polling a child process, with a deadline
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "coroscope: error: terminated; no file was written"
    assert list(tmp_path.iterdir()) == []


def recorded(path, target, *options):
    """The frames of ``coroscope record TARGET -o PATH OPTIONS`` run as a command."""
    out = subprocess.run(
        [sys.executable, "-m", "coroscope", "record", target, "-o", str(path), *options],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""  # a program's prints go to the recorded console
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_takes_of_the_tcp_echo_are_identical_and_show_steady_ports(tmp_path):
    """The OS picks new ports for every run; a take shows them by their order of
    appearance (:50001, :50002...), so two takes of the echo are byte-identical."""

    def take(name):
        return recorded(
            tmp_path / name, "echo_streams", "--size", "800x500", "--fps", "5", "--duration", "1.6"
        )

    first, second = take("first.gif"), take("second.gif")
    assert len(first) == len(second) == 8
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        assert (a == b).all(), f"frame {index} differs"


def test_steady_text_gives_each_port_and_pid_its_place():
    from coroscope.takes.steady_text import SteadyText

    steady = SteadyText()
    assert steady("listening on 127.0.0.1:40521") == "listening on 127.0.0.1:50001"
    assert steady("echoing b'hi' to :61234") == "echoing b'hi' to :50002"
    assert (
        steady("tcp 127.0.0.1:40521 -> 127.0.0.1:61234") == "tcp 127.0.0.1:50001 -> 127.0.0.1:50002"
    )
    assert (
        steady("started child pid 4242, then pid 4243") == "started child pid 10001, then pid 10002"
    )
    # a file's line number and a clock reading are not ports
    assert steady("countdown.py:1234 and 12:30") == "countdown.py:1234 and 12:30"


RUNNER_SCRIPT = """\
import asyncio


async def nap(name, seconds):
    await asyncio.sleep(seconds)
    print(name, "slept", seconds)


async def main():
    await asyncio.gather(nap("one", 0.4), nap("two", 0.8))


with asyncio.Runner() as runner:  # a way of starting asyncio the old in-window host refused
    runner.run(main())
"""


def test_a_script_is_recorded_from_its_own_process_and_every_take_is_the_same(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER_SCRIPT)

    def take(name):
        return recorded(tmp_path / name, str(script), "--size", "640x400", "--fps", "10")

    first, second = take("first.gif"), take("second.gif")
    # 0.8 s of loop time, then the one-second tail, give or take the frames the
    # runner's own shutdown takes: the same number in every take
    assert 18 <= len(first) <= 24, len(first)
    assert len(first) == len(second)
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        assert (a == b).all(), f"frame {index} differs"
