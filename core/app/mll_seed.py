"""The first run for a Topstep account: its trailing Maximum Loss Limit floor rebuilt from its
trade history, as if the app had watched every daily reset.

The floor trails the highest end-of-day balance. An account the app has never seen (it has a
plan and no MLL record yet) may have weeks of history: the gateway's ``Trade/search`` is read
one trading day at a time over the last :data:`DAYS` days (the weekend joins Friday's window,
and the REST session's limiter keeps the reads inside the gateway's budget, behind any
enforcement call), and each trading day's end balance is worked out backwards from the
account's balance now: the balance at the end of a day is today's balance less the net P&L of
every trade since. Those balances, oldest first, go to :meth:`MllTracker.seed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.domain.events import AccountEvent, TradeEvent
from core.domain.trading_day import TradingCalendar
from core.engine.engine import Engine
from core.gateway.rest import GatewayRest
from core.replay.fetch import search_windows

log = logging.getLogger("core.app.service")

DAYS = 60
PAUSE = 0.25  # seconds between day reads: the seed is never in a hurry


def needs_seed(engine: Engine, accounts: Sequence[AccountEvent]) -> list[AccountEvent]:
    """The accounts with a Topstep plan that the MLL tracker has no record of yet. Call before
    anything asks for the floor (asking creates the record)."""
    out = []
    for account in accounts:
        if engine.mll.record(account.account_id) is not None:
            continue
        mirror = engine.mirror.account(account.account_id)
        if account.name:
            mirror.name = account.name
        if engine.plans.plan(mirror) is not None:
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


async def seed_mll(engine: Engine, rest: GatewayRest, account: AccountEvent,
                   days: int = DAYS, pause: float = PAUSE) -> None:
    """Rebuild the account's end-of-day highs and floor from its last ``days`` trading days."""
    if account.balance is None:
        log.warning("account %s: no balance from the gateway, so its loss-limit floor starts at "
                    "the plan's own", account.account_id)
        return
    now = engine.clock.now()
    calendar = engine.calendar
    today = calendar.trading_day(now)
    first_day = today - timedelta(days=days)
    trades = await fetch_trades(rest, account.account_id, calendar, first_day, now, pause)
    balances = end_of_day_balances(trades, account.balance, calendar, today, first_day)
    mirror = engine.mirror.account(account.account_id)
    record = engine.plans.record(mirror)
    if record is None:
        return
    if record.eod_day is not None and record.eod_balance is not None:
        # A reset ran while the history was read: its day is the latest, and stays so.
        balances = [(d, b) for d, b in balances if d < record.eod_day]
        balances.append((record.eod_day, record.eod_balance))
    seeded = engine.mll.seed(account.account_id, balances)
    if seeded is not None:
        log.info(
            "account %s: loss-limit floor rebuilt from %d days of trade history: highest end of "
            "day %.2f, floor %.2f", account.account_id, len(balances), seeded.eod_high or 0.0,
            seeded.floor,
        )


async def seed_all(engine: Engine, rest: GatewayRest, accounts: Sequence[AccountEvent],
                   pause: float = PAUSE) -> None:
    """:func:`seed_mll` for each account; a failure leaves that account at the plan's floor."""
    for account in accounts:
        try:
            await seed_mll(engine, rest, account, pause=pause)
        except Exception as exc:
            log.warning("account %s: the loss-limit floor could not be rebuilt from its trade "
                        "history (%s): it starts at the plan's own", account.account_id, exc)
