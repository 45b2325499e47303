"""What the tray and the dashboard show, as plain immutable values (no Qt here).

A snapshot is taken on the event loop's thread and handed to the GUI, which only renders it:
the GUI never reaches into the engine's live state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

OK, WARNING, BREACH = "ok", "warning", "breach"


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """How much of one enabled limit is used: a bar on the dashboard."""

    rule_id: str
    label: str  # "Daily loss", "Contracts", ...
    used: float  # in the limit's unit (dollars, contracts, entries)
    limit: float
    text: str  # "-$312.40 of -$500.00"
    # Amber from the rule's first warning (a daily loss's first warn_at, else 80 %).
    warn_at: float = 0.8
    # True when reaching the limit is the breach (a loss of exactly -$500); False when the
    # limit itself is allowed and only going past it breaches (5 of 5 contracts).
    breach_at_limit: bool = True
    # A loosened value waiting for the reset, beside the one in force: "-$800 from Thu 17:00 CST".
    waiting: str = ""

    @property
    def fraction(self) -> float:
        if self.limit <= 0:
            # A zero limit (max_contracts 0, a blocked symbol) is fully used by any exposure.
            return 1.0 if self.used > 0 else 0.0
        return max(0.0, self.used / self.limit)

    @property
    def level(self) -> str:
        """ "ok", "warning" (amber: from the first warning, or at an allowed limit) or
        "breach" (red: the rule acts at this value)."""
        tolerance = 1e-9
        if self.used > self.limit + tolerance:
            return BREACH
        if self.breach_at_limit and self.limit > 0 and self.used >= self.limit - tolerance:
            return BREACH
        if self.limit > 0 and self.used >= self.limit - tolerance:
            return WARNING  # at an allowed limit: the next contract breaches
        return WARNING if self.fraction >= self.warn_at and self.used > 0 else OK


@dataclass(frozen=True, slots=True)
class PositionView:
    contract_id: str
    symbol: str
    name: str  # "MNQU6"
    signed_size: int
    average_price: float
    mark: float | None
    open_pnl: float | None  # None: no price yet, no decision taken
    tick_size: float | None = None  # prices are shown at the contract's tick precision
    # The mark is the last price seen before market data was lost: shown, never acted on.
    stale: bool = False


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
    tick_size: float | None = None


@dataclass(frozen=True, slots=True)
class LockView:
    rule_id: str
    kind: str  # "hard" / "cooldown" / "symbol"
    reason: str
    until: datetime | None  # None: until the gateway allows trading again / symbol unblocked
    remaining_seconds: float | None


@dataclass(frozen=True, slots=True)
class EnforcementView:
    """One enforcement action: issued, then its final outcome, on one row."""

    at: datetime
    rule_id: str
    action: str  # close_contract, partial_close, cancel_order, flatten, ...
    outcome: str  # issued, done, retry, failed
    reason: str
    target: str = ""  # what it acted on, in words: "MNQU6 long 7", "order 912 (MNQU6 buy 2)"
    contract: str = ""  # the contract's name
    size: int | None = None  # contracts closed, reduced or cancelled
    price: float | None = None  # the closing fill's price, or the cancelled order's price
    latency_ms: float | None = None  # from the breaching event to the gateway's confirmation
    tick_size: float | None = None
    contract_id: str = ""


@dataclass(frozen=True, slots=True)
class FailingView:
    """An enforcement the gateway keeps refusing: the trader must act on the platform."""

    rule_id: str
    todo: str  # "close MNQU6 long 7": what to do on the platform now
    error: str
    attempts: int


@dataclass(frozen=True, slots=True)
class SinceLock:
    """What the trader did while locked: each entry was closed again, often at a loss."""

    net: Decimal  # realized since the lock began
    entries: int  # fills that opened or added while locked


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
    failing: tuple[FailingView, ...] = ()
    # Ids of the enabled rules that protect (trade management only moves stops). None: not
    # given (a snapshot built by hand), judged from the limit bars instead.
    rules_enabled: tuple[str, ...] | None = None
    since_lock: SinceLock | None = None
    loss_limit: float | None = None  # the daily loss limit in force (the chart draws it)
    profit_target: float | None = None  # the daily profit target in force
    waiting: tuple[str, ...] = ()  # loosened settings waiting for the reset, in words
    day_start: datetime | None = None  # when the trading day began (the chart's time axis)

    @property
    def protecting(self) -> bool:
        """At least one limit is enabled (a config with none protects nothing)."""
        if self.rules_enabled is None:
            return bool(self.limits)
        return bool(self.rules_enabled)

    @property
    def hard_locked(self) -> bool:
        return any(lock.kind == "hard" for lock in self.locks)

    @property
    def in_cooldown(self) -> bool:
        return any(lock.kind == "cooldown" for lock in self.locks)

    @property
    def warning(self) -> bool:
        """A limit has reached its first warning (or stands at an allowed maximum)."""
        return any(limit.level != OK for limit in self.limits)
