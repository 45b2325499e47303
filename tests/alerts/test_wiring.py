"""start_alerts on a real RiskService against the simulated gateway: a real lock reaches the
local stand-in for Discord, and a settings change switches a service on without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.app.alerts import start_alerts
from core.app.config_manager import ConfigManager
from core.app.service import RiskService
from core.config.io import save_config
from core.engine.notices import LockSet
from core.sim.server import SimulatedGateway
from tests.alerts.support import AlertServer, secrets_for, until
from tests.builders import config
from tests.integration.support import (
    ACCT,
    HUB_OPTIONS,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    make_sim,
    wired,
)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedGateway]:
    gateway = make_sim()
    await gateway.start()
    yield gateway
    await gateway.stop()


def _service(sim: SimulatedGateway, server: AlertServer, tmp_path: Path,
             manager: ConfigManager | None = None) -> RiskService:
    cfg = wired(
        config(
            {"daily_realized_loss": {"limit": 500}},
            general={"accounts": [ACCT]},
            alerts={"discord": {"enabled": True}},
        ),
        sim,
    )
    return RiskService(
        cfg, demo_credentials(), data_dir=tmp_path / "data", tick_interval=TICK_INTERVAL,
        reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS, config_manager=manager,
    )


async def test_a_real_lock_reaches_discord_in_the_traders_words(
    sim: SimulatedGateway, server: AlertServer, tmp_path: Path
) -> None:
    service = _service(sim, server, tmp_path)
    alerts = start_alerts(service, secrets_for(server), gather=0.0, timeout=2.0)
    harness = Harness(sim, service, tmp_path / "data")
    try:
        await service.start()
        await service.wait_protected(10.0)
        await harness.realize_loss(300.0)  # MNQ is $2 a point: -$600 against a $500 limit
        await until(lambda: harness.of(LockSet), "the daily loss lock")
        await until(lambda: server.requests, "the Discord alert")
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
        await alerts.stop()
    content = server.requests[0].json()["content"]
    assert "locked: Daily loss limit" in content
    assert f"({ACCT})" in content  # the account, named as the gateway names it
    assert "RULE-" not in content


async def test_switching_a_service_on_in_the_settings_applies_without_a_restart(
    sim: SimulatedGateway, server: AlertServer, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    initial = wired(config({"daily_realized_loss": {"limit": 500}},
                           general={"accounts": [ACCT]}), sim)
    save_config(initial, path)
    manager = ConfigManager(path, config=initial)
    service = _service(sim, server, tmp_path, manager)
    service.config = initial  # nothing switched on yet
    alerts = start_alerts(service, secrets_for(server), gather=0.0, timeout=2.0)
    try:
        await service.start()
        await service.wait_protected(10.0)
        assert alerts.dispatcher.channels == {}
        wanted = initial.model_copy(
            update={"alerts": config(alerts={"ntfy": {"enabled": True,
                                                      "server_url": server.base_url}}).alerts}
        )
        manager.propose(wanted)
        assert set(alerts.dispatcher.channels) == {"ntfy"}
        harness = Harness(sim, service, tmp_path / "data")
        await harness.realize_loss(300.0)
        await until(lambda: server.requests, "the ntfy alert")
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
        await alerts.stop()
    assert "Daily loss limit" in server.requests[0].headers["Title"]
