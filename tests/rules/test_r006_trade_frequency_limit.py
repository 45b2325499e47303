"""RULE-006 trade_frequency_limit: more entries than allowed per minute/hour/day → a cooldown.

An entry is a fill that opens or adds (no ``profitAndLoss``); closing fills do not count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.domain.clock import ManualClock
from core.domain.commands import CancelOrder
from core.engine.engine import Engine
from core.engine.rules.r006_trade_frequency_limit import TradeFrequencyLimitRule
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, MNQ, OTHER_ACCOUNT, T0, config, make_engine, order, trade
from tests.rules.support import ct, lock_of

RULE = "RULE-006"
RELAXED = {"per_minute": 1000, "per_hour": 1000, "per_session": 1000}


def engine_with(**table: Any) -> tuple[Engine, ManualClock, Any]:
    return make_engine(config({"trade_frequency_limit": table}))


def enter(engine: Engine, clock: ManualClock, at: datetime, **kwargs: Any) -> None:
    """An entry fill arriving live, at the moment it happened."""
    clock.set(at)
    engine.handle(trade(None, at=at, **kwargs))


def close_fill(engine: Engine, clock: ManualClock, at: datetime) -> None:
    clock.set(at)
    engine.handle(trade("12.50", at=at))


def test_entries_up_to_the_per_minute_limit_are_fine() -> None:
    engine, clock, port = engine_with(per_minute=3)
    for seconds in (0, 10, 20):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    assert lock_of(engine, RULE) is None
    assert port.commands == []


def test_the_fourth_entry_in_a_minute_starts_the_minute_cooldown() -> None:
    engine, clock, port = engine_with(per_minute=3)
    for seconds in (0, 10, 20, 59):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.kind is LockKind.COOLDOWN
    assert lock.until == T0 + timedelta(seconds=59 + 60)
    assert "4 entries in a minute (limit 3)" in lock.reason
    assert port.commands == []  # a cooldown closes nothing


def test_the_minute_is_rolling_an_entry_60_s_old_has_left_it() -> None:
    engine, clock, _ = engine_with(per_minute=3)
    for seconds in (0, 10, 20, 60):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    assert lock_of(engine, RULE) is None  # 10, 20, 60 in the last minute: 3


def test_closing_fills_do_not_count_as_entries() -> None:
    engine, clock, _ = engine_with(per_minute=3)
    for seconds in (0, 5, 10):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    for seconds in (15, 20, 25, 30):
        close_fill(engine, clock, T0 + timedelta(seconds=seconds))
    assert lock_of(engine, RULE) is None
    enter(engine, clock, T0 + timedelta(seconds=35))  # the real 4th entry
    assert lock_of(engine, RULE) is not None


def test_voided_entries_do_not_count() -> None:
    engine, clock, _ = engine_with(per_minute=3)
    for seconds in (0, 5, 10):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    enter(engine, clock, T0 + timedelta(seconds=15), voided=True)
    assert lock_of(engine, RULE) is None


def test_the_same_fill_delivered_twice_counts_once() -> None:
    engine, clock, _ = engine_with(per_minute=3)
    for seconds in (0, 5):
        enter(engine, clock, T0 + timedelta(seconds=seconds))
    enter(engine, clock, T0 + timedelta(seconds=10), trade_id=9)
    enter(engine, clock, T0 + timedelta(seconds=10), trade_id=9)  # again from Trade/search
    assert lock_of(engine, RULE) is None


def test_the_eleventh_entry_in_an_hour_starts_the_hour_cooldown() -> None:
    engine, clock, _ = engine_with(**{**RELAXED, "per_hour": 10})
    for i in range(10):
        enter(engine, clock, T0 + timedelta(minutes=5 * i))  # 0 … 45 min
    assert lock_of(engine, RULE) is None
    eleventh = T0 + timedelta(minutes=59)
    enter(engine, clock, eleventh)
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert (lock.kind, lock.until) == (LockKind.COOLDOWN, eleventh + timedelta(seconds=1800))
    assert "11 entries in an hour (limit 10)" in lock.reason


def test_the_entry_above_the_session_limit_starts_the_session_cooldown() -> None:
    engine, clock, _ = engine_with(**{**RELAXED, "per_session": 3})
    start = ct(2026, 8, 19, 1, 0)  # all inside Wednesday's trading day (Tue 17:00 → Wed 17:00)
    for hours in (0, 3, 6):
        enter(engine, clock, start + timedelta(hours=hours))
    assert lock_of(engine, RULE) is None
    fourth = start + timedelta(hours=9)
    enter(engine, clock, fourth)
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.until == fourth + timedelta(seconds=3600)
    assert "4 entries today (limit 3)" in lock.reason


def test_the_session_count_starts_again_at_the_17_00_reset() -> None:
    engine, clock, _ = engine_with(**{**RELAXED, "per_session": 3})
    for hour in (10, 13, 16):
        enter(engine, clock, ct(2026, 8, 19, hour, 0))
    enter(engine, clock, ct(2026, 8, 19, 17, 0))  # first entry of Thursday's trading day
    assert lock_of(engine, RULE) is None


def test_the_longest_cooldown_that_applies_wins() -> None:
    engine, clock, _ = engine_with(**{**RELAXED, "per_minute": 1, "per_hour": 1})
    enter(engine, clock, T0)
    enter(engine, clock, T0 + timedelta(seconds=10))  # over both the minute and the hour
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.until == T0 + timedelta(seconds=10 + 1800)
    assert "in a minute" in lock.reason and "in an hour" in lock.reason


def test_the_longest_cooldown_wins_even_when_the_shorter_window_has_it() -> None:
    engine, clock, _ = engine_with(
        **{**RELAXED, "per_minute": 1, "per_hour": 1, "minute_cooldown_seconds": 4000}
    )
    enter(engine, clock, T0)
    enter(engine, clock, T0 + timedelta(seconds=10))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=10 + 4000)


def test_cooldown_lengths_are_configurable() -> None:
    engine, clock, _ = engine_with(per_minute=1, minute_cooldown_seconds=90)
    enter(engine, clock, T0)
    enter(engine, clock, T0 + timedelta(seconds=1))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=91)


def test_stale_entries_whose_cooldown_is_already_over_start_nothing() -> None:
    # After a restart Trade/search delivers this morning's overtrading: it is long over.
    engine, _, _ = engine_with(per_minute=3)
    earlier = T0 - timedelta(hours=2)
    for seconds in (0, 10, 20, 30):
        engine.handle(trade(None, at=earlier + timedelta(seconds=seconds)))
    assert lock_of(engine, RULE) is None


def test_an_entry_within_the_clock_skew_margin_cools_down_from_now() -> None:
    # The 4th entry is stamped 10 s ago: gateway and PC clocks may disagree by that much, so
    # the cooldown runs its full length from now (a fast PC clock must not shorten it).
    engine, clock, _ = engine_with(per_minute=3)
    first = T0 - timedelta(seconds=40)
    for seconds in (0, 10, 20, 30):
        engine.handle(trade(None, at=first + timedelta(seconds=seconds)))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == clock.now() + timedelta(seconds=60)


def test_a_late_entry_still_inside_its_cooldown_locks_from_the_entry_not_from_now() -> None:
    # Fetched 5 minutes late (a REST catch-up): the hour cooldown runs from the entry itself.
    engine, clock, _ = engine_with(per_minute=100, per_hour=3)
    first = T0 - timedelta(minutes=8)
    for minutes in (0, 1, 2, 3):
        engine.handle(trade(None, at=first + timedelta(minutes=minutes)))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == first + timedelta(minutes=3, seconds=1800)
    assert lock.until > clock.now()


def test_a_later_breach_extends_the_cooldown() -> None:
    engine, clock, _ = engine_with(per_minute=1)
    enter(engine, clock, T0)
    enter(engine, clock, T0 + timedelta(seconds=5))
    enter(engine, clock, T0 + timedelta(seconds=20))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=80)


def test_each_account_counts_its_own_entries() -> None:
    engine, clock, _ = engine_with(per_minute=2)
    for seconds, account_id in ((0, ACCOUNT), (1, OTHER_ACCOUNT), (2, ACCOUNT), (3, OTHER_ACCOUNT)):
        enter(engine, clock, T0 + timedelta(seconds=seconds), account_id=account_id)
    assert lock_of(engine, RULE) is None
    assert lock_of(engine, RULE, OTHER_ACCOUNT) is None


def test_a_new_entry_order_during_the_cooldown_is_cancelled() -> None:
    engine, clock, port = engine_with(per_minute=1)
    enter(engine, clock, T0)
    enter(engine, clock, T0 + timedelta(seconds=5))
    clock.advance(10)
    entry = order(MNQ, side=0, type=1, limit_price=19990.0, created_at=clock.now())
    engine.handle(entry)
    assert [(type(c), c.rule_id, c.order_id) for c in port.commands] == [  # type: ignore[union-attr]
        (CancelOrder, RULE, entry.order_id)
    ]


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(per_minute=1)
    rule = TradeFrequencyLimitRule(engine.config.rules.trade_frequency_limit)
    ctx = engine.context(ACCOUNT, clock.now())
    first, second = trade(None, at=T0), trade(None, at=T0)
    engine.counter.record(first)
    assert rule.evaluate(ctx, first) == []
    engine.counter.record(second)
    [breach] = rule.evaluate(ctx, second)
    assert breach.commands == ()
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.COOLDOWN, T0 + timedelta(seconds=60))
    closing = trade("5", at=T0)
    assert rule.evaluate(ctx, closing) == []  # a closing fill never breaches
