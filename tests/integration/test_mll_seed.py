"""The first run for a Topstep Combine the app has never seen: its trailing Maximum Loss Limit
floor is rebuilt from the gateway's trade history, as if the app had watched every reset.

The simulated exchange trades on a clock the test moves back: a good day a month ago, a bad
one three weeks ago, then today. The service starts with no MLL record and reads the history
one trading day at a time over ``Trade/search``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.app.service import RiskService
from core.sim.models import SimAccount
from core.sim.server import SimulatedGateway
from tests.builders import config
from tests.integration.support import (
    BUY,
    HUB_OPTIONS,
    MARKET,
    MNQ,
    NO_PERIODIC_RECONCILE,
    SELL,
    TICK_INTERVAL,
    demo_credentials,
    until,
    wired,
)

COMBINE = 20_000_042


class ExchangeTime:
    def __init__(self) -> None:
        self.back = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) - self.back


@pytest.fixture
async def history() -> AsyncIterator[tuple[SimulatedGateway, ExchangeTime]]:
    when = ExchangeTime()
    sim = SimulatedGateway(now=when, accounts=[SimAccount(COMBINE, "50KTC-V2-TEST-42", 50_000.0)],
                           market_interval=None, ping_interval=0.5, client_timeout=5.0)
    await sim.start()
    yield sim, when
    await sim.stop()


def round_trip(sim: SimulatedGateway, points: float) -> float:
    """Buy one MNQ, move the market, sell: returns the balance after it."""
    start = sim.market.last_price(MNQ)
    assert sim.exchange.place_order(COMBINE, MNQ, MARKET, BUY, 1).success
    sim.set_market_price(MNQ, start + points)
    assert sim.exchange.place_order(COMBINE, MNQ, MARKET, SELL, 1).success
    sim.set_market_price(MNQ, start)
    return sim.exchange.accounts[COMBINE].balance


async def test_the_floor_of_a_new_combine_is_rebuilt_from_its_trade_history(
    history: tuple[SimulatedGateway, ExchangeTime], tmp_path: Path
) -> None:
    sim, when = history
    when.back = timedelta(days=30)
    high = round_trip(sim, 400)  # +$800 a month ago: the highest end of day
    when.back = timedelta(days=20)
    round_trip(sim, -200)  # −$400 three weeks ago
    when.back = timedelta()
    assert high > 50_700

    cfg = wired(config({"max_loss_guard": {}}, general={"accounts": [COMBINE]}), sim)
    service = RiskService(
        cfg, demo_credentials(), data_dir=tmp_path / "data", tick_interval=TICK_INTERVAL,
        reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS, mll_seed_pause=0.0,
    )
    try:
        await service.start()
        await service.wait_protected(10.0)
        record = await until(
            lambda: (r := service.engine.mll.record(COMBINE)) is not None and r.eod_high is not None
            and r, "the floor rebuilt from the history")
        assert record.plan_id.startswith("50K")
        assert record.eod_high == pytest.approx(high)
        assert record.floor == pytest.approx(high - 2_000)  # 50K Combine: MLL $2,000
        assert record.eod_balance == pytest.approx(sim.exchange.accounts[COMBINE].balance)
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
    # Durable: a restart reads it back and does not seed again.
    again = RiskService(
        cfg, demo_credentials(), data_dir=tmp_path / "data", tick_interval=TICK_INTERVAL,
        reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS,
    )
    try:
        await again.start()
        await again.wait_protected(10.0)
        restored = again.engine.mll.record(COMBINE)
        assert restored is not None and restored.eod_high == pytest.approx(high)
    finally:
        await asyncio.wait_for(again.stop(), 15.0)


async def test_the_history_is_read_one_trading_day_at_a_time(
    history: tuple[SimulatedGateway, ExchangeTime],
) -> None:
    from core.app.mll_seed import DAYS, end_of_day_balances, fetch_trades
    from core.domain.trading_day import TradingCalendar
    from core.gateway.rest import GatewayRest

    sim, when = history
    when.back = timedelta(days=10)
    after_first = round_trip(sim, 100)
    when.back = timedelta()
    calendar = TradingCalendar(datetime(2026, 1, 1, 17).time(), "America/Chicago")
    now = datetime.now(UTC)
    today = calendar.trading_day(now)
    first_day = today - timedelta(days=DAYS)
    creds = demo_credentials()
    rest = GatewayRest(sim.base_url, creds.username, creds.api_key)
    try:
        await rest.login()
        before = sim.rest.requests
        trades = await fetch_trades(rest, COMBINE, calendar, first_day, now, pause=0.0)
        searches = sim.rest.requests - before
    finally:
        await rest.aclose()
    # A day per request, weekends joined to Friday: about 5 of every 7 days.
    assert DAYS * 5 // 7 - 2 <= searches <= DAYS + 1
    assert len(trades) == 2
    balances = end_of_day_balances(trades, sim.exchange.accounts[COMBINE].balance, calendar,
                                   today, first_day)
    assert balances[0][0] == first_day - timedelta(days=1) and balances[-1][0] < today
    assert balances[0][1] == pytest.approx(50_000)
    assert max(b for _, b in balances) == pytest.approx(after_first)
