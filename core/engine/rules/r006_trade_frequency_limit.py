"""RULE-006: too many entries per rolling minute, rolling hour or trading day → a cooldown.

Only entries count (fills that open or add; exits never do). Windows use the trades' own
timestamps and are judged wherever the entry belongs: a catch-up that arrives out of order
is counted in every window it falls in, and the breach happens at the moment a window first
held one entry too many. The cooldown runs from that moment (or from now, when the fill is
within a minute of the clock), so overtrading fetched late does not start a fresh cooldown.
When a config change tightens a limit, the present counts are judged at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config.rules import TradeFrequencyLimit
from core.domain.events import Recheck, TradeEvent
from core.domain.words import length
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext, cooldown_start
from core.modules.lockouts import LockKind
from core.modules.trade_counter import HOUR, MINUTE


class TradeFrequencyLimitRule(Rule[TradeFrequencyLimit]):
    rule_id = "RULE-006"
    key = "trade_frequency_limit"
    watches = frozenset({TradeEvent, Recheck})

    def evaluate(self, ctx: RuleContext, event: TradeEvent | Recheck) -> list[Breach]:
        cfg = self.config
        acct = ctx.account_id
        if isinstance(event, Recheck):
            if self.key not in event.tightened:
                return []  # a restart or a catch-up: the entries were judged as they came
            moments: dict[str, datetime | None] = {
                "minute": ctx.now, "hour": ctx.now, "day": ctx.now
            }
        else:
            if not event.is_opening or event.voided:
                return []
            at = event.created_at
            day = ctx.counter.day_over(acct, at, cfg.per_session)
            moments = {
                "minute": ctx.counter.first_over(acct, at, MINUTE, cfg.per_minute),
                "hour": ctx.counter.first_over(acct, at, HOUR, cfg.per_hour),
                # Every entry past the day's limit is a breach of its own; a late one that
                # pushed a later entry over breaches at that entry.
                "day": max(day, at) if day is not None else None,
            }
        # (when the window went over, cooldown seconds, what went over)
        over: list[tuple[datetime, int, str]] = []
        for window, moment in moments.items():
            if moment is None:
                continue
            counts = ctx.counter.counts(acct, moment)
            if window == "minute" and counts.minute > cfg.per_minute:
                over.append((moment, cfg.minute_cooldown_seconds,
                             f"{counts.minute} entries in a minute (limit {cfg.per_minute})"))
            elif window == "hour" and counts.hour > cfg.per_hour:
                over.append((moment, cfg.hour_cooldown_seconds,
                             f"{counts.hour} entries in an hour (limit {cfg.per_hour})"))
            elif window == "day" and counts.session > cfg.per_session:
                over.append((moment, cfg.session_cooldown_seconds,
                             f"{counts.session} entries today (limit {cfg.per_session})"))
        if not over:
            return []
        # The longest cooldown that applies wins.
        ends = [(cooldown_start(moment, ctx.now) + timedelta(seconds=secs), secs, text)
                for moment, secs, text in over]
        until, seconds, _ = max(ends)
        if until <= ctx.now:
            return []
        reason = "; ".join(text for _, _, text in ends) + f": {length(seconds)} cooldown"
        return [self.breach(ctx, reason, lock=LockRequest(LockKind.COOLDOWN, until))]
