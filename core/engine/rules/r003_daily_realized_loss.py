"""RULE-003: the trading day's net realized loss reached the limit → flatten, lock until reset."""

from __future__ import annotations

from decimal import Decimal

from core.config.rules import DailyRealizedLoss
from core.domain.events import Recheck, TradeEvent
from core.domain.words import money
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind


class DailyRealizedLossRule(Rule[DailyRealizedLoss]):
    rule_id = "RULE-003"
    key = "daily_realized_loss"
    watches = frozenset({TradeEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: TradeEvent | Recheck) -> list[Breach]:
        net = ctx.realized_today()
        limit = Decimal(str(self.config.limit))
        if net > -limit:
            return []
        reason = f"daily realized P&L {money(net)} reached the loss limit {money(-limit)}"
        lock = LockRequest(LockKind.HARD, ctx.calendar.next_reset(ctx.now))
        return [self.breach(ctx, reason, self.flatten(ctx, reason), lock=lock)]
