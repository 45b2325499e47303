"""The end-of-day summary: at each daily reset, what the day that just ended came to.

Net P&L, fees and fills come from the engine's P&L tracker (``engine.pnl``), which holds the
day's trades durably and de-duplicated. Breaches and locks are counted here, from the
``BreachDetected``, ``LockSet`` and ``SymbolLockSet`` notices, per account and trading day: the
engine keeps no such history. The counts therefore cover only the time this process watched:
a summary of a day the app joined late says from when (``counted_since``), and a day that
ended before the app started gets no summary at all (its numbers would claim more than was
seen).

A :class:`DaySummary` is published on the same bus, after the ``DailyReset`` that caused it,
for the alerts, the log (the notice log writes its one line, :func:`describe_summary`) and any
window that wants it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.app.words import rule_name
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.events import TradeEvent
from core.domain.trading_day import TradingCalendar
from core.domain.words import money
from core.engine.notices import BreachDetected, DailyReset, LockSet, SymbolLockSet
from core.modules.lockouts import LockKind
from core.modules.pnl_tracker import DayPnl

log = logging.getLogger(__name__)

ZERO = Decimal(0)


class DayPnlSource(Protocol):
    def day_totals(self, account_id: int, day: date) -> DayPnl: ...

    def day_trades(self, account_id: int, day: date) -> list[TradeEvent]: ...


class SummarySource(Protocol):
    """What the summary reads from the engine (``core.engine.engine.Engine`` is one)."""

    @property
    def pnl(self) -> DayPnlSource: ...

    @property
    def calendar(self) -> TradingCalendar: ...


@dataclass(frozen=True, slots=True)
class RuleCount:
    rule_id: str
    name: str  # as a trader says it: "Daily loss limit"
    count: int


@dataclass(frozen=True, slots=True)
class LockCount:
    rule_id: str
    name: str
    kind: str  # "hard lock", "cooldown", or "MNQ blocked" for a symbol lock
    count: int


@dataclass(frozen=True, slots=True)
class DaySummary:
    """The trading day that has just ended, for one account."""

    account_id: int
    trading_day: date
    net: Decimal  # realized, after fees and commissions
    gross: Decimal
    fees: Decimal
    fills: int  # every counted half-turn, entries and exits
    exits: int  # closing orders (an order's partial fills count once)
    winners: int  # closing orders that made money after costs
    losers: int  # closing orders that lost money after costs
    breaches: tuple[RuleCount, ...]
    locks: tuple[LockCount, ...]
    # Breaches and locks are counted from here only (the app started during the day).
    counted_since: datetime | None = None

    @property
    def quiet(self) -> bool:
        return self.fills == 0 and not self.breaches and not self.locks


def _exit_results(trades: list[TradeEvent]) -> tuple[int, int, int]:
    """(exits, winners, losers) by closing order, each order's half-turns summed after costs."""
    by_order: dict[int, Decimal] = {}
    for trade in trades:
        if trade.pnl is None or trade.voided:
            continue
        key = trade.order_id if trade.order_id is not None else -trade.trade_id
        by_order[key] = by_order.get(key, ZERO) + trade.net_pnl
    winners = sum(1 for net in by_order.values() if net > 0)
    losers = sum(1 for net in by_order.values() if net < 0)
    return len(by_order), winners, losers


class DaySummaries:
    """Counts breaches and locks per account and trading day; publishes a :class:`DaySummary`
    at each ``DailyReset``. Cheap on the event loop: a counter bump per notice."""

    def __init__(
        self, bus: EventBus, source: Callable[[], SummarySource | None], clock: Clock
    ) -> None:
        self._bus = bus
        self._source = source
        self._clock = clock
        self.watching_since = clock.now()
        self._breaches: dict[tuple[int, date], Counter[str]] = {}
        self._locks: dict[tuple[int, date], Counter[tuple[str, str]]] = {}
        self._unsubscribe = [
            bus.subscribe(self._on_breach, BreachDetected),
            bus.subscribe(self._on_lock, LockSet),
            bus.subscribe(self._on_symbol_lock, SymbolLockSet),
            bus.subscribe(self._on_reset, DailyReset),
        ]

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    # --- counting ---------------------------------------------------------------------------

    def _day(self, at: datetime) -> date | None:
        source = self._source()
        return source.calendar.trading_day(at) if source is not None else None

    def _on_breach(self, notice: BreachDetected) -> None:
        day = self._day(notice.at)
        if day is not None:
            self._breaches.setdefault((notice.account_id, day), Counter())[notice.rule_id] += 1

    def _on_lock(self, notice: LockSet) -> None:
        lock = notice.lock
        day = self._day(lock.locked_at)
        if day is not None:
            kind = "hard lock" if lock.kind is LockKind.HARD else "cooldown"
            self._locks.setdefault((lock.account_id, day), Counter())[(lock.rule_id, kind)] += 1

    def _on_symbol_lock(self, notice: SymbolLockSet) -> None:
        lock = notice.lock
        day = self._day(lock.locked_at)
        if day is not None:
            key = (lock.rule_id, f"{lock.symbol} blocked")
            self._locks.setdefault((lock.account_id, day), Counter())[key] += 1

    # --- the summary ------------------------------------------------------------------------

    def _on_reset(self, notice: DailyReset) -> None:
        summary = self.summarize(notice.account_id, notice.trading_day - timedelta(days=1))
        self._forget(notice.account_id, notice.trading_day)
        if summary is None:
            return
        # Logged by whoever words notices for the log (core.app.notice_log), once.
        self._bus.publish(summary)

    def summarize(self, account_id: int, day: date) -> DaySummary | None:
        """The summary of ``day``; None when that day ended before this process was watching."""
        source = self._source()
        if source is None:
            return None
        start, end = source.calendar.bounds(day)
        if end <= self.watching_since:
            log.info(
                "no end-of-day summary for account %s on %s: the app was not running when that "
                "day ended", account_id, day,
            )
            return None
        totals = source.pnl.day_totals(account_id, day)
        exits, winners, losers = _exit_results(source.pnl.day_trades(account_id, day))
        breaches = self._breaches.get((account_id, day), Counter())
        locks = self._locks.get((account_id, day), Counter())
        return DaySummary(
            account_id=account_id,
            trading_day=day,
            net=totals.net,
            gross=totals.gross,
            fees=totals.fees,
            fills=totals.trade_count,
            exits=exits,
            winners=winners,
            losers=losers,
            breaches=tuple(RuleCount(r, rule_name(r), n) for r, n in breaches.items()),
            locks=tuple(LockCount(r, rule_name(r), k, n) for (r, k), n in locks.items()),
            counted_since=self.watching_since if self.watching_since > start else None,
        )

    def _forget(self, account_id: int, before: date) -> None:
        for table in (self._breaches, self._locks):
            for key in [k for k in table if k[0] == account_id and k[1] < before]:
                del table[key]


def _counts(items: tuple[Any, ...], label: Callable[[Any], str]) -> str:
    return ", ".join(label(i) + (f" ×{i.count}" if i.count > 1 else "") for i in items)


def summary_lines(summary: DaySummary, zone: ZoneInfo | None = None) -> list[str]:
    """The summary in plain words, one fact a line."""
    lines = [f"Net P&L {money(summary.net)} (gross {money(summary.gross)}, fees {money(summary.fees)})"]
    if summary.exits:
        lines.append(
            f"Trades: {summary.exits} closed ({summary.winners} won, {summary.losers} lost), "
            f"{summary.fills} fills"
        )
    else:
        lines.append(f"Trades: none closed, {summary.fills} fills" if summary.fills else "Trades: none")
    lines.append(
        "Breaches: " + (_counts(summary.breaches, lambda b: b.name) if summary.breaches else "none")
    )
    lines.append(
        "Locks: "
        + (_counts(summary.locks, lambda lk: f"{lk.name} ({lk.kind})") if summary.locks else "none")
    )
    if summary.counted_since is not None:
        since = summary.counted_since.astimezone(zone) if zone else summary.counted_since
        at = " ".join(filter(None, (f"{since:%H:%M}", since.tzname())))
        lines.append(f"(Breaches and locks counted from {at}, when the app started.)")
    return lines


def describe_summary(summary: DaySummary, zone: ZoneInfo | None = None) -> str:
    """One log line: ``DAY SUMMARY account 123 Tue 2026-08-18: Net P&L -$120.00 …``."""
    return (
        f"DAY SUMMARY account {summary.account_id} {summary.trading_day:%a %Y-%m-%d}: "
        + "; ".join(summary_lines(summary, zone))
    )
