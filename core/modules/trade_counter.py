"""MOD-008: entries per rolling minute, rolling hour and trading session, per account.

An entry is a non-voided fill that opens or adds (``profitAndLoss`` null): closing fills,
enforcement's own closes among them, do not count as trading more. The whole session is kept
in memory (a sorted list of times), so the session count is real, not capped at an hour.
Counts use the trades' own timestamps, not when they arrived.
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
class _Session:
    day: date
    start: datetime
    times: list[datetime] = field(default_factory=list)
    ids: dict[int, datetime] = field(default_factory=dict)


class SessionStore(Protocol):
    def save_session(self, account_id: int, start: datetime, day: date) -> None: ...


class TradeCounter:
    def __init__(self, calendar: TradingCalendar, store: SessionStore | None = None) -> None:
        self.calendar = calendar
        self._store = store
        self._sessions: dict[int, _Session] = {}

    def _session(self, account_id: int, day: date) -> _Session:
        session = self._sessions.get(account_id)
        if session is None or session.day < day:
            session = _Session(day=day, start=self.calendar.day_start(day))
            self._sessions[account_id] = session
            if self._store is not None:
                self._store.save_session(account_id, session.start, day)
        return session

    def record(self, trade: TradeEvent) -> bool:
        """Count an entry once; a later void takes it back. Returns whether counts changed."""
        day = self.calendar.trading_day(trade.created_at)
        session = self._session(trade.account_id, day)
        if day < session.day:
            return False  # an old session's trade (REST catch-up): it no longer counts
        known = session.ids.get(trade.trade_id)
        counts = trade.is_opening and not trade.voided
        if known is not None and not counts:
            session.ids.pop(trade.trade_id)
            index = bisect.bisect_left(session.times, known)
            if index < len(session.times) and session.times[index] == known:
                session.times.pop(index)
            return True
        if known is None and counts:
            session.ids[trade.trade_id] = trade.created_at
            bisect.insort(session.times, trade.created_at)
            return True
        return False

    def counts(self, account_id: int, at: datetime) -> TradeCounts:
        session = self._sessions.get(account_id)
        if session is None or session.day != self.calendar.trading_day(at):
            return TradeCounts(0, 0, 0)
        times = session.times
        upto = bisect.bisect_right(times, at)
        minute = upto - bisect.bisect_right(times, at - MINUTE)
        hour = upto - bisect.bisect_right(times, at - HOUR)
        return TradeCounts(minute, hour, len(times))

    def reset_session(self, account_id: int, now: datetime) -> None:
        self._session(account_id, self.calendar.trading_day(now))

    def session_start(self, account_id: int) -> datetime | None:
        session = self._sessions.get(account_id)
        return session.start if session else None

    def restore(self, trades: Iterable[TradeEvent], now: datetime) -> None:
        """Rebuild the current session from the durable trade rows."""
        today = self.calendar.trading_day(now)
        for trade in trades:
            if self.calendar.trading_day(trade.created_at) == today:
                self.record(trade)


