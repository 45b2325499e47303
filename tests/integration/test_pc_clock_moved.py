"""A trader moves the PC's clock past the daily reset while a daily-loss lock holds: the app
runs on the gateway's time, so the lock stays and no new trading day starts. The real service
against the simulated gateway; the PC's wall clock is a fake the test moves."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.app.service import RiskService
from core.domain.clock import Clock, GatewayClock
from core.engine.notices import DailyReset, LockCleared, LockSet
from core.sim.server import SimulatedGateway
from tests.integration.support import (
    ACCT,
    HUB_OPTIONS,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    rules_for,
    until,
    wired,
)


class PcWallClock:
    """The PC's wall clock, which the trader can move."""

    def __init__(self) -> None:
        self.moved = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.moved


class PcClock:
    """A clock that believes the PC (the behaviour the review attacked), for the control run."""

    def __init__(self, wall: PcWallClock) -> None:
        self._wall = wall

    def now(self) -> datetime:
        return self._wall()

    def monotonic(self) -> float:
        return time.monotonic()


@pytest.fixture
async def started(
    sim: SimulatedGateway, tmp_path: Path
) -> AsyncIterator[Callable[[Clock], asyncio.Future[Harness]]]:
    services: list[RiskService] = []

    async def start(clock: Clock) -> Harness:
        data_dir = tmp_path / f"data{len(services)}"
        service = RiskService(
            wired(rules_for(daily_realized_loss={"limit": 50}), sim), demo_credentials(),
            data_dir=data_dir, clock=clock,
            tick_interval=TICK_INTERVAL, reconcile_interval=NO_PERIODIC_RECONCILE,
            hub_options=HUB_OPTIONS,
        )
        services.append(service)
        await service.start()
        await service.wait_protected(10.0)
        return Harness(sim, service, data_dir)

    yield start  # type: ignore[misc]
    for service in services:
        await asyncio.wait_for(service.stop(), 15.0)


async def lock_then_move_the_pc_past_the_reset(h: Harness, wall: PcWallClock) -> None:
    await h.realize_loss(40)  # −$80 and fees, over the $50 limit
    [lock_set] = await until(lambda: h.of(LockSet), "the daily-loss lock")
    assert lock_set.lock.rule_id == "RULE-003" and lock_set.lock.until is not None
    wall.moved = lock_set.lock.until - datetime.now(UTC) + timedelta(minutes=1)
    await asyncio.sleep(20 * TICK_INTERVAL)  # a score of ticks on the moved clock


async def test_moving_the_pc_clock_past_the_reset_neither_ends_the_lock_nor_the_day(
    started: Callable[[Clock], asyncio.Future[Harness]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="core.domain.clock")
    wall = PcWallClock()
    clock = GatewayClock(wall=wall)
    h = await started(clock)
    assert clock.anchored  # the sim's REST answers carry a Date
    engine = h.service.engine
    day = engine.calendar.trading_day(clock.now())
    await lock_then_move_the_pc_past_the_reset(h, wall)
    assert h.of(LockCleared) == [] and h.of(DailyReset) == []
    assert engine.lockouts.hard_lock(ACCT, clock.now()) is not None
    assert engine.calendar.trading_day(clock.now()) == day
    assert any("ahead of the gateway" in r.getMessage() for r in caplog.records)
    assert [r["rule_id"] for r in h.lock_rows()] == ["RULE-003"]


async def test_control_a_clock_that_believes_the_pc_is_fooled(
    started: Callable[[Clock], asyncio.Future[Harness]],
) -> None:
    """The same attack on a clock that reads the PC: the lock ends. (Shows the attack works.)"""
    wall = PcWallClock()
    h = await started(PcClock(wall))
    await lock_then_move_the_pc_past_the_reset(h, wall)
    await until(lambda: h.of(LockCleared), "the lock lifted by the moved PC clock")


async def test_a_pc_clock_moved_while_the_app_was_stopped_does_not_end_the_lock_at_restart(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"

    def service(clock: Clock) -> RiskService:
        return RiskService(
            wired(rules_for(daily_realized_loss={"limit": 50}), sim), demo_credentials(),
            data_dir=data_dir, clock=clock, tick_interval=TICK_INTERVAL,
            reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS,
        )

    first = service(GatewayClock())
    await first.start()
    try:
        await first.wait_protected(10.0)
        h = Harness(sim, first, data_dir)
        await h.realize_loss(40)
        [lock_set] = await until(lambda: h.of(LockSet), "the daily-loss lock")
    finally:
        await asyncio.wait_for(first.stop(), 15.0)
    assert lock_set.lock.until is not None
    wall = PcWallClock()
    wall.moved = lock_set.lock.until - datetime.now(UTC) + timedelta(minutes=1)
    second = service(GatewayClock(wall=wall))
    h = Harness(sim, second, data_dir)
    await second.start()
    try:
        await second.wait_protected(10.0)
        await asyncio.sleep(10 * TICK_INTERVAL)
        assert h.of(LockCleared) == [] and h.of(DailyReset) == []
        assert second.engine.lockouts.hard_lock(ACCT, second.clock.now()) is not None
    finally:
        await asyncio.wait_for(second.stop(), 15.0)
