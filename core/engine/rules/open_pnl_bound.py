"""What RULE-004 (an open loss) and RULE-005 (an open profit) share: one bound on open P&L,
judged per position or on the account's sum, with no decision while a price is missing.

The two differ only in the bound's side (a loss is reached from above, a profit from below)
and in their words; each keeps its own file for its config and its words.
"""

from __future__ import annotations

from typing import ClassVar

from core.domain.events import MarketTradeEvent, PositionEvent, QuoteEvent, Recheck
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, C, Rule, RuleContext
from core.modules.mirror import Position


class OpenPnlBoundRule(Rule[C]):
    watches = frozenset({PositionEvent, QuoteEvent, MarketTradeEvent, Recheck})
    noun: ClassVar[str]  # "loss" or "profit", as the reason says it
    bound_word: ClassVar[str]  # "limit" or "target"
    side: ClassVar[int]  # -1: reached at or below the bound (a loss); +1: at or above it

    def __init__(self, config: C, bound: float, per_position: bool) -> None:
        super().__init__(config)
        # Read once: evaluate runs on every quote, and a rule is rebuilt when its table changes.
        self._bound = bound
        # side * pnl >= self._reached: one comparison for either side, on the hot path.
        self._reached = self.side * bound - EPSILON
        self._per_position = per_position

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | QuoteEvent | MarketTradeEvent | Recheck
    ) -> list[Breach]:
        positions = ctx.account.positions
        if self._per_position:
            if isinstance(event, Recheck):
                return [b for p in list(positions.values()) if (b := self._judge(ctx, p))]
            # The hot path (every quote): one position, judged inline.
            position = positions.get(event.contract_id)
            if position is None:
                return []
            breach = self._judge(ctx, position)
            return [breach] if breach is not None else []
        total = ctx.account_open_pnl()
        if not positions or total is None or self.side * total < self._reached:
            return []  # no price, no decision
        reason = (f"account open {self.noun} {money(total)} reached the {self.bound_word} "
                  f"{money(self._bound)}")
        return [
            self.breach(ctx, reason, *(self.close(ctx, cid, reason) for cid in list(positions)))
        ]

    def _judge(self, ctx: RuleContext, position: Position) -> Breach | None:
        pnl = ctx.open_pnl(position)
        if pnl is None or self.side * pnl < self._reached:
            return None  # no price, no decision
        reason = (
            f"open {self.noun} {money(pnl)} on {ctx.symbol(position.contract_id)} "
            f"reached the {self.bound_word} {money(self._bound)}"
        )
        return self.breach(ctx, reason, self.close(ctx, position.contract_id, reason))
