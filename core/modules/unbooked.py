"""Part of MOD-009: closes the account balance may not show yet.

One fill reaches us as separate position, trade and account pushes, in no set order. When the
position update comes first, the closed part's P&L has left the open P&L but not yet reached
the balance: balance + open P&L would lose a winner's profit (and a guard reading equity
would flatten for nothing) or hide a loser's loss for as long as the balance is late.

So each close is remembered with its P&L (the closing trades' net P&L as they arrive, else the
closed part's open P&L at its last mark) until the balance changes. Within the settling window
after a close the higher reading counts (a profit is never lost, a loss not counted before the
balance shows it, so it is never counted twice); once the window has passed with no balance
change, the close's P&L counts as it is, profit or loss, until the balance takes it in.

A balance push after a close is only probably the close's (two fills' pushes interleave, and a
push can be lost): :mod:`core.modules.since_read` reads the same equity a second way, from the
last balance read over REST.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# How long the pushes of one fill may take to arrive after one another.
BALANCE_SETTLES = timedelta(seconds=2)
# A closing trade older than this is history being caught up (after a reconnect), not the
# trade of a close in flight.
FRESH_TRADE = timedelta(seconds=60)


@dataclass(slots=True)
class UnbookedClose:
    contract_id: str
    size: int  # contracts closed
    mark_pnl: float | None  # the closed part's open P&L at its last mark (None: never priced)
    seen_at: datetime
    # A balance change came just before (or since): the balance probably holds it already.
    in_balance: bool
    # A balance read sent at or after this surely holds the close (one sent before may or may
    # not: the gateway books a fill and pushes it in no set order).
    booked_by: datetime
    traded_size: int = 0
    traded_pnl: float = 0.0

    @property
    def pnl(self) -> float | None:
        """The trades' net P&L as far as they cover the close, the mark's for the rest."""
        if self.traded_size >= self.size:
            return self.traded_pnl
        if self.mark_pnl is None:
            return None
        rest = (self.size - self.traded_size) / self.size
        return self.traded_pnl + self.mark_pnl * rest


@dataclass(slots=True)
class _Trade:
    contract_id: str
    size: int
    net: float
    seen_at: datetime


@dataclass(slots=True)
class UnbookedCloses:
    closes: list[UnbookedClose] = field(default_factory=list)
    # Closing trades that came before their position update: they price the close it brings.
    early_trades: list[_Trade] = field(default_factory=list)

    def close_seen(
        self, contract_id: str, size: int, mark_pnl: float | None, now: datetime, in_balance: bool,
        booked_by: datetime | None = None,
    ) -> UnbookedClose:
        self.prune(now)
        close = UnbookedClose(contract_id, size, mark_pnl, now, in_balance,
                              now + BALANCE_SETTLES if booked_by is None else booked_by)
        for trade in [t for t in self.early_trades if t.contract_id == contract_id]:
            if close.traded_size >= size:
                break
            close.traded_size += trade.size
            close.traded_pnl += trade.net
            self.early_trades.remove(trade)
        self.closes.append(close)
        return close

    def trade_seen(self, contract_id: str, size: int, net: float, created_at: datetime,
                   now: datetime) -> None:
        """A closing trade (its net P&L): it prices the oldest close of its contract it does
        not cover yet, or waits (a settling window) for the position update that brings it."""
        if abs(now - created_at) > FRESH_TRADE:
            return
        for close in self.closes:
            if close.contract_id == contract_id and close.traded_size < close.size:
                close.traded_size += size
                close.traded_pnl += net
                return
        self.prune(now)
        self.early_trades.append(_Trade(contract_id, size, net, now))

    def balance_changed(self) -> None:
        """A new balance takes in every close seen before it (still read the higher way until
        each one's window has passed, in case this balance was another fill's)."""
        for close in self.closes:
            close.in_balance = True

    def booked_by_read(self, read_at: datetime) -> None:
        """A balance read sent at ``read_at`` holds every close surely booked by then, and the
        trades that priced them: they no longer change the reading at all."""
        if self.closes:
            self.closes = [c for c in self.closes if c.booked_by > read_at]
        if self.early_trades:
            self.early_trades = [t for t in self.early_trades
                                 if t.seen_at + BALANCE_SETTLES > read_at]

    def maybe_in_read(self, read_at: datetime) -> None:
        """A balance read sent at ``read_at`` may hold the closes seen up to a moment after it:
        like a pushed balance, it counts them the higher way only."""
        for close in self.closes:
            if close.seen_at < read_at + BALANCE_SETTLES:
                close.in_balance = True

    def adjustment(self, now: datetime) -> float | None:
        """What to add to the balance for the closes it may not show; None while a close in
        its window has no price at all (no reading can be sure)."""
        extra = 0.0
        for close in self.closes:
            pnl = close.pnl
            if now - close.seen_at < BALANCE_SETTLES:
                if pnl is None:
                    return None
                if pnl > 0.0:
                    extra += pnl
            elif not close.in_balance and pnl is not None:
                extra += pnl
        return extra

    def waiting(self) -> bool:
        """A close the balance has not shown yet (its P&L counts until it does)."""
        return any(not close.in_balance for close in self.closes)

    def prune(self, now: datetime) -> None:
        """Forget what no longer changes a reading: closes taken in by the balance whose window
        has passed, and early trades no position update claimed in theirs."""
        if self.closes:
            self.closes = [c for c in self.closes
                           if not c.in_balance or now - c.seen_at < BALANCE_SETTLES]
        if self.early_trades:
            self.early_trades = [t for t in self.early_trades if now - t.seen_at < BALANCE_SETTLES]

    def __bool__(self) -> bool:
        return bool(self.closes or self.early_trades)


def closed_size(before: int, after: int) -> int:
    """Contracts a position update closed (signed sizes before and after)."""
    if before == 0:
        return 0
    if after == 0 or (before > 0) != (after > 0):
        return abs(before)
    return max(0, abs(before) - abs(after))
