"""GatewayClock: "now" is the gateway's time run on the monotonic clock; moving the PC's wall
clock (a fake one here) moves nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from core.domain.clock import Clock, GatewayClock

START = datetime(2026, 8, 19, 21, 30, tzinfo=UTC)  # 16:30 in Chicago: 30 min before the reset


class FakePc:
    """The PC: a wall clock the trader can move, and a monotonic clock that only runs."""

    def __init__(self) -> None:
        self.wall_time = START
        self.mono = 1000.0

    def wall(self) -> datetime:
        return self.wall_time

    def monotonic(self) -> float:
        return self.mono

    def run(self, seconds: float) -> None:
        self.wall_time += timedelta(seconds=seconds)
        self.mono += seconds

    def move_wall(self, **delta: float) -> None:
        self.wall_time += timedelta(**delta)


@pytest.fixture
def pc() -> FakePc:
    return FakePc()


@pytest.fixture
def clock(pc: FakePc) -> GatewayClock:
    made: Clock = GatewayClock(wall=pc.wall, monotonic=pc.monotonic)  # it is a Clock
    assert isinstance(made, GatewayClock)
    return made


def test_before_the_gateway_answers_a_moved_wall_clock_moves_nothing(
    pc: FakePc, clock: GatewayClock
) -> None:
    assert clock.now() == START and not clock.anchored
    pc.run(10)
    pc.move_wall(hours=3)
    assert clock.now() == START + timedelta(seconds=10)
    assert clock.monotonic() == pc.mono


def test_the_gateway_date_anchors_now_and_a_later_wall_jump_is_ignored_and_logged(
    pc: FakePc, clock: GatewayClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.domain.clock")
    gateway = START + timedelta(seconds=40)  # the PC was 40 s slow
    clock.observe_server_date(gateway)
    assert clock.anchored and clock.now() == gateway + timedelta(seconds=0.5)
    assert any("40 s behind" in r.getMessage() for r in caplog.records)
    caplog.clear()
    pc.run(60)
    pc.move_wall(hours=1)  # the trader moves the PC past the 17:00 reset
    assert clock.now() == gateway + timedelta(seconds=60.5)
    clock.check_skew()
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "ahead of the gateway" in warning.getMessage()
    clock.check_skew()  # said once per change, not every tick
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_a_date_within_the_tolerance_never_moves_now(pc: FakePc, clock: GatewayClock) -> None:
    clock.observe_server_date(START)
    anchored = clock.now()
    pc.run(5.9)
    clock.observe_server_date(START + timedelta(seconds=5))  # truncated to the second
    assert clock.now() == anchored + timedelta(seconds=5.9)


def test_the_gateway_moves_now_when_it_disagrees_say_after_the_pc_slept(
    pc: FakePc, clock: GatewayClock
) -> None:
    clock.observe_server_date(START)
    pc.move_wall(hours=8)  # asleep: the wall clock ran, the monotonic clock did not
    later = START + timedelta(hours=8)
    clock.observe_server_date(later)
    assert clock.now() == later + timedelta(seconds=0.5)
    clock.observe_server_date(later - timedelta(seconds=30))  # and back, if the gateway says so
    assert clock.now() == later - timedelta(seconds=29.5)


def test_a_trade_time_moves_now_forward_only_and_only_so_far(
    pc: FakePc, clock: GatewayClock
) -> None:
    clock.observe_server_date(START)
    now = clock.now()
    clock.observe_event_time(now - timedelta(hours=2))  # an old trade: nothing to learn
    assert clock.now() == now
    clock.observe_event_time(now + timedelta(seconds=1))  # within the tolerance
    assert clock.now() == now
    clock.observe_event_time(now + timedelta(seconds=20))  # the clock was behind
    assert clock.now() == now + timedelta(seconds=20)
    clock.observe_event_time(datetime(9999, 1, 1, tzinfo=UTC))  # a bad field, not the time
    assert clock.now() == now + timedelta(seconds=20)


def test_no_date_header_changes_nothing(pc: FakePc, clock: GatewayClock) -> None:
    clock.observe_server_date(None)
    clock.observe_event_time(None)
    assert not clock.anchored and clock.now() == START
