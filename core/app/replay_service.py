"""Where a replay's history comes from, for the command line and the "What if…" window alike:
the trader's account over the gateway, files, or a generated demo month served by the
simulated gateway (fetched over REST like a real account, so the demo runs the real client).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from core.app.credentials import Credentials
from core.app.demo_month import MonthClock, generate_month, month_bounds
from core.app.words import gateway_failure
from core.config.io import load_config
from core.config.models import AppConfig
from core.domain.holidays import HolidayCalendarError, load_holidays
from core.domain.trading_day import TradingCalendar
from core.gateway.errors import GatewayRestError
from core.gateway.ratelimit import RateLimiter
from core.gateway.rest import GatewayRest
from core.modules.contracts import Contract
from core.replay.fetch import fetch_input
from core.replay.files import read_bars, read_contracts, read_orders, read_trades
from core.replay.inputs import Bar, InputError, ReplayInput, sorted_trades
from core.replay.report import ReplayReport
from core.replay.run import Candidate, replay_report
from core.sim.models import load_contracts
from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway

log = logging.getLogger(__name__)

MAX_DAYS = 93  # a quarter: longer asks the gateway for more history than a replay needs
DEMO_DAYS = 28


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def bounds(self, calendar: TradingCalendar) -> tuple[datetime, datetime]:
        return calendar.day_start(self.first), calendar.day_end(self.last)


def check_range(first: date, last: date, *, today: date | None = None) -> DayRange:
    if first > last:
        raise InputError(f"--from {first} is after --to {last}: the range is empty")
    if (last - first).days + 1 > MAX_DAYS:
        raise InputError(f"--from {first} to --to {last} is {(last - first).days + 1} days; "
                         f"a replay covers at most {MAX_DAYS}")
    if today is not None and first > today:
        raise InputError(f"--from {first} is in the future (today's trading day is {today})")
    return DayRange(first, last)


def calendar_of(config: AppConfig) -> TradingCalendar:
    return TradingCalendar(config.general.reset_time, config.general.timezone)


def holidays() -> frozenset[date]:
    try:
        return load_holidays()
    except HolidayCalendarError:
        return frozenset()  # the replay then trades on holidays; RULE-009 is the only reader


def candidates_from(paths: Sequence[Path]) -> list[Candidate]:
    """One candidate per config file, named by its file name (made unique)."""
    out: list[Candidate] = []
    names: set[str] = set()
    for path in paths:
        name = path.name
        if name in names:
            name = str(path)
        names.add(name)
        out.append(Candidate(name, load_config(path)))
    return out


def demo_range(today: date) -> DayRange:
    """Four weeks ending with the last weekday before today."""
    last = today - timedelta(days=1)
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return DayRange(last - timedelta(days=DEMO_DAYS - 1), last)


# --- sources ------------------------------------------------------------------------------------


def replay_limiter() -> RateLimiter:
    """A replay's own budget: at most 100 requests a minute and 20 bar requests per 30 s, half
    the gateway's 200 and under its 50, so the risk manager running beside it keeps its share.
    A month is about 50 requests (a day's trades and orders each, weekends joined)."""
    return RateLimiter(clock=time.monotonic, sleep=asyncio.sleep, limit=100, window=60.0, reserve=0,
                       bars_limit=20, bars_window=30.0)


async def gateway_input(config: AppConfig, credentials: Credentials, account_id: int | None,
                        days: DayRange, calendar: TradingCalendar) -> ReplayInput:
    rest = GatewayRest(config.gateway.api_url, credentials.username, credentials.api_key,
                       limiter=replay_limiter())
    try:
        if account_id is None:
            account_id = await choose_account(rest, config)
        start, end = days.bounds(calendar)
        return await fetch_input(rest, account_id, start, end,
                                 [calendar.day_start(d) for d in days.days()])
    finally:
        await rest.aclose()


async def choose_account(rest: GatewayRest, config: AppConfig) -> int:
    accounts = await rest.accounts(only_active=True)
    listed = set(config.general.accounts)
    pool = [a for a in accounts if not listed or a.account_id in listed]
    if len(pool) == 1:
        return pool[0].account_id
    if not pool:
        raise InputError("no active account to replay: name one with --account")
    names = ", ".join(f"{a.account_id} ({a.name})" if a.name else str(a.account_id) for a in pool)
    raise InputError(f"several accounts could be replayed: choose one with --account ({names})")


def file_input(trades: Path, *, bars: Path | None, orders: Path | None, contracts: Path | None,
               account_id: int | None, days: DayRange | None,
               calendar: TradingCalendar) -> tuple[ReplayInput, DayRange]:
    found = read_trades(trades, account_id)
    if not found:
        raise InputError(f"the trades file {trades} holds no trades")
    accounts = sorted({t.account_id for t in found})
    if account_id is None:
        if len(accounts) > 1:
            raise InputError(f"the trades file {trades} holds several accounts "
                             f"({', '.join(map(str, accounts))}): choose one with --account")
        account_id = accounts[0]
    mine = sorted_trades(t for t in found if t.account_id == account_id)
    if not mine:
        raise InputError(f"the trades file {trades} holds no trades of account {account_id}")
    if days is None:
        days = check_range(calendar.trading_day(mine[0].created_at),
                           calendar.trading_day(mine[-1].created_at))
    start, end = days.bounds(calendar)
    specs = read_contracts(contracts) if contracts is not None else bundled_contracts()
    data = ReplayInput(
        account_id=account_id, start=start, end=end,
        trades=tuple(t for t in mine if start <= t.created_at < end),
        orders=tuple(o for o in read_orders(orders) if o.account_id == account_id)
        if orders is not None else None,
        bars=read_bars(bars) if bars is not None else None,
        contracts=specs,
        source=f"the trades file {trades.name}",
        price_source=f"one-minute bars from {bars.name}" if bars is not None
        else "your fills alone (no bars file was given)",
    )
    return data, days


def bundled_contracts() -> dict[str, Contract]:
    """The contract list shipped with the app (the live Contract/available list): tick sizes
    and values for traders replaying files offline."""
    return {c.id: Contract.from_gateway(c.payload()) for c in load_contracts()}


async def demo_input(days: DayRange, *, seed: int = 7, fills_per_day: int = 20) -> ReplayInput:
    """Generate the month into a simulated gateway, serve it on 127.0.0.1 and fetch it back
    over REST as for a real account. Generating takes a second or two of CPU: call it where
    that stalls nothing (the command line, or the What-if worker)."""
    gateway, start, end = _demo_gateway(days, seed, fills_per_day)
    await gateway.start()
    try:
        rest = GatewayRest(gateway.base_url, DEMO_USERNAME, DEMO_API_KEY)
        try:
            # Search windows need only tile the range: a day each from the month's start.
            windows = [start + timedelta(days=i) for i in range(len(days.days()))]
            data = await fetch_input(rest, DEMO_ACCOUNT_ID, start, end, windows)
        finally:
            await rest.aclose()
    finally:
        await gateway.stop()
    return replace(
        data,
        source="a generated demo month on the simulated gateway (Trade/search, Order/search)",
        price_source="generated one-minute bars (History/retrieveBars on the simulated gateway)",
    )


def _demo_gateway(days: DayRange, seed: int, fills_per_day: int) -> tuple[SimulatedGateway, datetime, datetime]:
    start, end = month_bounds(days.first, days.last)
    clock = MonthClock(start)
    gateway = SimulatedGateway(now=clock.now, market_interval=None, ping_interval=None,
                               client_timeout=None, bars_rate_limit=(10_000, 30.0))
    month = generate_month(days.first, days.last, seed=seed, fills_per_day=fills_per_day,
                           exchange=gateway.exchange, clock=clock)
    gateway.rest.bar_source = MonthBars(month.bars)
    return gateway, start, end


class MonthBars:
    """The generated month behind the simulator's ``History/retrieveBars`` (its own bars are a
    walk back from the live price, not a month that matches the trades)."""

    def __init__(self, bars: Mapping[str, tuple[Bar, ...]]) -> None:
        self.bars = bars
        self._starts = {c: [b.start for b in bs] for c, bs in bars.items()}

    def __call__(
        self, contract_id: str, start: datetime, end: datetime, limit: int
    ) -> list[dict[str, Any]]:
        bars = self.bars.get(contract_id, ())
        starts = self._starts.get(contract_id, [])
        chosen = bars[bisect.bisect_left(starts, start):bisect.bisect_left(starts, end)]
        return [
            {"t": b.start.isoformat(), "o": b.open, "h": b.high, "l": b.low, "c": b.close, "v": b.volume}
            for b in reversed(chosen[-limit:])  # newest first, as the gateway answers
        ]


# --- the whole what-if, for the GUI ----------------------------------------------------------


@dataclass(frozen=True)
class WhatIfSource:
    """Where the "What if…" window reads history: the trader's account, or the demo month."""

    config: AppConfig
    credentials: Credentials | None = None
    demo: bool = False
    account_id: int | None = None


@dataclass(frozen=True)
class WhatIfRequest:
    source: WhatIfSource
    candidates: tuple[Candidate, ...]
    days: DayRange
    slippage_ticks: int = 1


class WhatIfError(Exception):
    """Why a what-if could not run, in words (it crosses a process boundary as plain text)."""


def what_if_report(request: WhatIfRequest) -> ReplayReport:
    """Gather and replay, start to end, on its own event loop: meant for a worker process,
    where neither the fetching nor seconds of CPU can delay the app's enforcing loop."""
    try:
        return asyncio.run(_what_if(request))
    except GatewayRestError as exc:
        log.warning("what if: %s", exc)
        raise WhatIfError(f"could not read your history: {gateway_failure(exc)}") from None
    except (InputError, OSError) as exc:
        raise WhatIfError(str(exc)) from None


async def _what_if(request: WhatIfRequest) -> ReplayReport:
    source, days = request.source, request.days
    first = request.candidates[0].config if request.candidates else source.config
    if source.demo:
        data = await demo_input(days)
    elif source.credentials is not None:
        data = await gateway_input(source.config, source.credentials, source.account_id, days,
                                   calendar_of(first))
    else:
        raise InputError("no account to replay: the app has no credentials")
    return replay_report(data, request.candidates, first_day=days.first, last_day=days.last,
                         slippage_ticks=request.slippage_ticks, holidays=holidays())


async def run_what_if(source: WhatIfSource, candidates: Sequence[Candidate], days: DayRange,
                      *, slippage_ticks: int = 1, executor: Executor | None = None) -> ReplayReport:
    """The whole what-if on ``executor`` (a process pool in the app: see gui/what_if.py)."""
    request = WhatIfRequest(source, tuple(candidates), days, slippage_ticks)
    return await asyncio.get_running_loop().run_in_executor(executor, what_if_report, request)
