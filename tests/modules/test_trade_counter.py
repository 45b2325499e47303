"""MOD-008 TradeCounter: entries per rolling minute, rolling hour and whole trading session."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.domain.clock import ManualClock
from core.domain.events import TradeEvent
from core.domain.trading_day import TradingCalendar
from core.modules.trade_counter import TradeCounter, TradeCounts
from tests.builders import ACCOUNT, OTHER_ACCOUNT, T0, trade

RESET = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # ends T0's trading day (17:00 CDT)


class FakeStore:
    def __init__(self) -> None:
        self.sessions: list[tuple[int, datetime, date]] = []

    def save_session(self, account_id: int, start: datetime, day: date) -> None:
        self.sessions.append((account_id, start, day))


def counter(store: FakeStore | None = None) -> TradeCounter:
    return TradeCounter(TradingCalendar(time(17, 0), "America/Chicago"), store)


def entry(at: datetime, **kw: Any) -> TradeEvent:
    return trade(None, at=at, **kw)


def test_only_entries_count() -> None:
    c = counter()
    assert c.record(entry(T0)) is True
    assert c.record(trade("-10", at=T0 + timedelta(seconds=5))) is False  # a closing fill
    assert c.record(entry(T0 + timedelta(seconds=6), voided=True)) is False
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=10)) == TradeCounts(1, 1, 1)


def test_rolling_minute_59_vs_61_seconds() -> None:
    c = counter()
    c.record(entry(T0))
    c.record(entry(T0 + timedelta(seconds=59)))
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=59)).minute == 2
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=61)).minute == 1
    c2 = counter()
    c2.record(entry(T0))
    c2.record(entry(T0 + timedelta(seconds=61)))
    assert c2.counts(ACCOUNT, T0 + timedelta(seconds=61)) == TradeCounts(1, 2, 2)


def test_rolling_hour() -> None:
    c = counter()
    c.record(entry(T0))
    c.record(entry(T0 + timedelta(minutes=30)))
    c.record(entry(T0 + timedelta(minutes=59, seconds=59)))
    assert c.counts(ACCOUNT, T0 + timedelta(minutes=59, seconds=59)).hour == 3
    assert c.counts(ACCOUNT, T0 + timedelta(minutes=61)).hour == 2
    assert c.counts(ACCOUNT, T0 + timedelta(minutes=91)).hour == 1
    assert c.counts(ACCOUNT, T0 + timedelta(minutes=91)).session == 3


def test_counts_use_trade_timestamps_not_arrival_order() -> None:
    c = counter()
    c.record(entry(T0 + timedelta(seconds=50)))
    c.record(entry(T0 - timedelta(minutes=5)))  # a late REST catch-up of an earlier fill
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=50)) == TradeCounts(1, 2, 2)
    # Every count ends at the instant asked about: the later fill is not in it yet.
    assert c.counts(ACCOUNT, T0) == TradeCounts(0, 1, 1)


def test_session_counts_the_whole_trading_day() -> None:
    # 70 entries, one every 6 minutes over 7 hours (07:00-13:54 CDT): the earlier design
    # capped the session at what fell inside the last hour.
    c = counter()
    start = T0 - timedelta(hours=3)
    times = [start + timedelta(minutes=6 * i) for i in range(70)]
    for at in times:
        c.record(entry(at))
    last = times[-1]
    assert last - times[0] > timedelta(hours=6)
    counts = c.counts(ACCOUNT, last)
    in_last_hour = sum(1 for t in times if last - timedelta(hours=1) < t <= last)
    assert counts.session == 70
    assert counts.hour == in_last_hour == 10
    assert counts.minute == 1
    assert counts.session > counts.hour


def test_dedupe_by_trade_id() -> None:
    c = counter()
    e = entry(T0, trade_id=99)
    assert c.record(e) is True
    assert c.record(e) is False
    assert c.counts(ACCOUNT, T0) == TradeCounts(1, 1, 1)


def test_voided_entry_is_taken_back() -> None:
    c = counter()
    c.record(entry(T0, trade_id=1))
    c.record(entry(T0, trade_id=2))  # same instant as 1
    c.record(entry(T0 + timedelta(seconds=1), trade_id=3))
    assert c.record(entry(T0, trade_id=1, voided=True)) is True
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=1)) == TradeCounts(2, 2, 2)
    assert c.record(entry(T0, trade_id=1, voided=True)) is False  # once only
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=1)).session == 2


def test_accounts_are_separate() -> None:
    c = counter()
    c.record(entry(T0))
    c.record(entry(T0, account_id=OTHER_ACCOUNT))
    c.record(entry(T0 + timedelta(seconds=1), account_id=OTHER_ACCOUNT))
    assert c.counts(ACCOUNT, T0 + timedelta(seconds=1)).session == 1
    assert c.counts(OTHER_ACCOUNT, T0 + timedelta(seconds=1)).session == 2
    assert c.counts(12345, T0) == TradeCounts(0, 0, 0)


def test_after_the_daily_reset_the_session_starts_at_zero() -> None:
    store = FakeStore()
    c = counter(store)
    clock = ManualClock(RESET - timedelta(minutes=10))
    for i in range(5):
        c.record(entry(clock.now() + timedelta(seconds=i)))
    assert c.counts(ACCOUNT, clock.now() + timedelta(seconds=5)).session == 5
    clock.set(RESET)
    c.reset_session(ACCOUNT, clock.now())
    assert c.session_start(ACCOUNT) == RESET
    # Only the day's count starts again: the rolling hour still holds yesterday's last entries.
    assert c.counts(ACCOUNT, clock.now()) == TradeCounts(0, 5, 0)
    assert store.sessions[-1] == (ACCOUNT, RESET, date(2026, 8, 20))
    c.record(entry(clock.advance(seconds=30)))
    assert c.counts(ACCOUNT, clock.now()) == TradeCounts(1, 6, 1)
    # A late copy of a fill from a minute before the reset lands in the windows it belongs
    # to (the minute and the hour), not in today's count.
    assert c.record(entry(RESET - timedelta(minutes=1))) is True
    assert c.counts(ACCOUNT, clock.now()) == TradeCounts(1, 7, 1)
    # An entry more than an hour before the day began can be in no window still open.
    assert c.record(entry(RESET - timedelta(minutes=61))) is False


def test_first_entry_of_a_new_day_starts_a_new_session_without_a_reset_call() -> None:
    c = counter()
    c.record(entry(RESET - timedelta(seconds=30)))
    c.record(entry(RESET + timedelta(seconds=10)))
    # 40 s apart across the reset: one minute holds both, the new day only one.
    assert c.counts(ACCOUNT, RESET + timedelta(seconds=10)) == TradeCounts(2, 2, 1)
    assert c.counts(ACCOUNT, RESET - timedelta(seconds=1)) == TradeCounts(1, 1, 1)


def test_reset_session_on_the_same_day_keeps_the_count() -> None:
    c = counter()
    c.record(entry(T0))
    c.reset_session(ACCOUNT, T0 + timedelta(minutes=1))
    assert c.counts(ACCOUNT, T0 + timedelta(minutes=1)).session == 1


def test_restore_rebuilds_only_the_current_trading_day() -> None:
    store = FakeStore()
    c = counter(store)
    now = T0 + timedelta(minutes=30)
    trades = [
        entry(T0 - timedelta(days=1)),  # yesterday
        entry(RESET - timedelta(days=1) - timedelta(seconds=1)),  # yesterday's last second
        entry(RESET - timedelta(days=1)),  # today's first instant
        entry(T0, trade_id=500),
        entry(T0, trade_id=500),  # the same row twice
        trade("-20", at=T0 + timedelta(minutes=1)),  # a closing fill
        entry(T0 + timedelta(minutes=2), voided=True),
        entry(T0 + timedelta(minutes=29, seconds=30)),
    ]
    c.restore(trades, now)
    assert c.counts(ACCOUNT, now) == TradeCounts(1, 2, 3)
    assert c.session_start(ACCOUNT) == RESET - timedelta(days=1)
    assert store.sessions == [(ACCOUNT, RESET - timedelta(days=1), date(2026, 8, 19))]
