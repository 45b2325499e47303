"""Part of MOD-009: equity read a second way, from the last balance read over REST.

Balance pushes can mislead (another fill's push taken for this close's, a push lost), so the
Maximum Loss Limit guard also reads equity as the last balance read over REST plus what
happened since: every close seen (its trades' net P&L, else its mark's) and the fees of opening
fills. A read does not say which closes it holds. The gateway books a fill and pushes it in no
set order, within ``BALANCE_SETTLES``: a close whose push came that long before the read was
sent is surely in it; one seen from then until that long after the answer may or may not be
(both are kept as possible, a range); one seen later is surely not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.modules.unbooked import BALANCE_SETTLES, UnbookedClose


@dataclass(slots=True)
class _Since:
    close: UnbookedClose  # shared with the pushes' list: a trade pricing it prices it here too
    maybe_in_read: bool  # the last read may or may not hold it


@dataclass(slots=True)
class SinceRead:
    balance: float | None = None  # the last read's balance
    read_at: datetime | None = None  # when that read was sent
    answered_at: datetime | None = None  # when it was taken
    closes: list[_Since] = field(default_factory=list)
    opening_fees: float = 0.0  # fees of opening fills since the read (closes carry their own)
    # Started from a pushed balance with positions open: a saved position may be stale, so
    # this is never the balance for sure until a real read.
    provisional: bool = False

    def close_seen(self, close: UnbookedClose, now: datetime) -> None:
        if self.balance is None:
            return
        answered = self.answered_at
        maybe = answered is not None and now < answered + BALANCE_SETTLES
        self.closes.append(_Since(close, maybe))

    def opening_fill(self, fees: float) -> None:
        if self.balance is not None:
            self.opening_fees += fees

    def take(self, balance: float, read_at: datetime, now: datetime) -> None:
        """A read sent at ``read_at``, taken at ``now``: what came surely before it is in it."""
        self.balance, self.read_at, self.answered_at = balance, read_at, now
        self.closes = [_Since(s.close, True) for s in self.closes
                       if s.close.booked_by > read_at]
        self.opening_fees = 0.0
        self.provisional = False

    def start_from(self, balance: float, now: datetime, provisional: bool) -> None:
        """No read yet and nothing since: the first balance known is where this reading starts."""
        self.balance, self.read_at, self.answered_at = balance, now, now
        self.closes, self.opening_fees, self.provisional = [], 0.0, provisional

    def surely_booked_at(self) -> datetime | None:
        """From when a read surely holds every close since the last one (None: no close)."""
        return max((s.close.booked_by for s in self.closes), default=None)

    @property
    def settled(self) -> bool:
        """Nothing since the read: it is the balance, exactly."""
        return not self.closes and not self.opening_fees and not self.provisional

    def reading(self) -> tuple[float, float] | None:
        """The lowest and highest balance the read and what came since allow (a close the read
        may hold counts its P&L or not); None with no read or a close without a price."""
        if self.balance is None or self.provisional:
            return None
        low = high = self.balance - self.opening_fees
        for since in self.closes:
            pnl = since.close.pnl
            if pnl is None:
                return None
            if not since.maybe_in_read:
                low += pnl
                high += pnl
            elif pnl < 0.0:
                low += pnl
            else:
                high += pnl
        return low, high
