"""The limit bars: how much of each enabled limit is used, measured as the rule measures it.

The bars follow the engine's *enabled* rules, with the rules' own helpers where they have one,
so a red bar is the breach the rule would see. Each bar knows whether reaching its limit is
already the breach (a loss of exactly -$500) or still allowed (5 of 5 contracts), and from
which fraction it turns amber (a daily loss's first warning, else 80 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from core.app.snapshot import LimitUsage, PositionView
from core.domain.words import money
from core.engine.engine import Engine
from core.engine.rules import RuleContext
from core.engine.rules.r001_max_contracts import MaxContractsRule
from core.engine.rules.r002_max_contracts_per_instrument import MaxContractsPerInstrumentRule
from core.engine.rules.r003_daily_realized_loss import DailyRealizedLossRule
from core.engine.rules.r004_daily_unrealized_loss import DailyUnrealizedLossRule
from core.engine.rules.r005_max_unrealized_profit import MaxUnrealizedProfitRule
from core.engine.rules.r006_trade_frequency_limit import TradeFrequencyLimitRule
from core.engine.rules.r013_daily_realized_profit import DailyRealizedProfitRule

WARN_AT = 0.8  # amber from here, for limits without warnings of their own


def limits(
    engine: Engine,
    ctx: RuleContext,
    realized: Decimal,
    positions: tuple[PositionView, ...],
    waiting: Mapping[str, str] | None = None,
) -> tuple[LimitUsage, ...]:
    usages: list[LimitUsage] = []
    waits = waiting or {}
    # The account's own enabled rules, in table order (its overrides over the shared tables):
    # the bars follow what the engine judges for this account.
    for rule in engine.rulebook.rules(ctx.account_id):
        usage: LimitUsage | None = None
        rule_id = rule.rule_id
        if isinstance(rule, MaxContractsRule):
            usage = _contracts(rule, ctx)
        elif isinstance(rule, MaxContractsPerInstrumentRule):
            usage = _per_instrument(rule, ctx)
        elif isinstance(rule, DailyRealizedLossRule):
            limit = rule.config.limit
            used = max(0.0, -float(realized))
            first_warning = min(rule.config.warn_at, default=WARN_AT)
            usage = LimitUsage(rule_id, "Daily loss", used, limit,
                               f"{money(-used)} of {money(-limit)}", warn_at=first_warning)
        elif isinstance(rule, DailyUnrealizedLossRule):
            usage = _open_pnl_usage(rule_id, "Open loss", -1, rule.config.limit,
                                    rule.config.scope, positions)
        elif isinstance(rule, MaxUnrealizedProfitRule):
            usage = _open_pnl_usage(rule_id, "Open profit", +1, rule.config.target,
                                    rule.config.scope, positions)
        elif isinstance(rule, TradeFrequencyLimitRule):
            usage = _trades(rule, ctx)
        elif isinstance(rule, DailyRealizedProfitRule):
            target = rule.config.target
            used = max(0.0, float(realized))
            usage = LimitUsage(rule_id, "Daily profit", used, target,
                               f"{money(used)} of {money(target)}")
        if usage is not None:
            if rule_id in waits:
                usage = _with_waiting(usage, waits[rule_id])
            usages.append(usage)
    return tuple(usages)


def _with_waiting(usage: LimitUsage, text: str) -> LimitUsage:
    return LimitUsage(usage.rule_id, usage.label, usage.used, usage.limit, usage.text,
                      usage.warn_at, usage.breach_at_limit, text)


def _contracts(rule: MaxContractsRule, ctx: RuleContext) -> LimitUsage:
    cfg = rule.config
    used = ctx.account.gross_contracts() if cfg.count_type == "gross" else ctx.account.net_contracts()
    return LimitUsage(
        rule.rule_id, "Contracts", float(used), float(cfg.limit),
        f"{used} of {cfg.limit} contracts ({cfg.count_type})", breach_at_limit=False,
    )


def _per_instrument(rule: MaxContractsPerInstrumentRule, ctx: RuleContext) -> LimitUsage | None:
    cfg = rule.config
    totals: dict[str, list[int]] = {}  # symbol → [contracts, limit]
    unjudged: list[str] = []  # contracts whose symbol is still being looked up
    for position in ctx.account.positions.values():
        cap = rule.limit_for(ctx, position.contract_id)  # the rule's own grouping
        if cap is None:
            unjudged.append(ctx.symbol(position.contract_id))
            continue  # not judged until its symbol is known: said below, never hidden
        _, words, limit = cap
        if limit is None:
            continue  # an unlisted symbol the config allows: nothing to measure
        totals.setdefault(words, [0, limit])[0] += position.size
    if totals:
        def badness(item: tuple[str, list[int]]) -> tuple[float, int, str]:
            used, limit = item[1]
            ratio = used / limit if limit > 0 else (float("inf") if used else 0.0)
            return ratio, used, item[0]

        symbol, (used, limit) = max(totals.items(), key=badness)
        return LimitUsage(
            rule.rule_id, "Per symbol", float(used), float(limit),
            f"{symbol}: {used} of {limit} contracts" + _unjudged(unjudged), breach_at_limit=False,
        )
    # Flat (or only unmeasured symbols): show the tightest limit a new position could meet.
    all_limits = list(cfg.limits.values())
    if cfg.default_limit is not None:
        all_limits.append(cfg.default_limit)
    if not all_limits:
        return None
    text = _unjudged(unjudged).removeprefix("; ") if unjudged else "no positions"
    return LimitUsage(rule.rule_id, "Per symbol", 0.0, float(min(all_limits)), text,
                      breach_at_limit=False)


def _unjudged(contracts: list[str]) -> str:
    """Positions the per-symbol limits cannot judge yet (their symbol is being looked up)."""
    if not contracts:
        return ""
    return (f"; {', '.join(sorted(contracts))}: symbol not known yet, not judged until the "
            "gateway says what it is")


def _open_pnl_usage(
    rule_id: str, label: str, sign: int, limit: float, scope: str,
    positions: tuple[PositionView, ...],
) -> LimitUsage:
    """Open loss (sign -1) or open profit (sign +1) against its limit, as RULE-004/005 see it."""
    shown = -limit if sign < 0 else limit
    # Prices lost with the market data are stale: said so, never measured against the limit.
    unpriced = "prices stale" if any(p.stale for p in positions) else "no price yet"
    if not positions:
        return LimitUsage(rule_id, label, 0.0, limit, f"{money(0)} of {money(shown)}")
    if scope == "account":
        values = [p.open_pnl for p in positions]
        if any(v is None for v in values):
            # The rule takes no decision while a position is unpriced; neither does the bar.
            return LimitUsage(rule_id, label, 0.0, limit, f"{unpriced} (of {money(shown)})")
        total = sum((v for v in values if v is not None), 0.0)
        used = max(0.0, sign * total)
        return LimitUsage(rule_id, label, used, limit,
                          f"{money(sign * used)} of {money(shown)} (account)")
    priced = [(p.open_pnl, p.name) for p in positions if p.open_pnl is not None]
    if not priced:
        return LimitUsage(rule_id, label, 0.0, limit, f"{unpriced} (of {money(shown)})")
    value, worst = max(priced, key=lambda item: sign * item[0])
    used = max(0.0, sign * value)
    text = f"{money(sign * used)} of {money(shown)} on {worst}"
    if len(priced) < len(positions):
        text += f" (some positions: {unpriced})"
    return LimitUsage(rule_id, label, used, limit, text)


def _trades(rule: TradeFrequencyLimitRule, ctx: RuleContext) -> LimitUsage:
    cfg = rule.config
    counts = ctx.counter.counts(ctx.account_id, ctx.now)
    windows = (
        (counts.minute, cfg.per_minute, "this minute"),
        (counts.hour, cfg.per_hour, "this hour"),
        (counts.session, cfg.per_session, "today"),
    )
    # The fullest window; on a tie the longer one, whose cooldown is the longer too.
    index = max(range(len(windows)), key=lambda i: (windows[i][0] / windows[i][1], i))
    used, limit, where = windows[index]
    return LimitUsage(
        rule.rule_id, "Trades", float(used), float(limit), f"{used} of {limit} entries {where}",
        breach_at_limit=False,
    )
