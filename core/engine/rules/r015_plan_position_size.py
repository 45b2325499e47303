"""RULE-015: no more contracts than the Topstep plan allows.

The cap is the plan's maximum position size or, on an Express Funded Account, the scaling
tier reached by the end-of-day balance (it changes only at the reset, never intraday); while
that balance is not known yet, the plan's maximum. Micros count at the plan's ratio (10 MNQ
are one lot). The excess is cut back, newest first.

Whether a contract is a micro depends on its symbol. One still being looked up counts as a
full lot, the most it can be: within the cap that is sure; over it, nothing is decided until
the symbol is known. One the gateway does not know is not known to be a micro: a full lot.
"""

from __future__ import annotations

import math

from core.config.rules import PlanPositionSize
from core.domain.commands import EnforcementCommand
from core.domain.events import PositionEvent, Recheck
from core.engine.rules.base import Breach, Rule, RuleContext
from core.modules.contracts import PENDING


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
        symbols = {p.contract_id: ctx.contracts.symbol_of(p.contract_id) for p in positions}
        units = {cid: (1 if symbol in plan.micros else ratio) for cid, symbol in symbols.items()}
        held = sum(p.size * units[p.contract_id] for p in positions)  # in micro units
        excess = held - cap * ratio
        if excess <= 0 or PENDING in symbols.values():
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
