from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from core.app.service import RiskService
from core.sim.server import SimulatedGateway
from tests.integration.support import (
    HUB_OPTIONS,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    make_sim,
    rules_for,
    wired,
)

StartService = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedGateway]:
    gateway = make_sim()
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def start_service(sim: SimulatedGateway, tmp_path: Path) -> AsyncIterator[StartService]:
    """``await start_service(max_contracts={"limit": 2})``: a started service, protected."""
    started: list[RiskService] = []

    async def start(
        *, reconcile_interval: float = NO_PERIODIC_RECONCILE, wait: bool = True, **rules: dict[str, Any]
    ) -> Harness:
        data_dir = tmp_path / f"data{len(started)}"
        service = RiskService(
            wired(rules_for(**rules), sim),
            demo_credentials(),
            data_dir=data_dir,
            tick_interval=TICK_INTERVAL,
            reconcile_interval=reconcile_interval,
            hub_options=HUB_OPTIONS,
        )
        harness = Harness(sim, service, data_dir)
        started.append(service)
        await service.start()
        if wait:
            await service.wait_protected(10.0)
        return harness

    yield start
    for service in started:
        await asyncio.wait_for(service.stop(), 15.0)


@pytest.fixture
async def harness(start_service: StartService) -> Harness:
    """The usual set-up: RULE-001 at 2 contracts, protected and ready."""
    return await start_service(max_contracts={"limit": 2})
