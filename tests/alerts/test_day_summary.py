"""The end-of-day summary: at the daily reset, the day that ended, from the real engine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.app.day_summary import DaySummaries, DaySummary, describe_summary
from core.domain.clock import ManualClock
from core.engine.engine import Engine
from tests.builders import ACCOUNT, MNQ, config, make_engine, position, trade

# Tue 2026-08-18 17:00 CDT: the reset that begins trading day Wednesday 2026-08-19.
WED_START = datetime(2026, 8, 18, 22, 0, tzinfo=UTC)
WED_END = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # Wed 17:00 CDT
WEDNESDAY = date(2026, 8, 19)
FEES = Decimal("0.36")


def _engine(start: datetime) -> tuple[Engine, ManualClock, list[Any]]:
    cfg = config({"daily_realized_loss": {"limit": 500}, "cooldown_after_loss": {}})
    engine, clock, _ = make_engine(cfg, clock=ManualClock(start))
    seen: list[Any] = []
    engine.bus.subscribe(seen.append)
    return engine, clock, seen


def _trade_the_day(engine: Engine, clock: ManualClock) -> None:
    """A winner, a loser, and a loser closed in two fills: past the $500 daily loss limit."""
    clock.set(datetime(2026, 8, 19, 13, 0, tzinfo=UTC))  # Wed 08:00 CDT
    at = clock.now()
    engine.handle(position(MNQ, 1, 100.0))
    engine.handle(trade(None, at=at, order_id=1))  # entries carry no P&L
    engine.handle(trade("120", at=at + timedelta(minutes=1), order_id=2))
    engine.handle(trade(None, at=at + timedelta(minutes=2), order_id=3))
    engine.handle(trade("-250", at=at + timedelta(minutes=3), order_id=4))
    engine.handle(trade(None, at=at + timedelta(minutes=40), order_id=5, size=2))
    engine.handle(trade("-200", at=at + timedelta(minutes=41), order_id=6))
    engine.handle(trade("-200", at=at + timedelta(minutes=41), order_id=6))


def _summaries(seen: list[Any]) -> list[DaySummary]:
    return [n for n in seen if isinstance(n, DaySummary)]


def test_the_reset_publishes_the_day_that_ended() -> None:
    engine, clock, seen = _engine(WED_START - timedelta(minutes=1))  # running before it began
    summaries = DaySummaries(engine.bus, lambda: engine, clock)
    _trade_the_day(engine, clock)
    assert _summaries(seen) == []
    clock.set(WED_END + timedelta(seconds=1))
    engine.tick()
    [summary] = _summaries(seen)
    assert summary.account_id == ACCOUNT and summary.trading_day == WEDNESDAY
    assert summary.gross == Decimal("-530")
    assert summary.fees == 7 * FEES  # every fill's fees count
    assert summary.net == Decimal("-530") - 7 * FEES
    assert summary.fills == 7
    assert (summary.exits, summary.winners, summary.losers) == (3, 1, 2)
    breaches = {b.name: b.count for b in summary.breaches}
    assert breaches["Daily loss limit"] == 1
    assert breaches["Cooldown after a loss"] >= 2  # the -$250 order, then the -$400 one
    locks = {(lk.name, lk.kind) for lk in summary.locks}
    assert ("Daily loss limit", "hard lock") in locks
    assert ("Cooldown after a loss", "cooldown") in locks
    assert summary.counted_since is None  # watched the whole day
    line = describe_summary(summary)
    assert "RULE-" not in line
    assert line.startswith(f"DAY SUMMARY account {ACCOUNT} Wed 2026-08-19: Net P&L -$532.52")
    summaries.close()


def test_the_next_day_starts_from_nothing() -> None:
    engine, clock, seen = _engine(WED_START - timedelta(minutes=1))
    summaries = DaySummaries(engine.bus, lambda: engine, clock)
    _trade_the_day(engine, clock)
    clock.set(WED_END + timedelta(seconds=1))
    engine.tick()
    clock.set(WED_END + timedelta(days=1, seconds=1))  # Thursday ends with nothing done
    engine.tick()
    wednesday, thursday = _summaries(seen)
    assert thursday.trading_day == WEDNESDAY + timedelta(days=1)
    assert (thursday.net, thursday.fills, thursday.breaches, thursday.locks) == (0, 0, (), ())
    assert thursday.quiet and not wednesday.quiet
    summaries.close()


def test_joining_mid_day_says_from_when_breaches_and_locks_were_counted() -> None:
    engine, clock, seen = _engine(WED_START + timedelta(seconds=1))
    _trade_the_day(engine, clock)  # before the summary was listening: its lock went unseen
    summaries = DaySummaries(engine.bus, lambda: engine, clock)
    clock.set(WED_END + timedelta(seconds=1))
    engine.tick()
    [summary] = _summaries(seen)
    assert summary.net == Decimal("-530") - 7 * FEES  # P&L comes from the tracker: complete
    assert summary.breaches == () and summary.locks == ()
    assert summary.counted_since == datetime(2026, 8, 19, 13, 0, tzinfo=UTC)
    assert "counted from 08:00 CDT, when the app started" in describe_summary(
        summary, engine.calendar.zone
    )
    summaries.close()


def test_no_summary_for_a_day_that_ended_before_the_app_was_running() -> None:
    engine, clock, seen = _engine(WED_START + timedelta(seconds=1))
    _trade_the_day(engine, clock)
    clock.set(WED_END + timedelta(minutes=5))  # started after Wednesday's reset: a missed reset
    summaries = DaySummaries(engine.bus, lambda: engine, clock)
    engine.tick()
    assert _summaries(seen) == []
    summaries.close()
