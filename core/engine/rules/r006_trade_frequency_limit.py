"""RULE-006: too many entries per minute, hour or trading day → a cooldown (no close).

Windows use the trades' own timestamps. The cooldown runs from the breaching entry, so
entries fetched late (after a restart) do not start a fresh cooldown for old overtrading.
"""

from __future__ import annotations

from datetime import timedelta

from core.config.rules import TradeFrequencyLimit
from core.domain.events import TradeEvent
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind


class TradeFrequencyLimitRule(Rule[TradeFrequencyLimit]):
    rule_id = "RULE-006"
    key = "trade_frequency_limit"
    watches = frozenset({TradeEvent})

    def evaluate(self, ctx: RuleContext, event: TradeEvent) -> list[Breach]:
        if not event.is_opening or event.voided:
            return []
        cfg = self.config
        counts = ctx.counter.counts(ctx.account_id, event.created_at)
        over: list[tuple[int, str]] = []
        if counts.minute > cfg.per_minute:
            over.append((cfg.minute_cooldown_seconds, f"{counts.minute} entries in a minute (limit {cfg.per_minute})"))
        if counts.hour > cfg.per_hour:
            over.append((cfg.hour_cooldown_seconds, f"{counts.hour} entries in an hour (limit {cfg.per_hour})"))
        if counts.session > cfg.per_session:
            over.append((cfg.session_cooldown_seconds, f"{counts.session} entries today (limit {cfg.per_session})"))
        if not over:
            return []
        seconds, _ = max(over)
        until = cooldown_start(event.created_at, ctx.now) + timedelta(seconds=seconds)
        if until <= ctx.now:
            return []
        reason = "; ".join(text for _, text in over) + f": cooldown {seconds} s"
        return [self.breach(ctx, reason, lock=LockRequest(LockKind.COOLDOWN, until))]
