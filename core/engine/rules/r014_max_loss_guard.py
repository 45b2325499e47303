"""RULE-014: the Topstep Maximum Loss Limit, guarded with a buffer before Topstep acts.

Topstep checks equity (balance + open P&L) against the trailing floor in real time and fails
the account the moment it is touched; fills slip, so the guard flattens, cancels and locks for
the day when the distance falls to ``buffer``. It judges on every quote. With a position not
priced yet, or no balance known, no decision is taken (the dashboard says why). Warnings come
as the distance falls to each ``warn_at`` amount, once a trading day each, and only nearer:
a warning told uses up the farther ones for the day.

After a fill, the balance the app holds comes from pushes that may belong to another fill or be
lost (two closes a moment apart, a position push that never came). So equity is also read a
second way, from the last balance read over REST plus what came since
(:mod:`core.modules.since_read`; a range while the read may or may not hold a close). When the
two agree, the guard acts at once; when they disagree about the buffer, it asks for the account
over REST (the whole of it: positions too) and judges again with the read. While REST answers
(any account's read comes back) it waits up to ``ANSWERED_WAIT``; with REST silent, after
``READ_WAIT`` and a close's moment it acts on the reading that says the buffer is reached: a
guard that never acts is worse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

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
from core.modules.mirror import AccountMirror
from core.modules.unbooked import BALANCE_SETTLES

# How long the guard waits for a balance read it asked for before acting without one.
READ_WAIT = timedelta(seconds=5)
# While REST answers (any account's read came back since the ask) but the readings still
# disagree (a close in doubt, several accounts read one after another), it waits this long.
ANSWERED_WAIT = timedelta(seconds=20)
# And how often it asks again meanwhile (the re-reader serves requests that arrive together once).
ASK_EVERY = timedelta(seconds=1)

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
        self._last_ask: dict[int, datetime] = {}  # account → when a read was last asked for

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
        account = ctx.account
        at_buffer = distance <= buffer + EPSILON
        unread = ""
        if account.balance_confirmed():
            self._stop_waiting(account)
        else:
            # Pushes since the last read: the other reading (the read's balance and what came
            # since, a range while the read may or may not hold a close) must agree before
            # anything is done; else the account is read again.
            read = account.read_reading()
            read_low = None if read is None else read[0] + open_pnl - floor.value
            read_high = None if read is None else read[1] + open_pnl - floor.value
            if at_buffer:
                agree = read_high is not None and read_high <= buffer + EPSILON
            else:
                agree = read_low is None or read_low > buffer + EPSILON
            if not agree:
                account.balance_check_calm_since = None
                if self._wait_for_read(ctx):
                    return []
                unread = " (the balance could not be read again after the last fill)"
                if not at_buffer and read is not None and read_low is not None:
                    balance, distance, at_buffer = read[0], read_low, True
            elif at_buffer or account.balance_check_asked_at is None:
                self._stop_waiting(account)
            else:
                # Both say the buffer is not reached, for now: a price swinging around it must
                # not restart the wait each time, so the wait ends only after a calm READ_WAIT.
                calm = account.balance_check_calm_since
                if calm is None:
                    account.balance_check_calm_since = ctx.now
                elif ctx.now - calm >= READ_WAIT:
                    self._stop_waiting(account)
        if not at_buffer:
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
            f"Limit floor {money(floor.value)} (buffer {money(buffer)}): flat for the day{unread}"
        )
        lock = LockRequest(LockKind.HARD, ctx.calendar.next_reset(ctx.now))
        return [self.breach(ctx, reason, self.flatten(ctx, reason), lock=lock)]

    def _wait_for_read(self, ctx: RuleContext) -> bool:
        """True while a read that settles the readings may still come (asked for every
        second; a close may leave the first one unsure, so the wait allows for a second)."""
        account, now, ask = ctx.account, ctx.now, ctx.ask_reread
        if ask is None:
            return False  # nothing can read (a snapshot): the readings are all there is
        asked = account.balance_check_asked_at
        if asked is None:
            asked = account.balance_check_asked_at = now
        answered = ctx.rest_answered_at()  # any account's: the re-reader serves them in turn
        rest_answers = answered is not None and answered > asked
        if now - asked >= (ANSWERED_WAIT if rest_answers else READ_WAIT + BALANCE_SETTLES):
            return False
        booked = account.since_read.surely_booked_at()
        if booked is not None and now < booked and now - asked < BALANCE_SETTLES:
            return True  # a read sent now could not say whether it holds the last close
        last = self._last_ask.get(account.account_id)
        if last is None or now - last >= ASK_EVERY or now < last:
            self._last_ask[account.account_id] = now
            ask("the Maximum Loss Limit guard needs the balance after a fill")
        return True

    @staticmethod
    def _stop_waiting(account: AccountMirror) -> None:
        account.balance_check_asked_at = None
        account.balance_check_calm_since = None
