"""RULE-014: the Topstep Maximum Loss Limit, guarded with a buffer before Topstep acts.

Topstep checks equity (balance + open P&L) against the trailing floor in real time and fails
the account the moment it is touched; fills slip, so the guard flattens, cancels and locks for
the day when the distance falls to ``buffer``. It judges on every quote. With a position not
priced yet, or no balance known, no decision is taken (the dashboard says why). Warnings come
as the distance falls to each ``warn_at`` amount, once a trading day each, and only nearer:
a warning told uses up the farther ones for the day.
"""

from __future__ import annotations

from core.config.rules import MaxLossGuard
from core.domain.events import (
    AccountEvent,
    ClockTick,
    MarketTradeEvent,
    PositionEvent,
    QuoteEvent,
    Recheck,
)
from core.domain.words import money
from core.engine.rules.base import EPSILON, Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind

Watched = QuoteEvent | MarketTradeEvent | PositionEvent | AccountEvent | ClockTick | Recheck


class MaxLossGuardRule(Rule[MaxLossGuard]):
    rule_id = "RULE-014"
    key = "max_loss_guard"
    watches = frozenset(
        {QuoteEvent, MarketTradeEvent, PositionEvent, AccountEvent, ClockTick, Recheck}
    )

    def __init__(self, config: MaxLossGuard) -> None:
        super().__init__(config)
        # Read once: evaluate runs on every quote of every guarded account.
        self._buffer, self._share = config.buffer, config.buffer_share
        self._nearest_first = tuple(reversed(config.warn_at))

    def evaluate(self, ctx: RuleContext, event: Watched) -> list[Breach]:
        plans = ctx.plans
        if plans is None:
            return []
        floor = plans.floor(ctx.account)
        if floor is None:
            return []  # no plan and no floor typed in: nothing to guard
        balance = ctx.account.settled_balance(ctx.now)
        if balance is None:
            return []
        open_pnl = ctx.account_open_pnl()
        if open_pnl is None:
            return []  # a position without a price: no guess
        distance = balance + open_pnl - floor.value
        buffer = max(self._buffer, self._share * floor.mll_amount)
        if distance > buffer + EPSILON:
            for n, amount in enumerate(self._nearest_first):
                if distance <= amount + EPSILON:
                    reason = (
                        f"{money(distance)} from the Maximum Loss Limit floor "
                        f"{money(floor.value)}; the guard acts at {money(buffer)}"
                    )
                    # The farther warnings are used up with it: after "$480 from the floor",
                    # "$870 from the floor" would be news of nothing.
                    return [self.warn(ctx, reason, amount, self._nearest_first[n + 1:])]
            return []
        reason = (
            f"equity {money(balance + open_pnl)} is {money(distance)} from the Maximum Loss "
            f"Limit floor {money(floor.value)} (buffer {money(buffer)}): flat for the day"
        )
        lock = LockRequest(LockKind.HARD, ctx.calendar.next_reset(ctx.now))
        return [self.breach(ctx, reason, self.flatten(ctx, reason), lock=lock)]
