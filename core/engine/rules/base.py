"""What every rule shares: the read-only context it sees and the breach it returns.

A rule is a small pure object: given the state (through :class:`RuleContext`) and one event,
it returns the breaches it sees, each carrying the commands and lock that enforce it. It never
changes state and never talks to the gateway; the engine does both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from core.config.rules import RuleConfig
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    PartialClose,
)
from core.domain.events import OrderEvent
from core.domain.trading_day import TradingCalendar
from core.engine.account_plans import AccountPlans
from core.engine.open_pnl import OpenPnlBook
from core.modules.contracts import ContractCache
from core.modules.lockouts import LockKind, LockoutManager
from core.modules.mirror import AccountMirror, Position
from core.modules.pnl_tracker import PnlTracker
from core.modules.quotes import QuoteBook
from core.modules.trade_counter import TradeCounter

# Open P&L is float arithmetic on prices; compare with a tolerance far below a cent so that a
# loss of exactly the limit counts as reaching it.
EPSILON = 1e-7


@dataclass(frozen=True, slots=True)
class LockRequest:
    kind: LockKind
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Breach:
    rule_id: str
    account_id: int
    reason: str
    commands: tuple[EnforcementCommand, ...] = ()
    lock: LockRequest | None = None
    symbol_lock: str | None = None
    # A warning before a limit, not a breach: told once per trading day per ``warning`` key
    # (the threshold reached), and nothing is enforced.
    warning: float | None = None
    # Thresholds this warning uses up for the day with its own: the farther ones, which would
    # only be noise once a nearer one has been told.
    uses_up: tuple[float, ...] = ()


class RuleContext:
    """The state a rule may read for one account at one instant. Reused across events."""

    __slots__ = (
        "account",
        "now",
        "calendar",
        "quotes",
        "contracts",
        "pnl",
        "counter",
        "lockouts",
        "holidays",
        "plans",
        "open_book",
        "ask_reread",
        "rest_answered_at",
    )

    def __init__(
        self,
        account: AccountMirror,
        now: datetime,
        calendar: TradingCalendar,
        quotes: QuoteBook,
        contracts: ContractCache,
        pnl: PnlTracker,
        counter: TradeCounter,
        lockouts: LockoutManager,
        holidays: frozenset[date] = frozenset(),
        plans: AccountPlans | None = None,
        open_book: OpenPnlBook | None = None,
    ) -> None:
        self.account = account
        self.now = now
        self.calendar = calendar
        self.quotes = quotes
        self.contracts = contracts
        self.pnl = pnl
        self.counter = counter
        self.lockouts = lockouts
        self.holidays = holidays
        self.plans = plans
        self.open_book = open_book
        # Asks for the account to be read again over REST (the engine sets it; None: nothing
        # can read, as in a snapshot).
        self.ask_reread: Callable[[str], None] | None = None
        # When a balance read of any account last came back (REST is answering).
        self.rest_answered_at: Callable[[], datetime | None] = lambda: None

    @property
    def account_id(self) -> int:
        return self.account.account_id

    @property
    def trading_day(self) -> date:
        return self.calendar.trading_day(self.now)

    def realized_today(self) -> Decimal:
        return self.pnl.realized(self.account.account_id, self.calendar.trading_day(self.now))

    def open_pnl(self, position: Position) -> float | None:
        """Open P&L in account currency; None when the contract's mark or ticks are unknown."""
        mark = self.quotes.marks.get(position.contract_id)
        if mark is None:
            return None
        value = self.contracts.point_values.get(position.contract_id)
        if value is None:
            value = self.contracts.point_value(position.contract_id)
            if value is None:
                return None
        return (mark - position.average_price) * value * position.signed_size

    def account_open_pnl(self) -> float | None:
        """The sum over every position; None if any is unpriced (it could be offsetting)."""
        if self.open_book is not None:
            return self.open_book.total(self.account)
        marks = self.quotes.marks
        values = self.contracts.point_values
        total = 0.0
        for position in self.account.positions.values():
            contract_id = position.contract_id
            mark = marks.get(contract_id)
            if mark is None:
                return None
            value = values.get(contract_id)
            if value is None:
                value = self.contracts.point_value(contract_id)
                if value is None:
                    return None
            total += (mark - position.average_price) * value * position.signed_size
        return total

    def symbol(self, contract_id: str) -> str:
        return self.contracts.symbol(contract_id)


C = TypeVar("C", bound=RuleConfig)


class Rule(Generic[C]):
    rule_id: ClassVar[str]
    key: ClassVar[str]  # the TOML table under [rules]
    watches: ClassVar[frozenset[type]]
    automation: ClassVar[bool] = False  # acts for the trader (RULE-012), not a breach

    def __init__(self, config: C) -> None:
        self.config = config

    def evaluate(self, ctx: RuleContext, event: Any) -> list[Breach]:
        raise NotImplementedError

    def lifts(self, ctx: RuleContext, event: Any) -> bool:
        """Whether this event ends the rule's own lock (only RULE-010 uses it)."""
        return False

    # --- helpers for building enforcement -----------------------------------------------------

    def breach(self, ctx: RuleContext, reason: str, *commands: EnforcementCommand,
               lock: LockRequest | None = None, symbol_lock: str | None = None) -> Breach:
        return Breach(self.rule_id, ctx.account_id, reason, tuple(commands), lock, symbol_lock)

    def warn(self, ctx: RuleContext, reason: str, threshold: float,
             uses_up: tuple[float, ...] = ()) -> Breach:
        return Breach(self.rule_id, ctx.account_id, reason, warning=threshold, uses_up=uses_up)

    def close(self, ctx: RuleContext, contract_id: str, reason: str) -> CloseContract:
        return CloseContract(
            account_id=ctx.account_id, rule_id=self.rule_id, reason=reason, contract_id=contract_id
        )

    def reduce(self, ctx: RuleContext, contract_id: str, size: int, reason: str) -> EnforcementCommand:
        position = ctx.account.positions.get(contract_id)
        if position is not None and size >= position.size:
            return self.close(ctx, contract_id, reason)
        return PartialClose(
            account_id=ctx.account_id,
            rule_id=self.rule_id,
            reason=reason,
            contract_id=contract_id,
            size=size,
        )

    def reduce_newest(
        self, ctx: RuleContext, positions: list[Position], excess: int, reason: str,
        touched: str, whole: bool = False,
    ) -> list[EnforcementCommand]:
        """Cut ``excess`` contracts from the newest exposure first (the position the event
        touched counts as the newest); ``whole`` closes each chosen position entirely."""
        ordered = sorted(
            positions, key=lambda p: (p.contract_id == touched, p.last_grew_at), reverse=True
        )
        commands: list[EnforcementCommand] = []
        for position in ordered:
            if excess <= 0:
                break
            take = position.size if whole else min(excess, position.size)
            commands.append(
                self.close(ctx, position.contract_id, reason)
                if whole
                else self.reduce(ctx, position.contract_id, take, reason)
            )
            excess -= take
        return commands

    def cancel(self, ctx: RuleContext, order: OrderEvent, reason: str) -> CancelOrder:
        return CancelOrder(
            account_id=ctx.account_id,
            rule_id=self.rule_id,
            reason=reason,
            order_id=order.order_id,
            contract_id=order.contract_id,
        )

    def flatten(self, ctx: RuleContext, reason: str) -> Flatten:
        return Flatten(
            account_id=ctx.account_id,
            rule_id=self.rule_id,
            reason=reason,
            contract_ids=tuple(ctx.account.positions),
            order_ids=tuple(ctx.account.orders),
        )


# How far the gateway's trade timestamps and this PC's clock may disagree while a fill still
# counts as happening "now". A cooldown is timed from the fill, but a fast PC clock must not
# shorten (or skip) it; a fill older than this (REST catch-up) keeps its own time.
CLOCK_SKEW = timedelta(seconds=60)


def cooldown_start(fill_time: datetime, now: datetime) -> datetime:
    return now if abs(now - fill_time) <= CLOCK_SKEW else fill_time
