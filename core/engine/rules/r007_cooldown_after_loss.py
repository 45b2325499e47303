"""RULE-007: one closing trade lost at least a tier's amount → that tier's cooldown."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.config.rules import CooldownAfterLoss
from core.domain.events import TradeEvent
from core.domain.words import money
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind


class CooldownAfterLossRule(Rule[CooldownAfterLoss]):
    rule_id = "RULE-007"
    key = "cooldown_after_loss"
    watches = frozenset({TradeEvent})

    def evaluate(self, ctx: RuleContext, event: TradeEvent) -> list[Breach]:
        if event.pnl is None or event.voided:
            return []
        net = event.net_pnl
        reached = [t for t in self.config.tiers if net <= -Decimal(str(t.loss))]
        if not reached:
            return []
        tier = max(reached, key=lambda t: t.loss)
        until = cooldown_start(event.created_at, ctx.now) + timedelta(seconds=tier.seconds)
        if until <= ctx.now:
            return []
        reason = (
            f"a trade lost {money(net)} (tier {money(-tier.loss)}): cooldown {tier.seconds} s"
        )
        commands = (self.flatten(ctx, reason),) if self.config.flatten else ()
        return [self.breach(ctx, reason, *commands, lock=LockRequest(LockKind.COOLDOWN, until))]
