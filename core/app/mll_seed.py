"""The trailing Maximum Loss Limit floor kept up to date with every ended trading day, from
the account's trade history, as if the app had watched every daily reset.

The floor trails the highest end-of-day balance, and an Express Funded Account's scaling tier
is read off the last one. Two kinds of account miss end-of-day balances: one the app has never
seen (it may have weeks of history), and one whose reset passed while the app was off (a PC
switched off overnight: the reset runs at the next start, when the balance is another day's).
For both, the gateway's ``Trade/search`` is read one trading day at a time over the days
missed (at most the last :data:`DAYS`; the weekend joins Friday's window, and the REST
session's limiter keeps the reads inside the gateway's budget, behind any enforcement call),
and each trading day's end balance is worked out backwards from the account's balance now:
the balance at the end of a day is today's balance less the net P&L of every trade since.
Those balances, oldest first, go to :meth:`MllTracker.catch_up`; then the guard and the size
rule judge the account at once on what they now know. Until then the dashboard says the floor
may be behind and the size rule holds to the plan's maximum.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.domain.events import AccountEvent, TradeEvent
from core.domain.trading_day import TradingCalendar
from core.domain.words import money
from core.engine.engine import Engine
from core.engine.notices import DailyReset
from core.gateway.rest import GatewayRest
from core.replay.fetch import search_windows

log = logging.getLogger("core.app.service")

DAYS = 60
PAUSE = 0.25  # seconds between day reads: the rebuild is never in a hurry
RETRY_AFTER = (10.0, 60.0, 300.0)  # seconds before each new try after a failed read
# Judged again once the history is in: the floor may have risen, the tier become known.
REJUDGED = ("max_loss_guard", "plan_position_size")


def needs_rebuild(engine: Engine, accounts: Sequence[AccountEvent]) -> list[AccountEvent]:
    """The accounts with a Topstep plan whose record has not taken in every ended trading day:
    never seen (no end of day at all) or a reset missed while the app was off."""
    today = engine.calendar.trading_day(engine.clock.now())
    out = []
    for account in accounts:
        mirror = engine.mirror.account(account.account_id)
        if account.name:
            mirror.name = account.name
        if engine.plans.plan(mirror) is not None and engine.plans.resets_missed(mirror, today) != 0:
            out.append(account)
    return out


def end_of_day_balances(
    trades: Sequence[TradeEvent], balance_now: float, calendar: TradingCalendar,
    today: date, first_day: date,
) -> list[tuple[date, float]]:
    """Each trading day's end balance, oldest first, from ``first_day`` − 1 to yesterday.

    Days without a trade end where the day before did; the day before the window is included
    (its balance is the window's start), since its high may be the one that counts."""
    by_day: dict[date, Decimal] = {}
    for trade in trades:
        day = calendar.trading_day(trade.created_at)
        by_day[day] = by_day.get(day, Decimal(0)) + trade.net_pnl
    balance = Decimal(str(balance_now))
    out: list[tuple[date, float]] = []
    day = today
    while day >= first_day:
        balance -= by_day.get(day, Decimal(0))  # the end of the day before this one
        day -= timedelta(days=1)
        if day < today:
            out.append((day, float(balance)))
    return sorted(out)


async def fetch_trades(
    rest: GatewayRest, account_id: int, calendar: TradingCalendar, first_day: date, end: datetime,
    pause: float = PAUSE,
) -> list[TradeEvent]:
    """``Trade/search`` one trading day at a time (weekends joined to Friday)."""
    starts = [calendar.day_start(first_day + timedelta(days=n))
              for n in range((calendar.trading_day(end) - first_day).days + 1)]
    trades: dict[int, TradeEvent] = {}
    for ws, we in search_windows([*starts, end]):
        for trade in await rest.trades(account_id, ws, we):
            if ws <= trade.created_at < we:
                trades[trade.trade_id] = trade
        await asyncio.sleep(pause)
    return sorted(trades.values(), key=lambda t: (t.created_at, t.trade_id))


async def rebuild_mll(engine: Engine, rest: GatewayRest, account_id: int, balance: float,
                      days: int = DAYS, pause: float = PAUSE) -> None:
    """Take in the end-of-day balances the account's record is missing (all of the last
    ``days`` for an account never seen), from its history and its ``balance`` now."""
    now = engine.clock.now()
    calendar = engine.calendar
    today = calendar.trading_day(now)
    mirror = engine.mirror.account(account_id)
    record = engine.plans.record(mirror)
    if record is None:
        return
    since = record.eod_day
    first_day = today - timedelta(days=days)
    if since is not None:
        first_day = max(first_day, since + timedelta(days=1))
    if first_day >= today:
        return  # nothing ended that it has not taken in
    trades = await fetch_trades(rest, account_id, calendar, first_day, now, pause)
    balances = end_of_day_balances(trades, balance, calendar, today, first_day)
    rebuilt = engine.mll.catch_up(account_id, balances, since)
    if rebuilt is None:
        return
    log.info(
        "account %s: loss-limit floor brought up to date from %s of trade history: highest end "
        "of day %s, floor %s", account_id,
        f"{(today - first_day).days} days" if since is not None else f"{days} days",
        money(rebuilt.eod_high or 0.0), money(rebuilt.floor),
    )
    # What the floor and the scaling tier now say is judged at once, not at the next event.
    engine.recheck(account_id, only=REJUDGED)


class MllRebuild:
    """Keeps every protected Topstep account's floor up to date: at start-up (accounts never
    seen, resets missed while the app was off) and after any reset that could not take its day
    in (the PC asleep through it, no balance known then). A failed read is tried again later,
    until it succeeds; meanwhile the dashboard says the floor is behind."""

    def __init__(self, engine: Engine, rest: GatewayRest, spawn: Callable[[Any, str], None],
                 pause: float = PAUSE, retry_after: Sequence[float] = RETRY_AFTER) -> None:
        self.engine = engine
        self.rest = rest
        self._spawn = spawn
        self._pause = pause
        self._retry_after = tuple(retry_after) or RETRY_AFTER
        self._running: set[int] = set()

    def start(self, accounts: Sequence[AccountEvent]) -> None:
        for account in needs_rebuild(self.engine, accounts):
            self._launch(account.account_id, account.balance)
        self.engine.bus.subscribe(self._after_reset, DailyReset)

    def _after_reset(self, notice: DailyReset) -> None:
        mirror = self.engine.mirror.accounts.get(notice.account_id)
        if mirror is None or self.engine.plans.plan(mirror) is None:
            return
        if self.engine.plans.resets_missed(mirror, notice.trading_day) != 0:
            self._launch(notice.account_id, None)

    def _launch(self, account_id: int, balance: float | None) -> None:
        if account_id in self._running:
            return  # the run under way checks again when it is done
        self._running.add(account_id)
        self._spawn(self._run(account_id, balance), f"mll-rebuild-{account_id}")

    async def _run(self, account_id: int, balance: float | None) -> None:
        # The listed pauses, then the last one for as long as it takes: a floor behind Topstep's
        # is a guard acting too late, so the history is never given up on.
        delays = itertools.chain((0.0,), self._retry_after, itertools.repeat(self._retry_after[-1]))
        try:
            for tries, delay in enumerate(delays):
                if tries == len(self._retry_after) + 1:
                    log.warning("account %s: the loss-limit floor is still not up to date with "
                                "its trade history: it may be below Topstep's; trying again "
                                "every %.0f minutes", account_id, self._retry_after[-1] / 60)
                await asyncio.sleep(delay)
                try:
                    if balance is None:
                        balance = await self._balance_now(account_id)
                    await rebuild_mll(self.engine, self.rest, account_id, balance, pause=self._pause)
                except Exception as exc:
                    log.warning("account %s: the loss-limit floor could not be brought up to date "
                                "from its trade history (%s); trying again later", account_id, exc)
                else:
                    if not self._behind(account_id):
                        return
                balance = None  # the next try reads the balance afresh (a reset has passed)
        finally:
            self._running.discard(account_id)

    def _behind(self, account_id: int) -> bool:
        engine = self.engine
        today = engine.calendar.trading_day(engine.clock.now())
        return engine.plans.resets_missed(engine.mirror.account(account_id), today) != 0

    async def _balance_now(self, account_id: int) -> float:
        for account in await self.rest.accounts(only_active=True):
            if account.account_id == account_id and account.balance is not None:
                return account.balance
        raise LookupError("the gateway gave no balance for the account")
