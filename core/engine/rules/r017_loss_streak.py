"""RULE-017: several losing exits in a row → a cooldown, before the day's loss limit does worse.

An exit is a closing order, its fills summed (as RULE-007 judges it); one that lost extends the
streak, one that won or broke even ends it. The streak is rebuilt from the stored trades after a
restart, and starts again at the daily reset unless the table says otherwise. Every losing exit
at or past the count is a breach of its own.
"""

from __future__ import annotations

from datetime import timedelta

from core.config.rules import LossStreak
from core.domain.events import TradeEvent
from core.domain.words import length
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind


class LossStreakRule(Rule[LossStreak]):
    rule_id = "RULE-017"
    key = "loss_streak"
    watches = frozenset({TradeEvent})

    def evaluate(self, ctx: RuleContext, event: TradeEvent) -> list[Breach]:
        if event.pnl is None or event.voided:
            return []
        since = ctx.calendar.bounds(ctx.trading_day)[0] if self.config.reset_daily else None
        exits = ctx.pnl.closing_orders(ctx.account_id, since)
        streak = 0
        for result in reversed(exits):
            if result.net >= 0:
                break
            streak += 1
        if streak < self.config.losses:
            return []
        last = exits[-1]
        until = cooldown_start(last.first_fill, ctx.now) + timedelta(seconds=self.config.cooldown_seconds)
        if until <= ctx.now:
            return []
        reason = f"{length(self.config.cooldown_seconds)} cooldown: {streak} losing exits in a row"
        return [self.breach(ctx, reason, lock=LockRequest(LockKind.COOLDOWN, until))]
