"""MOD-004 ResetScheduler: one daily reset per account on the trading-day clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from core.domain.clock import ManualClock
from core.domain.trading_day import TradingCalendar
from core.modules.reset_scheduler import ResetRecord, ResetScheduler
from tests.builders import ACCOUNT, OTHER_ACCOUNT, T0

# T0 is Wednesday 2026-08-19 10:00 CDT: trading day the 19th, reset at 22:00 UTC.
RESET = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)


class FakeStore:
    def __init__(self) -> None:
        self.saved: list[ResetRecord] = []

    def save_reset(self, record: ResetRecord, then: Callable[[], None]) -> None:
        self.saved.append(record)
        then()


def scheduler(store: FakeStore | None = None) -> ResetScheduler:
    return ResetScheduler(TradingCalendar(time(17, 0), "America/Chicago"), store)


def test_ensure_records_the_current_trading_day() -> None:
    store = FakeStore()
    s = scheduler(store)
    s.ensure(ACCOUNT, T0)
    rec = s.record(ACCOUNT)
    assert rec is not None
    assert rec.last_reset_day == date(2026, 8, 19)
    assert rec.next_reset_at == RESET
    assert rec.reset_time_config == "17:00" and rec.timezone == "America/Chicago"
    assert store.saved == [rec]
    assert s.due(T0) == []


def test_ensure_does_not_overwrite() -> None:
    store = FakeStore()
    s = scheduler(store)
    s.ensure(ACCOUNT, T0)
    s.ensure(ACCOUNT, T0 + timedelta(days=3))
    assert s.record(ACCOUNT).last_reset_day == date(2026, 8, 19)  # type: ignore[union-attr]
    assert len(store.saved) == 1
    assert s.due(T0 + timedelta(days=3)) == [ACCOUNT]


def test_due_only_from_the_reset_instant() -> None:
    clock = ManualClock(T0)
    s = scheduler()
    s.ensure(ACCOUNT, clock.now())
    clock.set(RESET - timedelta(seconds=1))
    assert s.due(clock.now()) == []
    clock.set(RESET)
    assert s.due(clock.now()) == [ACCOUNT]
    assert s.next_reset(T0) == RESET


def test_mark_reset_starts_the_new_day() -> None:
    store = FakeStore()
    s = scheduler(store)
    s.ensure(ACCOUNT, T0)
    s.ensure(OTHER_ACCOUNT, T0)
    assert sorted(s.due(RESET)) == sorted([ACCOUNT, OTHER_ACCOUNT])
    assert s.mark_reset(ACCOUNT, RESET) == date(2026, 8, 20)
    assert s.due(RESET) == [OTHER_ACCOUNT]
    rec = s.record(ACCOUNT)
    assert rec is not None and rec.next_reset_at == RESET + timedelta(days=1)
    assert store.saved[-1] == rec
    assert s.due(RESET + timedelta(hours=23, minutes=59)) == [OTHER_ACCOUNT]
    assert sorted(s.due(RESET + timedelta(days=1))) == sorted([ACCOUNT, OTHER_ACCOUNT])


def test_missed_reset_is_due_at_once() -> None:
    s = scheduler()
    two_days_ago = ResetRecord(
        account_id=ACCOUNT,
        last_reset_day=date(2026, 8, 17),
        next_reset_at=datetime(2026, 8, 17, 22, 0, tzinfo=UTC),
        reset_time_config="17:00",
        timezone="America/Chicago",
    )
    s.restore([two_days_ago])
    assert s.record(ACCOUNT) == two_days_ago
    assert s.due(T0) == [ACCOUNT]
    # Running it once catches up: no second reset for the day skipped in between.
    assert s.mark_reset(ACCOUNT, T0) == date(2026, 8, 19)
    assert s.due(T0) == []


def test_restored_current_record_is_not_due() -> None:
    s = scheduler()
    s.restore([ResetRecord(ACCOUNT, date(2026, 8, 19), RESET, "17:00", "America/Chicago")])
    assert s.due(T0) == []
    s.ensure(ACCOUNT, T0 + timedelta(days=1))
    assert s.record(ACCOUNT).last_reset_day == date(2026, 8, 19)  # type: ignore[union-attr]


def test_unknown_account_has_no_record_and_is_never_due() -> None:
    s = scheduler()
    assert s.record(ACCOUNT) is None
    assert s.due(T0 + timedelta(days=5)) == []
