"""RULE-013: the trading day's net realized profit reached the target → flatten, lock until reset."""

from __future__ import annotations

from decimal import Decimal

from core.config.rules import DailyRealizedProfit
from core.domain.events import Recheck, TradeEvent
from core.domain.words import money
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind


class DailyRealizedProfitRule(Rule[DailyRealizedProfit]):
    rule_id = "RULE-013"
    key = "daily_realized_profit"
    watches = frozenset({TradeEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: TradeEvent | Recheck) -> list[Breach]:
        net = ctx.realized_today()
        target = Decimal(str(self.config.target))
        if net < target:
            return []
        reason = f"daily realized P&L {money(net)} reached the profit target {money(target)}: done for the day"
        lock = LockRequest(LockKind.HARD, ctx.calendar.next_reset(ctx.now))
        return [self.breach(ctx, reason, self.flatten(ctx, reason), lock=lock)]
