"""What the tray and the dashboard show, as plain immutable values (no Qt here).

A snapshot is taken on the event loop's thread and handed to the GUI, which only renders it:
the GUI never reaches into the engine's live state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """How much of one enabled limit is used: a bar on the dashboard."""

    rule_id: str
    label: str  # "Daily loss", "Contracts", ...
    used: float  # in the limit's unit (dollars, contracts, entries)
    limit: float
    text: str  # "-$312.40 of -$500.00"

    @property
    def fraction(self) -> float:
        if self.limit <= 0:
            # A zero limit (max_contracts 0, a blocked symbol) is fully used by any exposure.
            return 1.0 if self.used > 0 else 0.0
        return max(0.0, self.used / self.limit)


@dataclass(frozen=True, slots=True)
class PositionView:
    contract_id: str
    symbol: str
    name: str  # "MNQU6"
    signed_size: int
    average_price: float
    mark: float | None
    open_pnl: float | None  # None: no price yet, no decision taken


@dataclass(frozen=True, slots=True)
class OrderView:
    order_id: int
    contract_id: str
    name: str
    side: str  # "buy" / "sell"
    kind: str  # "limit", "market", "stop", ...
    size: int
    price: float | None
    status: int


@dataclass(frozen=True, slots=True)
class LockView:
    rule_id: str
    kind: str  # "hard" / "cooldown" / "symbol"
    reason: str
    until: datetime | None  # None: until the gateway allows trading again / symbol unblocked
    remaining_seconds: float | None


@dataclass(frozen=True, slots=True)
class EnforcementView:
    at: datetime
    rule_id: str
    action: str
    outcome: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    account_id: int
    name: str
    status: str  # starting, reconciling, protected, reconnecting
    trading_day: date
    taken_at: datetime
    realized: Decimal
    open_pnl: float | None
    positions: tuple[PositionView, ...] = ()
    orders: tuple[OrderView, ...] = ()
    locks: tuple[LockView, ...] = ()
    limits: tuple[LimitUsage, ...] = ()
    pnl_series: tuple[tuple[datetime, float], ...] = ()  # cumulative net realized over the day
    enforcement: tuple[EnforcementView, ...] = field(default=())

    @property
    def hard_locked(self) -> bool:
        return any(lock.kind == "hard" for lock in self.locks)

    @property
    def in_cooldown(self) -> bool:
        return any(lock.kind == "cooldown" for lock in self.locks)

    @property
    def warning(self) -> bool:
        """A limit is at least 80 % used."""
        return any(limit.fraction >= 0.8 for limit in self.limits)
