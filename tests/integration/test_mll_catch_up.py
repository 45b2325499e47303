"""The daily reset passes while the app is off (a PC switched off overnight, the usual case):
Topstep's Maximum Loss Limit floor trailed that day's end-of-day balance, and an Express
Funded Account's scaling tier moved with it (reference ``topstep-rules.md``). On the next start
the app brings both up to date from the gateway's trade history before trusting them.

The simulated exchange and the app share one clock the test sets to chosen Chicago times, so
a trading day can end while the app is stopped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

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
from tests.rules.support import ct

COMBINE = 20_000_043
EXPRESS = 20_000_044
ES = "CON.F.US.EP.U26"  # $50 a point


class SharedClock:
    """Wall time moved to a chosen instant and running on from there: the exchange's and the
    app's "now" alike."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def at(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def now(self) -> datetime:
        return self()

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[SimulatedGateway, SharedClock]]:
    clock = SharedClock()
    clock.at(ct(2026, 8, 18, 15, 0))
    sim = SimulatedGateway(
        now=clock, accounts=[SimAccount(COMBINE, "50KTC-V2-TEST-43", 50_000.0),
                             SimAccount(EXPRESS, "EXPRESS-TEST-44", 50_000.0)],
        market_interval=None, ping_interval=0.5, client_timeout=5.0)
    await sim.start()
    yield sim, clock
    await sim.stop()


def round_trip(sim: SimulatedGateway, account_id: int, contract_id: str, points: float,
               size: int = 1) -> float:
    """Buy, move the market, sell (on the trader's own platform): the balance after it."""
    start = sim.market.last_price(contract_id)
    assert sim.exchange.place_order(account_id, contract_id, MARKET, BUY, size).success
    sim.set_market_price(contract_id, start + points)
    assert sim.exchange.place_order(account_id, contract_id, MARKET, SELL, size).success
    sim.set_market_price(contract_id, start)
    return sim.exchange.accounts[account_id].balance


def service_for(sim: SimulatedGateway, clock: SharedClock, data_dir: Path,
                accounts: list[int], extra: dict[str, Any] | None = None) -> RiskService:
    cfg = config({"max_loss_guard": {"buffer": 250, "warn_at": []}, "plan_position_size": {}},
                 general={"accounts": accounts}, **(extra or {}))
    return RiskService(
        wired(cfg, sim), demo_credentials(), data_dir=data_dir, clock=clock,
        tick_interval=TICK_INTERVAL, reconcile_interval=NO_PERIODIC_RECONCILE,
        hub_options=HUB_OPTIONS, mll_seed_pause=0.0,
    )


async def test_a_reset_missed_overnight_trails_the_floor_at_the_next_start(
    exchange: tuple[SimulatedGateway, SharedClock], tmp_path: Path
) -> None:
    sim, clock = exchange
    data = tmp_path / "data"
    # Tuesday: the app runs; a +$500 round trip; the app is switched off at 16:30 CT, before
    # the 17:00 reset. Topstep's floor after Tuesday: Tuesday's end balance − $2,000.
    first = service_for(sim, clock, data, [COMBINE])
    try:
        await first.start()
        await first.wait_protected(10.0)
        await until(lambda: (r := first.engine.mll.record(COMBINE)) is not None
                    and r.eod_day == date(2026, 8, 17), "the first history read")
        tuesday_end = round_trip(sim, COMBINE, MNQ, 250)  # +$500 less fees
        mirror = first.engine.mirror.account(COMBINE)
        await until(lambda: mirror.balance == tuesday_end, "the balance after the round trip")
        clock.at(ct(2026, 8, 18, 16, 30))
    finally:
        await asyncio.wait_for(first.stop(), 15.0)
    assert first.engine.mll.record(COMBINE).floor == 48_000.0  # type: ignore[union-attr]

    # Wednesday 09:00 CT, the app still off: −$200 traded elsewhere. Started again at 10:00.
    clock.at(ct(2026, 8, 19, 9, 0))
    round_trip(sim, COMBINE, MNQ, -100)
    clock.at(ct(2026, 8, 19, 10, 0))
    again = service_for(sim, clock, data, [COMBINE])
    try:
        await again.start()
        await again.wait_protected(10.0)
        engine = again.engine
        record = await until(lambda: (r := engine.mll.record(COMBINE)) is not None
                             and r.eod_day == date(2026, 8, 18) and r, "Tuesday taken in")
        assert record.eod_balance == pytest.approx(tuesday_end)
        assert record.floor == pytest.approx(tuesday_end - 2_000)
        # The guard acts on that floor: equity $200 above it (and $700 above the stale one).
        assert sim.exchange.place_order(COMBINE, MNQ, MARKET, BUY, 4).success
        mirror = engine.mirror.account(COMBINE)
        await until(lambda: MNQ in mirror.positions, "the position")
        balance = sim.exchange.accounts[COMBINE].balance
        loss = balance - (record.floor + 200)  # 4 MNQ: $8 a point
        entry = mirror.positions[MNQ].average_price
        sim.set_market_price(MNQ, entry - round(loss / 8 * 4) / 4)
        await until(lambda: engine.lockouts.get(COMBINE, "RULE-014"), "the guard's lock")
        await until(lambda: not sim.exchange.position(COMBINE, MNQ)
                    or sim.exchange.position(COMBINE, MNQ).net == 0, "flat")  # type: ignore[union-attr]
    finally:
        await asyncio.wait_for(again.stop(), 15.0)


async def test_an_express_account_s_tier_is_judged_once_its_end_of_day_is_read(
    exchange: tuple[SimulatedGateway, SharedClock], tmp_path: Path
) -> None:
    sim, clock = exchange
    # Tuesday: +$1,600 on the Express Funded Account (3 lots from Wednesday on). Wednesday
    # 09:00 CT the trader holds 4 ES; the app starts at 09:30 with no record of the account.
    clock.at(ct(2026, 8, 18, 11, 0))
    round_trip(sim, EXPRESS, ES, 32.5)  # +$1,625 less fees
    clock.at(ct(2026, 8, 19, 9, 0))
    assert sim.exchange.place_order(EXPRESS, ES, MARKET, BUY, 4).success
    clock.at(ct(2026, 8, 19, 9, 30))
    service = service_for(sim, clock, tmp_path / "data", [EXPRESS],
                          {"accounts": {str(EXPRESS): {"plan": "50K-express"}}})
    try:
        await service.start()
        await service.wait_protected(10.0)
        await until(lambda: (r := service.engine.mll.record(EXPRESS)) is not None
                    and r.eod_day == date(2026, 8, 18), "Tuesday's end of day read")
        # Read, the tier is judged at once: 3 lots, the newest contract cut.
        await until(lambda: sim.exchange.position(EXPRESS, ES).net == 3,  # type: ignore[union-attr]
                    "the position cut to the tier")
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
