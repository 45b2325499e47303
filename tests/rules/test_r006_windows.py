"""RULE-006, the SPEC's windows: entries only, truly rolling (now − 60 s, now], out-of-order
arrivals land where they belong, and the daily reset clears only the per-day count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.clock import ManualClock
from core.engine.engine import Engine
from core.modules.lockouts import LockKind
from tests.builders import T0, config, make_engine, trade
from tests.rules.support import ct, lock_of

RULE = "RULE-006"
ROOMY = {"per_minute": 1000, "per_hour": 1000, "per_session": 1000}


def engine_with(**limits: Any) -> tuple[Engine, ManualClock, Any]:
    return make_engine(config({"trade_frequency_limit": {**ROOMY, **limits}}))


def entry(engine: Engine, at: Any, **kw: Any) -> None:
    engine.handle(trade(None, at=at, **kw))


def test_an_entry_exactly_60_s_old_is_outside_the_minute() -> None:
    engine, clock, _ = engine_with(per_minute=1)
    entry(engine, T0)
    clock.set(T0 + timedelta(seconds=60))
    entry(engine, clock.now())
    assert lock_of(engine, RULE) is None


def test_an_entry_a_moment_under_60_s_old_is_inside_the_minute() -> None:
    engine, clock, _ = engine_with(per_minute=1)
    entry(engine, T0)
    clock.set(T0 + timedelta(seconds=59, microseconds=999_000))
    entry(engine, clock.now())
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.kind is LockKind.COOLDOWN
    assert lock.until == clock.now() + timedelta(seconds=60)


def test_an_entry_exactly_an_hour_old_is_outside_the_hour() -> None:
    engine, clock, _ = engine_with(per_hour=1)
    entry(engine, T0)
    clock.set(T0 + timedelta(hours=1))
    entry(engine, clock.now())
    assert lock_of(engine, RULE) is None
    clock.set(T0 + timedelta(hours=1, seconds=1))
    entry(engine, clock.now())  # one hour back now holds T0+1h: two in the hour
    assert lock_of(engine, RULE) is not None


def test_exits_never_count() -> None:
    engine, clock, _ = engine_with(per_minute=1)
    entry(engine, T0)
    for second in (5, 10, 15):
        clock.set(T0 + timedelta(seconds=second))
        engine.handle(trade("-5", at=clock.now()))
    assert lock_of(engine, RULE) is None


def test_a_catch_up_that_arrives_out_of_order_lands_in_its_own_minute() -> None:
    # Live: entries at T0+10 s and T0+30 s (per_minute 2: fine). After a reconnect the catch-up
    # delivers one at T0+5 s: the minute ending at T0+30 s held three.
    engine, clock, _ = engine_with(per_minute=2)
    entry(engine, T0 + timedelta(seconds=10))
    entry(engine, T0 + timedelta(seconds=30))
    assert lock_of(engine, RULE) is None
    clock.set(T0 + timedelta(seconds=40))
    entry(engine, T0 + timedelta(seconds=5))
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert "3 entries in a minute (limit 2)" in lock.reason


def test_a_late_entry_outside_the_others_minute_breaches_nothing() -> None:
    engine, clock, _ = engine_with(per_minute=2)
    entry(engine, T0 + timedelta(seconds=70))
    entry(engine, T0 + timedelta(seconds=90))
    clock.set(T0 + timedelta(seconds=95))
    entry(engine, T0 + timedelta(seconds=10))  # 60 s before T0+70 s: never in a window with both
    assert lock_of(engine, RULE) is None


def test_the_daily_reset_does_not_clear_the_minute() -> None:
    reset = ct(2026, 8, 19, 17)
    engine, clock, _ = engine_with(per_minute=1)
    clock.set(reset - timedelta(seconds=30))
    entry(engine, clock.now())
    clock.set(reset + timedelta(seconds=1))
    engine.tick()  # the reset runs
    clock.set(reset + timedelta(seconds=10))
    entry(engine, clock.now())  # 40 s after the first: the same rolling minute
    lock = lock_of(engine, RULE)
    assert lock is not None and "2 entries in a minute" in lock.reason


def test_the_daily_reset_does_not_clear_the_hour() -> None:
    reset = ct(2026, 8, 19, 17)
    engine, clock, _ = engine_with(per_hour=2)
    for minutes in (40, 20):
        clock.set(reset - timedelta(minutes=minutes))
        entry(engine, clock.now())
    clock.set(reset + timedelta(minutes=5))
    engine.tick()
    entry(engine, clock.now())
    lock = lock_of(engine, RULE)
    assert lock is not None and "3 entries in an hour" in lock.reason


def test_the_daily_reset_does_clear_the_days_count() -> None:
    reset = ct(2026, 8, 19, 17)
    engine, clock, _ = engine_with(per_session=2)
    for minutes in (300, 200):
        clock.set(reset - timedelta(minutes=minutes))
        entry(engine, clock.now())
    clock.set(reset + timedelta(hours=3))
    engine.tick()
    entry(engine, clock.now())  # the first of the new trading day
    assert lock_of(engine, RULE) is None


def test_every_entry_past_the_days_limit_breaches_again() -> None:
    engine, clock, _ = engine_with(per_session=2, session_cooldown_seconds=60)
    for minutes in (0, 10, 20):
        clock.set(T0 + timedelta(minutes=minutes))
        entry(engine, clock.now())
    first = lock_of(engine, RULE)
    assert first is not None and first.until == T0 + timedelta(minutes=21)
    clock.set(T0 + timedelta(minutes=30))
    engine.tick()  # the cooldown ends
    assert lock_of(engine, RULE) is None
    entry(engine, clock.now())  # the fourth of the day
    again = lock_of(engine, RULE)
    assert again is not None and again.until == T0 + timedelta(minutes=31)
