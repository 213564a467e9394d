import math

import pytest
from coroscope.loop.clock import VirtualClock


class FakeSource:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_reads_its_source_at_1x_and_counts_run_time_from_its_origin():
    src = FakeSource()
    clock = VirtualClock(src)
    assert clock.now() == 100.0  # loop time is the source's (monotonic) time
    assert clock.run_time() == 0.0
    src.now += 1.5
    assert clock.now() == pytest.approx(101.5)
    clock.origin = clock.now()  # a run starts
    src.now += 2
    assert clock.run_time() == pytest.approx(2.0)
    assert clock.run_time(101.0) == pytest.approx(-0.5)


def test_the_real_clock_follows_time_monotonic_without_drift():
    import time

    clock = VirtualClock()
    for _ in range(3):
        assert abs(clock.now() - time.monotonic()) < 0.001
        time.sleep(0.05)


def test_pause_freezes_and_resume_continues_without_jump():
    src = FakeSource()
    clock = VirtualClock(src)
    src.now += 1
    clock.pause()
    src.now += 10
    assert clock.run_time() == pytest.approx(1)
    assert math.isinf(clock.real_delay(1))
    clock.resume()
    src.now += 2
    assert clock.run_time() == pytest.approx(3)


def test_speed_scales_time_and_real_delay():
    src = FakeSource()
    clock = VirtualClock(src)
    clock.set_speed(0.5)
    src.now += 2
    assert clock.run_time() == pytest.approx(1.0)
    assert clock.real_delay(1.0) == pytest.approx(2.0)
    clock.set_speed(4)
    src.now += 1
    assert clock.run_time() == pytest.approx(5.0)


@pytest.mark.parametrize("speed", [0.0, 0.05, 4.5, -1])
def test_speed_out_of_range_is_refused(speed):
    with pytest.raises(ValueError, match=r"between 0\.1x and 4\.0x"):
        VirtualClock(FakeSource()).set_speed(speed)


def test_advance_jumps_forward_even_when_paused_but_never_back():
    src = FakeSource()
    clock = VirtualClock(src)
    clock.pause()
    clock.advance_to(104.0)
    assert clock.now() == pytest.approx(104.0)
    clock.advance_to(102.0)  # ignored: never backwards
    assert clock.now() == pytest.approx(104.0)
    with pytest.raises(ValueError):
        clock.advance(-1)
