"""RULE-004: an open loss reached the limit → close that position (account scope: all)."""

from __future__ import annotations

from core.config.rules import DailyUnrealizedLoss
from core.domain.events import MarketTradeEvent, PositionEvent, QuoteEvent, Recheck
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, Rule, RuleContext


class DailyUnrealizedLossRule(Rule[DailyUnrealizedLoss]):
    rule_id = "RULE-004"
    key = "daily_unrealized_loss"
    watches = frozenset({PositionEvent, QuoteEvent, MarketTradeEvent, Recheck})

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | QuoteEvent | MarketTradeEvent | Recheck
    ) -> list[Breach]:
        threshold = -self.config.limit + EPSILON
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
                if pnl is None or pnl > threshold:
                    continue  # no price, no decision
                reason = (
                    f"open loss {money(pnl)} on {ctx.symbol(position.contract_id)} "
                    f"reached the limit {money(-self.config.limit)}"
                )
                breaches.append(self.breach(ctx, reason, self.close(ctx, position.contract_id, reason)))
            return breaches
        total = ctx.account_open_pnl()
        if not positions or total is None or total > threshold:
            return []
        reason = f"account open loss {money(total)} reached the limit {money(-self.config.limit)}"
        return [
            self.breach(ctx, reason, *(self.close(ctx, cid, reason) for cid in list(positions)))
        ]
