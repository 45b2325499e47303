"""MOD-005: net realized P&L per account and trading day, each trade counted once.

Net = Σ profitAndLoss − Σ fees − Σ commissions over the day's non-voided half-turns (every
cost counts toward the loss limit; ``fees`` below holds both). The stream and ``Trade/search``
both deliver trades, so trades are keyed by id; a trade seen again with ``voided`` set takes
its contribution back out. ``Trade/search`` leaves ``commissions`` out: a copy without them
keeps what the stream reported. Closing half-turns are also summed per order (RULE-007).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from core.domain.events import TradeEvent
from core.domain.trading_day import TradingCalendar

ZERO = Decimal(0)


@dataclass(slots=True)
class DayPnl:
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    trade_count: int = 0

    @property
    def net(self) -> Decimal:
        return self.gross - self.fees


@dataclass(slots=True)
class OrderResult:
    """The closing half-turns of one order so far: what they made and when the first filled."""

    net: Decimal
    first_fill: datetime
    fills: int


@dataclass(frozen=True, slots=True)
class PnlUpdate:
    account_id: int
    trading_day: date
    net: Decimal
    trade_count: int
    trade: TradeEvent


class PnlStore(Protocol):
    def save_trade(
        self, trade: TradeEvent, day: date, totals: DayPnl, then: Callable[[], None]
    ) -> None: ...


class PnlTracker:
    def __init__(self, calendar: TradingCalendar, store: PnlStore | None = None) -> None:
        self.calendar = calendar
        self._store = store
        self._days: dict[tuple[int, date], DayPnl] = {}
        self._seen: dict[int, tuple[TradeEvent, date]] = {}
        self._floor: date | None = None  # days before this were pruned: ignore, don't recount
        # Cumulative series per (account, day), rebuilt only after that day's trades change:
        # the dashboard asks several times a second and trades are rare by comparison.
        self._series: dict[tuple[int, date], tuple[tuple[datetime, Decimal], ...]] = {}
        self._orders: dict[tuple[int, int], OrderResult] = {}

    def apply(
        self, trade: TradeEvent, then: Callable[[PnlUpdate], None] | None = None
    ) -> PnlUpdate | None:
        """Count a trade; None when it changes nothing (a duplicate). ``then`` runs when durable."""
        day = self.calendar.trading_day(trade.created_at)
        if self._floor is not None and day < self._floor:
            return None
        previous = self._seen.get(trade.trade_id)
        if previous is not None:
            old, old_day = previous
            if trade.commissions is None and old.commissions is not None:
                trade = replace(trade, commissions=old.commissions)
            if (old.voided, old.pnl, old.fees, old.commissions) == (
                trade.voided, trade.pnl, trade.fees, trade.commissions
            ):
                return None
            if not old.voided:
                self._add(old, old_day, -1)
        if not trade.voided:
            self._add(trade, day, +1)
        self._seen[trade.trade_id] = (trade, day)
        totals = self._days.setdefault((trade.account_id, day), DayPnl())
        update = PnlUpdate(trade.account_id, day, totals.net, totals.trade_count, trade)
        snapshot = DayPnl(totals.gross, totals.fees, totals.trade_count)
        if self._store is None:
            if then:
                then(update)
        else:
            self._store.save_trade(trade, day, snapshot, (lambda: then(update)) if then else _noop)
        return update

    def _add(self, trade: TradeEvent, day: date, sign: int) -> None:
        self._series.pop((trade.account_id, day), None)
        totals = self._days.setdefault((trade.account_id, day), DayPnl())
        totals.gross += sign * (trade.pnl or ZERO)
        totals.fees += sign * trade.costs
        totals.trade_count += sign
        if trade.pnl is not None:
            key = (trade.account_id, _order_key(trade))
            result = self._orders.get(key)
            if result is None:
                result = self._orders[key] = OrderResult(ZERO, trade.created_at, 0)
            result.net += sign * trade.net_pnl
            result.fills += sign
            result.first_fill = min(result.first_fill, trade.created_at)

    def closing_orders(self, account_id: int, since: datetime | None = None) -> list[OrderResult]:
        """The account's closing orders (first fill at or after ``since``), oldest first."""
        found = [
            r for (acct, _), r in self._orders.items()
            if acct == account_id and r.fills > 0 and (since is None or r.first_fill >= since)
        ]
        return sorted(found, key=lambda r: r.first_fill)

    def order_result(self, trade: TradeEvent) -> OrderResult | None:
        """The closing order ``trade`` belongs to, summed over its half-turns so far (a trade
        without an order id stands alone)."""
        return self._orders.get((trade.account_id, _order_key(trade)))

    def realized(self, account_id: int, day: date) -> Decimal:
        totals = self._days.get((account_id, day))
        return totals.net if totals else ZERO

    def day_totals(self, account_id: int, day: date) -> DayPnl:
        return self._days.get((account_id, day)) or DayPnl()

    def day_trades(self, account_id: int, day: date) -> list[TradeEvent]:
        """The day's counted (non-voided) trades in time order; ties keep the gateway's id order."""
        trades = [
            t
            for t, d in self._seen.values()
            if d == day and t.account_id == account_id and not t.voided
        ]
        trades.sort(key=lambda t: (t.created_at, t.trade_id))
        return trades

    def day_series(self, account_id: int, day: date) -> tuple[tuple[datetime, Decimal], ...]:
        """Net realized P&L after each of the day's trades, in time order (one point a trade).

        The last point equals :meth:`realized` for the day. Summed in Decimal so the curve
        ends exactly where the day's total does.
        """
        key = (account_id, day)
        series = self._series.get(key)
        if series is None:
            running = ZERO
            points = []
            for trade in self.day_trades(account_id, day):
                running += trade.net_pnl
                points.append((trade.created_at, running))
            series = self._series[key] = tuple(points)
        return series

    def accounts(self) -> set[int]:
        """Accounts with trades on any day still kept."""
        return {account_id for account_id, _ in self._days}

    def seen(self, trade_id: int) -> bool:
        return trade_id in self._seen

    def last_trade_time(self, account_id: int) -> object:
        times = [t.created_at for t, _ in self._seen.values() if t.account_id == account_id]
        return max(times) if times else None

    def restore(self, trades: Iterable[TradeEvent]) -> None:
        """Rebuild from the durable trade rows (the same rows the day totals came from)."""
        for trade in trades:
            day = self.calendar.trading_day(trade.created_at)
            if trade.trade_id in self._seen:
                continue
            self._seen[trade.trade_id] = (trade, day)
            if not trade.voided:
                self._add(trade, day, +1)
            else:
                self._days.setdefault((trade.account_id, day), DayPnl())

    def prune(self, keep_from: date) -> None:
        """Forget days before ``keep_from`` (their rows stay on disk)."""
        self._floor = keep_from
        self._series.clear()
        self._days = {k: v for k, v in self._days.items() if k[1] >= keep_from}
        self._seen = {k: v for k, v in self._seen.items() if v[1] >= keep_from}
        live = {(t.account_id, _order_key(t)) for t, _ in self._seen.values()}
        self._orders = {k: v for k, v in self._orders.items() if k in live}


def _noop() -> None:
    return None


def _order_key(trade: TradeEvent) -> int:
    # Trade ids and order ids are different number spaces: a trade alone gets a negative key.
    return trade.order_id if trade.order_id is not None else -trade.trade_id
