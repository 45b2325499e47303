"""RULE-005: an open profit reached the target → take it (close that position, or all)."""

from __future__ import annotations

from core.config.rules import MaxUnrealizedProfit
from core.domain.events import MarketTradeEvent, PositionEvent, QuoteEvent, Recheck
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, Rule, RuleContext


class MaxUnrealizedProfitRule(Rule[MaxUnrealizedProfit]):
    rule_id = "RULE-005"
    key = "max_unrealized_profit"
    watches = frozenset({PositionEvent, QuoteEvent, MarketTradeEvent, Recheck})

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | QuoteEvent | MarketTradeEvent | Recheck
    ) -> list[Breach]:
        threshold = self.config.target - EPSILON
        positions = ctx.account.positions
        if self.config.scope == "position":
            if isinstance(event, Recheck):
                candidates = list(positions.values())
            else:
                one = positions.get(event.contract_id)
                candidates = [one] if one is not None else []
            breaches = []
            for position in candidates:
                pnl = ctx.open_pnl(position)
                if pnl is None or pnl < threshold:
                    continue  # no price, no decision
                reason = (
                    f"open profit {money(pnl)} on {ctx.symbol(position.contract_id)} "
                    f"reached the target {money(self.config.target)}"
                )
                breaches.append(self.breach(ctx, reason, self.close(ctx, position.contract_id, reason)))
            return breaches
        total = ctx.account_open_pnl()
        if not positions or total is None or total < threshold:
            return []
        reason = f"account open profit {money(total)} reached the target {money(self.config.target)}"
        return [
            self.breach(ctx, reason, *(self.close(ctx, cid, reason) for cid in list(positions)))
        ]
