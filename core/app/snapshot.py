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
class PlanFact:
    """One number of the account's Topstep plan, as the dashboard lists it."""

    label: str  # "Maximum Loss Limit"
    value: str  # "$2,000.00"
    unconfirmed: bool = False  # Topstep has not confirmed it: the UI says so


@dataclass(frozen=True, slots=True)
class MllView:
    """How far equity stands above the Maximum Loss Limit floor, as RULE-014 judges it."""

    floor: float
    floor_typed_in: bool  # the trader's number from the Topstep dashboard
    mll_amount: float  # 0 with a typed-in floor and no plan
    balance: float | None
    open_pnl: float | None
    buffer: float | None  # where the guard acts; None: the guard is off for this account
    warn_at: tuple[float, ...] = ()  # distances that warn, largest first
    # Why the distance cannot be said: "no balance yet", "no price yet", "prices stale".
    unknown: str = ""
    # Why the floor may be below Topstep's ("" when it has taken in every ended trading day):
    # a reset missed while the app was off, the history not read yet.
    floor_behind: str = ""

    @property
    def equity(self) -> float | None:
        if self.unknown or self.balance is None or self.open_pnl is None:
            return None
        return self.balance + self.open_pnl

    @property
    def distance(self) -> float | None:
        equity = self.equity
        return None if equity is None else equity - self.floor

    @property
    def level(self) -> str:
        """ "breach" at the buffer (the guard acts), "warning" from the first warning distance
        (or with no number to judge), else "ok"."""
        distance = self.distance
        if distance is None:
            return OK
        tolerance = 1e-7
        if distance <= (self.buffer or 0.0) + tolerance:
            return BREACH
        if self.warn_at and distance <= max(self.warn_at) + tolerance:
            return WARNING
        return OK


@dataclass(frozen=True, slots=True)
class SizeCapView:
    """RULE-015's cap now: the plan's maximum or the scaling tier reached at the last reset."""

    cap: int
    why: str  # "50K plan maximum", "scaling plan tier (profit 1,600 at the last reset)"
    held_lots: float  # contracts held, micros counted at the plan's ratio
    unconfirmed: bool = False


@dataclass(frozen=True, slots=True)
class FirmCloseView:
    """RULE-016: when the account is next flattened, or until when entries are blocked."""

    close: str  # "15:10 CST": the firm's close as the trader knows it
    flatten_at: datetime | None  # the next flatten; None while the firm is closed
    closed_until: datetime | None = None  # closed now: no new entries until the session opens


@dataclass(frozen=True, slots=True)
class ConsistencyView:
    """The best day's share of the total profit, where the app knows every day's P&L."""

    share: float | None  # None: it cannot be said (``note`` says why)
    best_day: date | None
    best: Decimal
    total: Decimal
    threshold: float  # the trader's warning share; 0 = off
    note: str = ""

    @property
    def warned(self) -> bool:
        return self.share is not None and self.threshold > 0 and self.share > self.threshold


@dataclass(frozen=True, slots=True)
class TopstepView:
    """What the Topstep account guard knows of one account (with a plan or a typed-in floor)."""

    plan: str  # "50K Trading Combine"; "" when only a floor is typed in
    plan_source: str  # "from the account name", "picked in Settings", "no plan"
    facts: tuple[PlanFact, ...]
    mll: MllView
    cap: SizeCapView | None = None  # None: RULE-015 is off (or no plan)
    firm_close: FirmCloseView | None = None  # None: RULE-016 is off (or no plan)
    consistency: ConsistencyView | None = None


@dataclass(frozen=True, slots=True)
class LadderView:
    """The step one money limit's ladder is on: normal, warned or restricted."""

    limit: str  # the rule table
    name: str  # "Daily loss limit"
    step: str  # "normal", "warned", "restricted"
    text: str  # "restricted: at most 1 contract, a 30-minute cooldown after each losing exit"
    used: str = ""  # "82% used"; for the Maximum Loss Limit "$480.00 from the floor"


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
    topstep: TopstepView | None = None  # the Topstep account guard (an account with a plan)
    ladder: tuple[LadderView, ...] = ()  # the warning ladder's step per money limit
    # What the disk said while the state file cannot be written ("" when all is written): the
    # app runs from memory, and a crash would lose it. As red as a failing close.
    state_not_saved: str = ""

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
        """A limit has reached its first warning (or stands at an allowed maximum), the
        Maximum Loss Limit is within a warning distance, or a ladder is past normal."""
        if self.topstep is not None and self.topstep.mll.level != OK:
            return True
        if any(step.step != "normal" for step in self.ladder):
            return True
        return any(limit.level != OK for limit in self.limits)
