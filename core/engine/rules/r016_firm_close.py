"""RULE-016: flat before the firm's close, and no new entries until the next session opens.

Topstep wants every position flat by 15:10 CT and starts flattening at 15:08; the guard does it
a set number of minutes before the close, then hard-locks the account until the next session
opens (17:00 CT, Sunday after a Friday). Products that close earlier (grains, livestock) are
closed before their own close, without locking the account. Local times are DST-correct.
A contract whose symbol is still being looked up waits for it before its own close is judged
(the id's root is not always the symbol); one the gateway does not know has only the firm's.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.config.rules import FirmClose
from core.domain.events import ClockTick, PositionEvent, Recheck
from core.domain.trading_day import MIDNIGHT, local_instant
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind

SESSION_DAYS = {6, 0, 1, 2, 3}  # sessions open Sunday to Thursday evening (Python: Monday = 0)


class FirmCloseRule(Rule[FirmClose]):
    rule_id = "RULE-016"
    key = "firm_close"
    watches = frozenset({ClockTick, PositionEvent, Recheck})

    def __init__(self, config: FirmClose) -> None:
        super().__init__(config)
        self.zone = ZoneInfo(config.timezone)
        self.lead = timedelta(minutes=config.flatten_minutes_before)
        # close time → [from, until) in which _closed gives the same answer, and that answer:
        # the rule runs on every position event and clock tick, and the answer changes only a
        # few times a day.
        self._spans: dict[time, tuple[datetime, datetime, bool]] = {}

    def evaluate(self, ctx: RuleContext, event: ClockTick | PositionEvent | Recheck) -> list[Breach]:
        if not ctx.account.positions or ctx.plans is None or ctx.plans.plan(ctx.account) is None:
            return []
        now = ctx.now
        if self.closed(now, self.config.close):
            opens = self.next_open(now)
            local = opens.astimezone(self.zone)
            reason = (
                f"the firm closes at {self.config.close:%H:%M} {self._tz(now)}: flat, and no new "
                f"entries until the session opens {local:%a %H:%M}"
            )
            lock = LockRequest(LockKind.HARD, opens)
            return [self.breach(ctx, reason, self.flatten(ctx, reason), lock=lock)]
        breaches = []
        if not self.config.symbols:
            return []
        for contract_id in list(ctx.account.positions):
            symbol = ctx.contracts.listed(contract_id, self.config.symbols)
            if not isinstance(symbol, str):
                continue  # not a product with its own close, or not known yet
            early = self.config.symbols.get(symbol)
            if early is not None and self.closed(now, early):
                reason = f"{symbol} closes at {early:%H:%M} {self._tz(now)}: flat before it does"
                breaches.append(self.breach(ctx, reason, self.close(ctx, contract_id, reason)))
        return breaches

    def closed(self, now: datetime, close: time) -> bool:
        """:meth:`_closed`, read from the span around ``now`` when it is known."""
        span = self._spans.get(close)
        if span is not None and span[0] <= now < span[1]:
            return span[2]
        answer = self._closed(now, close)
        self._spans[close] = (*self._span(now, close), answer)
        return answer

    def _span(self, now: datetime, close: time) -> tuple[datetime, datetime]:
        """The instants around ``now`` between which :meth:`_closed` cannot change: every
        flatten time, session open and local midnight (weekdays change there) nearby."""
        day = now.astimezone(self.zone).date()
        edges = sorted(
            edge
            for offset in (-1, 0, 1, 2)
            for edge in (
                local_instant(day + timedelta(days=offset), close, self.zone) - self.lead,
                local_instant(day + timedelta(days=offset), self.config.reopen, self.zone),
                local_instant(day + timedelta(days=offset), MIDNIGHT, self.zone),
            )
        )
        since = max((e for e in edges if e <= now), default=now)
        until = min((e for e in edges if e > now), default=now)
        return since, until

    def _closed(self, now: datetime, close: time) -> bool:
        """From ``lead`` before ``close`` on a trading day until the next session opens."""
        local = now.astimezone(self.zone)
        day = local.date()
        # Today's flatten time; a session that opened yesterday evening closes today.
        flatten_at = local_instant(day, close, self.zone) - self.lead
        opens_today = local_instant(day, self.config.reopen, self.zone)
        if flatten_at <= now < opens_today and day.weekday() not in (5, 6):
            return True
        # The weekend and a closed evening: no session open since the last close.
        return not self._in_session(now)

    def _in_session(self, now: datetime) -> bool:
        """Inside a session: after an evening open (Sun-Thu) and before the next day's close."""
        local = now.astimezone(self.zone)
        day = local.date()
        opened_today = local_instant(day, self.config.reopen, self.zone)
        if now >= opened_today:
            return day.weekday() in SESSION_DAYS
        yesterday = day - timedelta(days=1)
        return yesterday.weekday() in SESSION_DAYS

    def next_open(self, now: datetime) -> datetime:
        day = now.astimezone(self.zone).date()
        for offset in range(8):
            candidate = day + timedelta(days=offset)
            if candidate.weekday() not in SESSION_DAYS:
                continue
            opens = local_instant(candidate, self.config.reopen, self.zone)
            if opens > now:
                return opens
        return now + timedelta(days=1)

    def _tz(self, now: datetime) -> str:
        return now.astimezone(self.zone).tzname() or self.config.timezone
