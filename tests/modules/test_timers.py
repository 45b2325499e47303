"""MOD-003 TimerManager: named countdowns fired by the engine's clock tick."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

import pytest

from core.modules.timers import TimerManager
from tests.builders import T0


def secs(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def test_start_and_fire_once() -> None:
    timers = TimerManager()
    fired: list[str] = []
    timer = timers.start("a", T0, lambda: fired.append("a"), seconds=10)
    assert timer.expires_at == secs(10)
    assert timers.is_active("a") and timers.names() == ["a"]
    assert timers.fire_due(secs(9.999)) == 0 and fired == []
    assert timers.fire_due(secs(10)) == 1 and fired == ["a"]
    assert not timers.is_active("a")
    assert timers.fire_due(secs(100)) == 0 and fired == ["a"]


def test_start_at_an_instant() -> None:
    timers = TimerManager()
    fired: list[str] = []
    timers.start("reset", T0, lambda: fired.append("reset"), at=secs(3600))
    assert timers.remaining("reset", T0) == 3600.0
    timers.fire_due(secs(3600))
    assert fired == ["reset"]


def test_needs_exactly_one_of_seconds_or_at() -> None:
    timers = TimerManager()
    with pytest.raises(ValueError):
        timers.start("x", T0, lambda: None)
    with pytest.raises(ValueError):
        timers.start("x", T0, lambda: None, seconds=1, at=secs(1))
    assert timers.names() == []


def test_cancel() -> None:
    timers = TimerManager()
    fired: list[str] = []
    timers.start("a", T0, lambda: fired.append("a"), seconds=5)
    assert timers.cancel("a") is True
    assert timers.cancel("a") is False
    assert timers.cancel("never") is False
    assert timers.fire_due(secs(60)) == 0 and fired == []
    assert timers.next_expiry() is None


def test_restart_replaces_the_old_countdown() -> None:
    timers = TimerManager()
    fired: list[str] = []
    timers.start("grace", T0, lambda: fired.append("old"), seconds=10)
    timers.start("grace", secs(5), lambda: fired.append("new"), seconds=10)
    assert timers.names() == ["grace"]
    assert timers.remaining("grace", secs(5)) == 10.0
    assert timers.fire_due(secs(10)) == 0 and fired == []  # the old expiry is gone
    assert timers.next_expiry() == secs(15)
    assert timers.fire_due(secs(15)) == 1 and fired == ["new"]


def test_restart_to_an_earlier_time() -> None:
    timers = TimerManager()
    fired: list[str] = []
    timers.start("a", T0, lambda: fired.append("late"), seconds=100)
    timers.start("a", T0, lambda: fired.append("early"), seconds=1)
    assert timers.fire_due(secs(200)) == 1 and fired == ["early"]


def test_remaining() -> None:
    timers = TimerManager()
    timers.start("a", T0, lambda: None, seconds=30)
    assert timers.remaining("a", T0) == 30.0
    assert timers.remaining("a", secs(12.5)) == 17.5
    assert timers.remaining("a", secs(31)) == 0.0  # never negative
    assert timers.remaining("unknown", T0) == 0.0


def test_fire_due_fires_only_due_timers_in_expiry_order() -> None:
    timers = TimerManager()
    fired: list[str] = []
    for name, after in [("c", 30), ("a", 10), ("later", 100), ("b", 20)]:
        timers.start(name, T0, partial(fired.append, name), seconds=after)
    assert timers.fire_due(secs(30)) == 3
    assert fired == ["a", "b", "c"]
    assert timers.names() == ["later"]
    assert timers.next_expiry() == secs(100)


def test_same_expiry_fires_in_start_order() -> None:
    timers = TimerManager()
    fired: list[str] = []
    for name in ["x", "y", "z"]:
        timers.start(name, T0, partial(fired.append, name), seconds=5)
    timers.fire_due(secs(5))
    assert fired == ["x", "y", "z"]


def test_raising_callback_is_logged_and_others_still_fire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    timers = TimerManager()
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    timers.start("a", T0, lambda: fired.append("a"), seconds=1)
    timers.start("bad", T0, boom, seconds=2)
    timers.start("c", T0, lambda: fired.append("c"), seconds=3)
    with caplog.at_level(logging.ERROR, logger="core.modules.timers"):
        assert timers.fire_due(secs(3)) == 3
    assert fired == ["a", "c"]
    assert any("bad" in r.getMessage() and r.exc_info for r in caplog.records)
    assert timers.names() == []


def test_callback_may_restart_its_own_timer() -> None:
    timers = TimerManager()
    fired: list[int] = []

    def tick() -> None:
        fired.append(len(fired))
        timers.start("tick", secs(len(fired) * 10), tick, seconds=10)

    timers.start("tick", T0, tick, seconds=10)
    assert timers.fire_due(secs(10)) == 1
    assert timers.is_active("tick") and timers.next_expiry() == secs(20)
    assert timers.fire_due(secs(20)) == 1
    assert fired == [0, 1]
