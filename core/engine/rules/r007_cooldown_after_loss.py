"""RULE-007: one closing order lost at least a tier's amount → that tier's cooldown.

A closing order is judged on its total: its half-turns are summed by ``orderId`` (a 3-lot
closed by one order in three fills is one loss), and judged again at each fill, so a fill
that reaches a higher tier extends the cooldown. The cooldown runs from the order's first
closing fill (or from now, when that fill is within a minute of the clock).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.config.rules import CooldownAfterLoss
from core.domain.events import TradeEvent
from core.domain.words import length, money
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind


class CooldownAfterLossRule(Rule[CooldownAfterLoss]):
    rule_id = "RULE-007"
    key = "cooldown_after_loss"
    watches = frozenset({TradeEvent})

    def evaluate(self, ctx: RuleContext, event: TradeEvent) -> list[Breach]:
        if event.pnl is None or event.voided:
            return []
        result = ctx.pnl.order_result(event)
        if result is None:
            return []
        net = result.net
        reached = [t for t in self.config.tiers if net <= -Decimal(str(t.loss))]
        if not reached:
            return []
        tier = max(reached, key=lambda t: t.loss)
        start = cooldown_start(result.first_fill, ctx.now)
        running = ctx.lockouts.get(ctx.account_id, self.rule_id)
        if (
            running is not None
            and running.active_at(ctx.now)
            and result.first_fill <= running.locked_at <= start
        ):
            # Set at this order's own first fills: a later fill extends it only by reaching
            # a higher tier, not by arriving later.
            start = running.locked_at
        until = start + timedelta(seconds=tier.seconds)
        if until <= ctx.now:
            return []
        what = "one trade" if result.fills == 1 else f"one order ({result.fills} fills)"
        reason = f"{length(tier.seconds)} cooldown: {what} lost {money(-net)}"
        commands = (self.flatten(ctx, reason),) if self.config.flatten else ()
        return [self.breach(ctx, reason, *commands, lock=LockRequest(LockKind.COOLDOWN, until))]
