"""RULE-001: too many contracts open across the account → cut back the newest exposure."""

from __future__ import annotations

from core.config.rules import MaxContracts
from core.domain.events import PositionEvent
from core.engine.rules.base import Breach, Rule, RuleContext


class MaxContractsRule(Rule[MaxContracts]):
    rule_id = "RULE-001"
    key = "max_contracts"
    watches = frozenset({PositionEvent})

    def evaluate(self, ctx: RuleContext, event: PositionEvent) -> list[Breach]:
        positions = list(ctx.account.positions.values())
        limit = self.config.limit
        if self.config.count_type == "gross":
            total = sum(p.size for p in positions)
            candidates = positions
        else:
            signed = sum(p.signed_size for p in positions)
            total = abs(signed)
            # Only positions on the dominant side bring the net back down.
            candidates = [p for p in positions if (p.signed_size > 0) == (signed > 0)]
        excess = total - limit
        if excess <= 0:
            return []
        reason = f"{total} contracts open ({self.config.count_type}), limit {limit}"
        commands = self.reduce_newest(
            ctx, candidates, excess, reason, event.contract_id, whole=not self.config.reduce_to_limit
        )
        return [self.breach(ctx, reason, *commands)]
