"""RULE-005: an open profit reached the target → take it (close that position, or all)."""

from __future__ import annotations

from core.config.rules import MaxUnrealizedProfit
from core.domain.events import MarketTradeEvent, PositionEvent, QuoteEvent, Recheck
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, Rule, RuleContext
from core.modules.mirror import Position


class MaxUnrealizedProfitRule(Rule[MaxUnrealizedProfit]):
    rule_id = "RULE-005"
    key = "max_unrealized_profit"
    watches = frozenset({PositionEvent, QuoteEvent, MarketTradeEvent, Recheck})

    def __init__(self, config: MaxUnrealizedProfit) -> None:
        super().__init__(config)
        # Read once: evaluate runs on every quote, and a rule is rebuilt when its table changes.
        self._threshold = self.config.target - EPSILON
        self._per_position = config.scope == "position"

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | QuoteEvent | MarketTradeEvent | Recheck
    ) -> list[Breach]:
        threshold = self._threshold
        positions = ctx.account.positions
        if self._per_position:
            if isinstance(event, Recheck):
                return [b for p in list(positions.values()) if (b := self._judge(ctx, p, threshold))]
            # The hot path (every quote): one position, judged inline.
            position = positions.get(event.contract_id)
            if position is None:
                return []
            pnl = ctx.open_pnl(position)
            if pnl is None or pnl < threshold:
                return []  # no price, no decision
            breach = self._judge(ctx, position, threshold)
            return [breach] if breach is not None else []
        total = ctx.account_open_pnl()
        if not positions or total is None or total < threshold:
            return []
        reason = f"account open profit {money(total)} reached the target {money(self.config.target)}"
        return [
            self.breach(ctx, reason, *(self.close(ctx, cid, reason) for cid in list(positions)))
        ]

    def _judge(self, ctx: RuleContext, position: Position, threshold: float) -> Breach | None:
        pnl = ctx.open_pnl(position)
        if pnl is None or pnl < threshold:
            return None  # no price, no decision
        reason = (
            f"open profit {money(pnl)} on {ctx.symbol(position.contract_id)} "
            f"reached the target {money(self.config.target)}"
        )
        return self.breach(ctx, reason, self.close(ctx, position.contract_id, reason))
