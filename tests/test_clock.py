import math

import pytest
from coroscope.loop.clock import VirtualClock


class FakeSource:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_starts_at_zero_and_follows_real_time():
    src = FakeSource()
    clock = VirtualClock(src)
    assert clock.now() == 0.0
    src.now += 1.5
    assert clock.now() == pytest.approx(1.5)


def test_pause_freezes_and_resume_continues_without_jump():
    src = FakeSource()
    clock = VirtualClock(src)
    src.now += 1
    clock.pause()
    src.now += 10
    assert clock.now() == pytest.approx(1)
    assert math.isinf(clock.real_delay(1))
    clock.resume()
    src.now += 2
    assert clock.now() == pytest.approx(3)


def test_speed_scales_time_and_real_delay():
    src = FakeSource()
    clock = VirtualClock(src)
    clock.set_speed(0.5)
    src.now += 2
    assert clock.now() == pytest.approx(1.0)
    assert clock.real_delay(1.0) == pytest.approx(2.0)
    clock.set_speed(4)
    src.now += 1
    assert clock.now() == pytest.approx(5.0)


@pytest.mark.parametrize("speed", [0.0, 0.05, 4.5, -1])
def test_speed_out_of_range_is_refused(speed):
    with pytest.raises(ValueError, match=r"between 0\.1x and 4\.0x"):
        VirtualClock(FakeSource()).set_speed(speed)


def test_advance_jumps_forward_even_when_paused_but_never_back():
    src = FakeSource()
    clock = VirtualClock(src)
    clock.pause()
    clock.advance_to(4.0)
    assert clock.now() == pytest.approx(4.0)
    clock.advance_to(2.0)  # ignored: never backwards
    assert clock.now() == pytest.approx(4.0)
    with pytest.raises(ValueError):
        clock.advance(-1)
