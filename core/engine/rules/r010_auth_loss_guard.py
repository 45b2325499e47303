"""RULE-010: the gateway says the account may not trade → flatten and lock until it may again."""

from __future__ import annotations

from core.config.rules import AuthLossGuard
from core.domain.events import AccountEvent, Recheck
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind


class AuthLossGuardRule(Rule[AuthLossGuard]):
    rule_id = "RULE-010"
    key = "auth_loss_guard"
    watches = frozenset({AccountEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: AccountEvent | Recheck) -> list[Breach]:
        # A payload without canTrade changes nothing: only an explicit false locks.
        can_trade = ctx.account.can_trade if isinstance(event, Recheck) else event.can_trade
        if can_trade is not False:
            return []
        reason = "the gateway reports this account can no longer trade"
        return [
            self.breach(
                ctx, reason, self.flatten(ctx, reason), lock=LockRequest(LockKind.HARD, None)
            )
        ]

    def lifts(self, ctx: RuleContext, event: AccountEvent) -> bool:
        return event.can_trade is True
