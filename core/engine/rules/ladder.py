"""The ladder before a money limit: warnings, then a restrict step, then the limit itself.

For each money limit a trader can set warnings (fractions of the limit) and a restrict step
(``restrict_at``): past it the account trades small until the day ends or the money comes back,
with at most ``restrict_max_contracts`` open (the newest exposure is cut back) and a cooldown
after every losing exit. The limit's own rule still flattens and locks at the limit. The daily
realized loss warns through the engine's loss warnings; the Maximum Loss Limit guard warns in
RULE-014; the open loss (account scope) and the daily profit target warn here.

What step each limit is on is :func:`ladder_steps`, which the dashboard shows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from core.config.rules import RulesConfig
from core.domain.commands import EnforcementCommand
from core.domain.events import (
    MarketTradeEvent,
    PositionEvent,
    QuoteEvent,
    Recheck,
    TradeEvent,
)
from core.domain.words import length, money
from core.engine.rules.base import EPSILON, Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind

LADDER = "RESTRICT"


@dataclass(frozen=True, slots=True)
class Step:
    """Where one money limit stands: ``used`` is the share of the limit used (or for the MLL
    guard, the $ distance left), ``step`` one of normal, warned, restricted."""

    limit: str  # the rule table
    name: str  # in the trader's words
    used: float
    step: str
    max_contracts: int = 0
    cooldown_seconds: int = 0


def _share(step_at: float, used: float) -> bool:
    return step_at > 0 and used >= step_at - EPSILON


def ladder_steps(ctx: RuleContext, rules: RulesConfig) -> list[Step]:
    """The step of every enabled money limit that has a ladder, from the state now."""
    steps: list[Step] = []
    loss = rules.daily_realized_loss
    realized: Decimal | None = None
    if loss.enabled and (loss.restrict_at or loss.warn_at):
        realized = ctx.realized_today()
        used = float(-realized) / loss.limit
        steps.append(_step("daily_realized_loss", "Daily loss limit", used, loss.warn_at,
                           loss.restrict_at, loss.restrict_max_contracts, loss.restrict_cooldown_seconds))
    profit = rules.daily_realized_profit
    if profit.enabled and (profit.restrict_at or profit.warn_at):
        realized = ctx.realized_today() if realized is None else realized
        used = float(realized) / profit.target
        steps.append(_step("daily_realized_profit", "Daily profit target", used, profit.warn_at,
                           profit.restrict_at, profit.restrict_max_contracts,
                           profit.restrict_cooldown_seconds))
    open_loss = rules.daily_unrealized_loss
    if open_loss.enabled and open_loss.scope == "account" and (open_loss.restrict_at or open_loss.warn_at):
        total = ctx.account_open_pnl() if ctx.account.positions else 0.0
        if total is not None:
            used = -total / open_loss.limit
            steps.append(_step("daily_unrealized_loss", "Open loss limit", used, open_loss.warn_at,
                               open_loss.restrict_at, open_loss.restrict_max_contracts,
                               open_loss.restrict_cooldown_seconds))
    guard = rules.max_loss_guard
    if guard.enabled and guard.restrict_at > 0 and ctx.plans is not None:
        floor = ctx.plans.floor(ctx.account)
        balance = ctx.account.settled_balance(ctx.now)
        total = ctx.account_open_pnl() if ctx.account.positions else 0.0
        if floor is not None and balance is not None and total is not None:
            distance = balance + total - floor.value
            restricted = distance <= guard.restrict_at + EPSILON
            steps.append(Step("max_loss_guard", "Maximum Loss Limit", distance,
                              "restricted" if restricted else "normal",
                              guard.restrict_max_contracts, guard.restrict_cooldown_seconds))
    return steps


def _step(limit: str, name: str, used: float, warn_at: list[float], restrict: float,
          max_contracts: int, cooldown: int) -> Step:
    if _share(restrict, used):
        state = "restricted"
    elif any(used >= w - EPSILON for w in warn_at):
        state = "warned"
    else:
        state = "normal"
    return Step(limit, name, used, state, max_contracts, cooldown)


class LadderRule(Rule[Any]):
    """The restrict steps and the warnings the limits' own rules do not give. Its config is
    the whole rule set: it reads every money table."""

    rule_id = LADDER
    key = ""  # built from every money table, not one of its own
    watches = frozenset({PositionEvent, TradeEvent, QuoteEvent, MarketTradeEvent, Recheck})

    @staticmethod
    def wanted(rules: RulesConfig) -> bool:
        loss, profit, open_loss, guard = (
            rules.daily_realized_loss, rules.daily_realized_profit,
            rules.daily_unrealized_loss, rules.max_loss_guard,
        )
        return (
            (loss.enabled and loss.restrict_at > 0)
            or (profit.enabled and (profit.restrict_at > 0 or bool(profit.warn_at)))
            or (open_loss.enabled and open_loss.scope == "account"
                and (open_loss.restrict_at > 0 or bool(open_loss.warn_at)))
            or (guard.enabled and guard.restrict_at > 0)
        )

    def __init__(self, config: RulesConfig) -> None:
        super().__init__(config)
        self.tables = config

    def evaluate(self, ctx: RuleContext, event: Any) -> list[Breach]:
        steps = ladder_steps(ctx, self.tables)
        out: list[Breach] = []
        for step in steps:
            if step.limit in ("daily_realized_profit", "daily_unrealized_loss") and step.step != "normal":
                cfg = getattr(self.tables, step.limit)
                reached = max((w for w in cfg.warn_at if step.used >= w - EPSILON), default=None)
                if reached is not None:
                    out.append(self.warn(ctx, f"{step.name}: {step.used:.0%} used", reached))
        restricted = [s for s in steps if s.step == "restricted"]
        if not restricted:
            return out
        names = ", ".join(s.name for s in restricted)
        cap = min(s.max_contracts for s in restricted)
        held = sum(p.size for p in ctx.account.positions.values())
        if held > cap:
            reason = f"restrict step ({names}): {held} contracts open, at most {cap} now"
            touched = getattr(event, "contract_id", "")
            commands: list[EnforcementCommand] = self.reduce_newest(
                ctx, list(ctx.account.positions.values()), held - cap, reason, touched
            )
            out.append(self.breach(ctx, reason, *commands))
        if isinstance(event, TradeEvent) and event.pnl is not None and not event.voided:
            result = ctx.pnl.order_result(event)
            seconds = max(s.cooldown_seconds for s in restricted)
            if result is not None and result.net < 0 and seconds > 0:
                until = cooldown_start(result.first_fill, ctx.now) + timedelta(seconds=seconds)
                if until > ctx.now:
                    reason = (
                        f"{length(seconds)} cooldown: a losing exit ({money(result.net)}) "
                        f"in the restrict step ({names})"
                    )
                    out.append(self.breach(ctx, reason, lock=LockRequest(LockKind.COOLDOWN, until)))
        return out
