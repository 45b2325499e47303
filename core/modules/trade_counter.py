"""MOD-008: entries per rolling minute, rolling hour and trading day, per account.

An entry is a non-voided fill that opens or adds (``profitAndLoss`` null): closing fills,
enforcement's own closes among them, never count. Counts use the trades' own timestamps, not
when they arrived, so a catch-up after a reconnect lands in the windows it belongs to. The
windows are truly rolling, (t − 60 s, t] and (t − 1 h, t], and are never cut by the daily
reset: only the per-day count starts again. Entries are kept from an hour before the current
trading day's start, which is all any window can reach.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from core.domain.events import TradeEvent
from core.domain.trading_day import TradingCalendar

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class TradeCounts:
    minute: int
    hour: int
    session: int


@dataclass(slots=True)
class _Entries:
    day: date  # the current trading day (moves on at each reset)
    start: datetime  # when it started
    times: list[datetime] = field(default_factory=list)  # sorted
    ids: dict[int, datetime] = field(default_factory=dict)


class SessionStore(Protocol):
    def save_session(self, account_id: int, start: datetime, day: date) -> None: ...


class TradeCounter:
    def __init__(self, calendar: TradingCalendar, store: SessionStore | None = None) -> None:
        self.calendar = calendar
        self._store = store
        self._accounts: dict[int, _Entries] = {}

    def _entries(self, account_id: int, day: date) -> _Entries:
        entries = self._accounts.get(account_id)
        if entries is None or entries.day < day:
            start = self.calendar.day_start(day)
            kept = _Entries(day=day, start=start)
            if entries is not None:
                # The minute and the hour run across the reset: keep what they can still see.
                horizon = start - HOUR
                for trade_id, at in entries.ids.items():
                    if at > horizon:
                        kept.ids[trade_id] = at
                kept.times = sorted(kept.ids.values())
            self._accounts[account_id] = kept
            if self._store is not None:
                self._store.save_session(account_id, start, day)
            entries = kept
        return entries

    def record(self, trade: TradeEvent) -> bool:
        """Count an entry once; a later void takes it back. Returns whether counts changed."""
        entries = self._entries(trade.account_id, self.calendar.trading_day(trade.created_at))
        if trade.created_at <= entries.start - HOUR:
            return False  # too old for any window still open
        known = entries.ids.get(trade.trade_id)
        counts = trade.is_opening and not trade.voided
        if known is not None and not counts:
            entries.ids.pop(trade.trade_id)
            index = bisect.bisect_left(entries.times, known)
            if index < len(entries.times) and entries.times[index] == known:
                entries.times.pop(index)
            return True
        if known is None and counts:
            entries.ids[trade.trade_id] = trade.created_at
            bisect.insort(entries.times, trade.created_at)
            return True
        return False

    def _in(self, times: list[datetime], after: datetime, upto: datetime) -> int:
        """Entries in (after, upto]."""
        return bisect.bisect_right(times, upto) - bisect.bisect_right(times, after)

    def counts(self, account_id: int, at: datetime) -> TradeCounts:
        entries = self._accounts.get(account_id)
        if entries is None:
            return TradeCounts(0, 0, 0)
        times = entries.times
        start, end = self.calendar.bounds(self.calendar.trading_day(at))
        return TradeCounts(
            self._in(times, at - MINUTE, at),
            self._in(times, at - HOUR, at),
            self._in(times, start - timedelta(microseconds=1), min(at, end)),
        )

    def first_over(
        self, account_id: int, entry_at: datetime, span: timedelta, limit: int
    ) -> datetime | None:
        """The earliest moment a rolling window of ``span`` holding the entry at ``entry_at``
        held more than ``limit`` entries; None if none did. A window ending at each entry
        from ``entry_at`` on is checked, so an entry that arrived late, before others it
        preceded, is judged in every window it belongs to."""
        entries = self._accounts.get(account_id)
        if entries is None:
            return None
        times = entries.times
        first = bisect.bisect_left(times, entry_at)
        last = bisect.bisect_left(times, entry_at + span)
        for index in range(first, last):
            moment = times[index]
            if self._in(times, moment - span, moment) > limit:
                return moment
        return None

    def day_over(self, account_id: int, entry_at: datetime, limit: int) -> datetime | None:
        """When the trading day holding ``entry_at`` first had more than ``limit`` entries."""
        entries = self._accounts.get(account_id)
        if entries is None:
            return None
        start, end = self.calendar.bounds(self.calendar.trading_day(entry_at))
        times = entries.times
        lo = bisect.bisect_left(times, start)
        hi = bisect.bisect_left(times, end)
        if hi - lo <= limit:
            return None
        return times[lo + limit]

    def reset_session(self, account_id: int, now: datetime) -> None:
        self._entries(account_id, self.calendar.trading_day(now))

    def session_start(self, account_id: int) -> datetime | None:
        entries = self._accounts.get(account_id)
        return entries.start if entries else None

    def restore(self, trades: Iterable[TradeEvent], now: datetime) -> None:
        """Rebuild from the durable trade rows: today's entries, and the last hour before it."""
        today = self.calendar.trading_day(now)
        horizon = self.calendar.day_start(today) - HOUR
        for trade in sorted(trades, key=lambda t: t.created_at):
            if trade.created_at > horizon:
                self._entries(trade.account_id, today)
                self.record(trade)
