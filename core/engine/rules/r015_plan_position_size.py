"""RULE-015: no more contracts than the Topstep plan allows.

The cap is the plan's maximum position size or, on an Express Funded Account, the scaling
tier reached by the end-of-day balance (it changes only at the reset, never intraday); while
that balance is not known yet, the plan's maximum. Micros count at the plan's ratio (10 MNQ
are one lot). The excess is cut back, newest first.
"""

from __future__ import annotations

import math

from core.config.rules import PlanPositionSize
from core.domain.commands import EnforcementCommand
from core.domain.events import PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext


class PlanPositionSizeRule(Rule[PlanPositionSize]):
    rule_id = "RULE-015"
    key = "plan_position_size"
    watches = frozenset({PositionEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: PositionEvent | Recheck) -> list[Breach]:
        plans = ctx.plans
        if plans is None or not ctx.account.positions:
            return []
        plan = plans.plan(ctx.account)
        if plan is None:
            return []
        # Unknown until the end of day just gone is read (a restart, a missed reset): then
        # the plan's maximum, never a tier guessed from a profit of 0.
        cap, why = plan.position_cap(plans.profit_at_reset(ctx.account, ctx.trading_day))
        ratio = plan.spec.micros_ratio
        positions = list(ctx.account.positions.values())
        units = {p.contract_id: (1 if ctx.symbol(p.contract_id) in plan.micros else ratio) for p in positions}
        held = sum(p.size * units[p.contract_id] for p in positions)  # in micro units
        excess = held - cap * ratio
        if excess <= 0:
            return []
        lots = held / ratio
        reason = f"{lots:g} lots held, the {why} allows {cap}"
        touched = event.contract_id if isinstance(event, PositionEvent) else ""
        ordered = sorted(positions, key=lambda p: (p.contract_id == touched, p.last_grew_at), reverse=True)
        commands: list[EnforcementCommand] = []
        for position in ordered:
            if excess <= 0:
                break
            unit = units[position.contract_id]
            take = min(position.size, math.ceil(excess / unit))
            commands.append(self.reduce(ctx, position.contract_id, take, reason))
            excess -= take * unit
        return [self.breach(ctx, reason, *commands)]
