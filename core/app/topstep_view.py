"""The Topstep account guard as the dashboard shows it: the distance to the Maximum Loss Limit,
the plan (with the numbers Topstep has not confirmed marked), the size cap now and why, the time
left to the firm's close, the consistency share, and the warning ladder's step per money limit.

Every number comes from the engine's own view (``engine.plans``, the rules' own helpers and the
account's own rule tables), so the dashboard never disagrees with what RULE-014…016 judge. What
cannot be said (no balance yet, a position without a price) is said so, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.app.consistency import consistency_view
from core.app.snapshot import (
    FirmCloseView,
    LadderView,
    MllView,
    PlanFact,
    SizeCapView,
    TopstepView,
)
from core.config.plans import Plan, PlanKind
from core.config.rules import FirmClose, RulesConfig
from core.domain.trading_day import local_instant
from core.domain.words import length, money
from core.engine.engine import Engine
from core.engine.rules import RuleContext
from core.engine.rules.ladder import Step, ladder_steps
from core.engine.rules.r016_firm_close import FirmCloseRule


def topstep_view(
    engine: Engine,
    ctx: RuleContext,
    rules: RulesConfig,
    *,
    stale: bool = False,
    day_nets: Mapping[date, Decimal] | None = None,
) -> TopstepView | None:
    """None for an account with no plan and no typed-in floor: nothing of Topstep's to show.
    ``stale``: a held position's price is the last one seen before market data was lost;
    ``day_nets``: the account's net realized P&L per earlier trading day, as the state file
    keeps it (None: not read yet)."""
    account = ctx.account
    plans = engine.plans
    floor = plans.floor(account)
    if floor is None:
        return None
    plan = plans.plan(account)
    guard = rules.max_loss_guard
    # The guard's own reading: a balance that just fell may already hold a close's loss whose
    # position update is still on the way (not counted twice), and a close the balance does
    # not show yet keeps its P&L (a profit is never lost), flat or not.
    balance = account.settled_balance(ctx.now)
    open_pnl = ctx.account_open_pnl() if account.positions else 0.0
    unknown = ""
    if account.balance is None:
        unknown = "no balance yet"
    elif balance is None:
        unknown = "a close not priced yet"
    elif open_pnl is None:
        unknown = "prices stale" if stale else "no price yet"
    today = ctx.trading_day
    mll = MllView(
        floor=floor.value,
        floor_typed_in=floor.typed_in,
        mll_amount=floor.mll_amount,
        balance=balance,
        open_pnl=open_pnl,
        buffer=guard.buffer_for(floor.mll_amount) if guard.enabled else None,
        warn_at=tuple(guard.warn_at) if guard.enabled else (),
        unknown=unknown,
        floor_behind="" if floor.typed_in else floor_behind(plans.resets_missed(account, today)),
    )
    settings = engine.config.account(ctx.account_id)
    chosen = settings is not None and settings.plan not in ("auto", "none")
    if plan is None:
        return TopstepView("", "no plan", (), mll)
    profit = plans.profit_at_reset(account, today)
    facts = plan_facts(plan, floor.value, floor.typed_in)
    cap = _cap(ctx, plan, profit) if rules.plan_position_size.enabled else None
    close = firm_close_view(rules.firm_close, ctx.now) if rules.firm_close.enabled else None
    consistency = None
    if day_nets is not None and balance is not None:
        nets = {day: net for day, net in day_nets.items() if day != today}
        nets[today] = ctx.realized_today()
        consistency = consistency_view(
            nets, balance - plan.spec.starting_balance, engine.config.topstep.consistency_warning
        )
    source = "picked in Settings" if chosen else "from the account name"
    return TopstepView(plan.title, source, facts, mll, cap, close, consistency)


def floor_behind(missed: int | None) -> str:
    """Why the computed floor may be below Topstep's: end-of-day balances not taken in yet."""
    if missed == 0:
        return ""
    if missed is None:
        return "not yet rebuilt from the trade history: Topstep's floor may be higher"
    resets = "a daily reset" if missed == 1 else f"{missed} daily resets"
    return (f"{resets} missed while the app was off, not yet rebuilt from the trade history: "
            "Topstep's floor may be higher")


def plan_facts(plan: Plan, floor: float, typed_in: bool) -> tuple[PlanFact, ...]:
    """The plan's numbers in the trader's words; a number Topstep has not confirmed says so."""
    spec = plan.spec
    facts = [PlanFact("Starting balance", money(spec.starting_balance),
                      plan.unconfirmed("starting_balance"))]
    if plan.kind is PlanKind.COMBINE:
        facts.append(PlanFact("Profit target", money(spec.profit_target),
                              plan.unconfirmed("profit_target")))
    facts.append(PlanFact("Maximum Loss Limit", money(spec.mll), plan.unconfirmed("mll")))
    facts.append(PlanFact("MLL floor", money(floor) + (" (typed in)" if typed_in else "")))
    micros = f" ({spec.micros_ratio} micros = 1 lot)" if spec.micros_ratio > 1 else ""
    facts.append(PlanFact("Maximum position", f"{spec.max_position} lots{micros}",
                          plan.unconfirmed("max_position") or plan.unconfirmed("micros_ratio")))
    if plan.kind is PlanKind.EXPRESS and spec.scaling:
        tiers = ", ".join(f"{t.max_position} lots from {money(t.above_profit)}" for t in spec.scaling)
        facts.append(PlanFact("Scaling plan", tiers, plan.unconfirmed("scaling")))
    return tuple(facts)


def _cap(ctx: RuleContext, plan: Plan, profit: float | None) -> SizeCapView:
    cap, why = plan.position_cap(profit)
    ratio = plan.spec.micros_ratio
    # A contract whose symbol is not known yet counts as a full lot, as RULE-015 counts it:
    # the size shown is never smaller than the truth.
    units = sum(
        p.size * (1 if ctx.contracts.symbol_of(p.contract_id) in plan.micros else ratio)
        for p in ctx.account.positions.values()
    )
    scaling = why.startswith("scaling")
    unconfirmed = plan.unconfirmed("scaling") if scaling else plan.unconfirmed("max_position")
    return SizeCapView(cap, why, units / ratio, unconfirmed)


def firm_close_view(config: FirmClose, now: datetime) -> FirmCloseView:
    """The next flatten RULE-016 will do, or, inside the closed window, when entries reopen."""
    rule = FirmCloseRule(config)
    zone = ZoneInfo(config.timezone)
    local_close = local_instant(now.astimezone(zone).date(), config.close, zone).astimezone(zone)
    close = f"{config.close:%H:%M} {local_close.tzname() or config.timezone}"
    # The rule's own judgement of "closed", so the dashboard never disagrees with it.
    if rule._closed(now, config.close):
        return FirmCloseView(close, None, rule.next_open(now))
    lead = timedelta(minutes=config.flatten_minutes_before)
    day = now.astimezone(zone).date()
    for offset in range(8):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() >= 5:
            continue  # no session closes on a Saturday or a Sunday
        flatten_at = local_instant(candidate, config.close, zone) - lead
        if flatten_at > now:
            return FirmCloseView(close, flatten_at)
    return FirmCloseView(close, None, rule.next_open(now))


def ladder_views(ctx: RuleContext, rules: RulesConfig) -> tuple[LadderView, ...]:
    """The ladder's step per money limit that has one (warnings or a restrict step)."""
    return tuple(_ladder_view(step) for step in ladder_steps(ctx, rules))


def _ladder_view(step: Step) -> LadderView:
    if step.limit != "max_loss_guard" and step.used >= 1 - 1e-9:
        text = "at the limit: its own rule acts"  # past every step: the limit itself
    elif step.step == "restricted":
        contracts = f"{step.max_contracts} contract{'s' if step.max_contracts != 1 else ''}"
        text = f"restricted: at most {contracts}"
        if step.cooldown_seconds:
            text += f", a {length(step.cooldown_seconds)} cooldown after each losing exit"
    elif step.step == "warned":
        text = "warned"
    else:
        text = "normal"
    if step.limit == "max_loss_guard":
        used = f"{money(step.used)} from the floor"
    else:
        used = f"{max(0.0, step.used):.0%} used"
    return LadderView(step.limit, step.name, step.step, text, used)

