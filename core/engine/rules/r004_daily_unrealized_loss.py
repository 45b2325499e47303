"""RULE-004: an open loss reached the limit → close that position (account scope: all)."""

from __future__ import annotations

from core.config.rules import DailyUnrealizedLoss
from core.domain.events import MarketTradeEvent, PositionEvent, QuoteEvent
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, Rule, RuleContext


class DailyUnrealizedLossRule(Rule[DailyUnrealizedLoss]):
    rule_id = "RULE-004"
    key = "daily_unrealized_loss"
    watches = frozenset({PositionEvent, QuoteEvent, MarketTradeEvent})

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | QuoteEvent | MarketTradeEvent
    ) -> list[Breach]:
        threshold = -self.config.limit + EPSILON
        positions = ctx.account.positions
        if self.config.scope == "position":
            position = positions.get(event.contract_id)
            if position is None:
                return []
            pnl = ctx.open_pnl(position)
            if pnl is None or pnl > threshold:
                return []
            reason = (
                f"open loss {money(pnl)} on {ctx.symbol(position.contract_id)} "
                f"reached the limit {money(-self.config.limit)}"
            )
            return [self.breach(ctx, reason, self.close(ctx, position.contract_id, reason))]
        total = ctx.account_open_pnl()
        if not positions or total is None or total > threshold:
            return []
        reason = f"account open loss {money(total)} reached the limit {money(-self.config.limit)}"
        return [
            self.breach(ctx, reason, *(self.close(ctx, cid, reason) for cid in list(positions)))
        ]
