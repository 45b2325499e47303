"""MOD-004: the daily reset per account, on the trading-day clock; a missed reset runs at startup."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Protocol

from core.domain.trading_day import TradingCalendar


@dataclass(frozen=True, slots=True)
class ResetRecord:
    account_id: int
    last_reset_day: date  # the trading day the last reset began
    next_reset_at: datetime
    reset_time_config: str
    timezone: str


class ResetStore(Protocol):
    def save_reset(self, record: ResetRecord, then: Callable[[], None]) -> None: ...


class ResetScheduler:
    def __init__(self, calendar: TradingCalendar, store: ResetStore | None = None) -> None:
        self.calendar = calendar
        self._store = store
        self._records: dict[int, ResetRecord] = {}

    def restore(self, records: Iterable[ResetRecord]) -> None:
        for record in records:
            # Name the day again from its end instant: a record written under an older naming
            # (a 00:00 reset once named its day one late) must not skip or repeat a reset.
            day = self.calendar.trading_day(record.next_reset_at - timedelta(microseconds=1))
            self._records[record.account_id] = replace(record, last_reset_day=day)

    def record(self, account_id: int) -> ResetRecord | None:
        return self._records.get(account_id)

    def ensure(self, account_id: int, now: datetime) -> None:
        """A newly protected account starts in the current trading day: nothing to reset."""
        if account_id not in self._records:
            self._write(account_id, now)

    def due(self, now: datetime) -> list[int]:
        """Accounts whose trading day has moved on since their last reset (missed ones too)."""
        today = self.calendar.trading_day(now)
        return [acct for acct, rec in self._records.items() if rec.last_reset_day < today]

    def next_reset(self, now: datetime) -> datetime:
        return self.calendar.next_reset(now)

    def mark_reset(self, account_id: int, now: datetime) -> date:
        return self._write(account_id, now).last_reset_day

    def _write(self, account_id: int, now: datetime) -> ResetRecord:
        cal = self.calendar
        record = ResetRecord(
            account_id=account_id,
            last_reset_day=cal.trading_day(now),
            next_reset_at=cal.next_reset(now),
            reset_time_config=cal.reset_time.strftime("%H:%M"),
            timezone=cal.zone.key,
        )
        self._records[account_id] = record
        if self._store is not None:
            self._store.save_reset(record, _noop)
        return record


def _noop() -> None:
    return None
