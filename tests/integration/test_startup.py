"""Starting up: with the gateway not there yet, and with credentials it refuses."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from core.app.credentials import Credentials
from core.app.service import RiskService
from core.gateway.errors import AuthError
from core.gateway.ratelimit import RetryPolicy
from core.gateway.rest import GatewayRest
from core.sim.server import DEMO_USERNAME
from tests.integration.support import (
    ACCT,
    BUY,
    HUB_OPTIONS,
    MNQ,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    free_port,
    make_sim,
    rules_for,
    until,
    wired,
)


def quick_rest(url: str, credentials: Credentials) -> GatewayRest:
    return GatewayRest(url, credentials.username, credentials.api_key,
                       retry=RetryPolicy(max_attempts=2, base_delay=0.05))


async def test_start_keeps_trying_until_the_gateway_is_there(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.app.service")
    sim = make_sim(free_port())  # its address is known; nothing listens there yet
    cfg = wired(rules_for(max_contracts={"limit": 2}), sim)
    service = RiskService(
        cfg, demo_credentials(), data_dir=tmp_path / "data", tick_interval=TICK_INTERVAL,
        hub_options=HUB_OPTIONS, startup_backoff=(0.1,),
        rest_factory=lambda: quick_rest(cfg.gateway.api_url, demo_credentials()),
    )
    h = Harness(sim, service, tmp_path / "data")
    starting = asyncio.ensure_future(service.start())
    try:
        await until(lambda: len([r for r in caplog.records if "cannot reach" in r.message]) >= 2,
                    "start() to retry an unreachable gateway")
        assert not starting.done()
        await sim.start()
        await asyncio.wait_for(starting, 15.0)
        await service.wait_protected(10.0)
        h.market(MNQ, BUY, 3)
        await until(lambda: h.net(MNQ) == 2, "protection once the gateway came up")
    finally:
        starting.cancel()
        await asyncio.wait_for(service.stop(), 15.0)
        await sim.stop()


async def test_refused_credentials_fail_the_start_at_once(tmp_path: Path) -> None:
    sim = make_sim()
    await sim.start()
    wrong = Credentials(DEMO_USERNAME, "not-the-demo-key")
    service = RiskService(
        wired(rules_for(max_contracts={"limit": 2}), sim), wrong, data_dir=tmp_path / "data",
        tick_interval=TICK_INTERVAL, hub_options=HUB_OPTIONS,
    )
    try:
        with pytest.raises(AuthError):
            await asyncio.wait_for(service.start(), 15.0)
        assert ACCT not in service.status
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
        await sim.stop()


async def test_start_unless_gives_up_when_asked_to_stop(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="core.app.service")
    sim = make_sim(free_port())  # never started: the gateway stays unreachable
    cfg = wired(rules_for(max_contracts={"limit": 2}), sim)
    service = RiskService(
        cfg, demo_credentials(), data_dir=tmp_path / "data", tick_interval=TICK_INTERVAL,
        hub_options=HUB_OPTIONS, startup_backoff=(0.1,),
        rest_factory=lambda: quick_rest(cfg.gateway.api_url, demo_credentials()),
    )
    quit_requested = asyncio.Event()
    starting = asyncio.ensure_future(service.start_unless(quit_requested))
    try:
        await until(lambda: any("cannot reach" in r.message for r in caplog.records),
                    "start() to be retrying")
        quit_requested.set()
        assert await asyncio.wait_for(starting, 10.0) is False
    finally:
        await asyncio.wait_for(service.stop(), 15.0)
    assert all(task.done() for task in service._tasks)


async def test_a_waiting_loosening_reaches_the_engine_at_the_reset(tmp_path: Path) -> None:
    """The settings window's deferred change is applied by the running service, not the GUI."""
    from datetime import UTC, datetime, timedelta

    from core.app.config_manager import ConfigManager, ProposalStatus
    from core.app.credentials import Credentials
    from core.app.service import RiskService
    from core.config.io import save_config
    from core.domain.clock import ManualClock
    from core.sim.server import DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
    from tests.builders import config

    clock = ManualClock(datetime(2026, 8, 19, 15, 0, tzinfo=UTC))  # Wed 10:00 CDT
    async with SimulatedGateway(market_interval=None) as sim:
        tight = config({"daily_realized_loss": {"limit": 500}}).model_copy(
            update={"gateway": config().gateway.model_copy(update={
                "api_url": sim.base_url, "user_hub_url": sim.user_hub_url,
                "market_hub_url": sim.market_hub_url})})
        path = tmp_path / "config.toml"
        save_config(tight, path)
        manager = ConfigManager(path, clock=clock, config=tight)
        service = RiskService(tight, Credentials(DEMO_USERNAME, DEMO_API_KEY), data_dir=tmp_path,
                              clock=clock, tick_interval=0.02, config_manager=manager)
        try:
            await service.start()
            loose = tight.model_copy(update={"rules": tight.rules.model_copy(update={
                "daily_realized_loss": tight.rules.daily_realized_loss.model_copy(update={"limit": 800.0})})})
            assert manager.propose(loose).status is ProposalStatus.DEFERRED
            await asyncio.sleep(0.1)
            assert service.engine.config.rules.daily_realized_loss.limit == 500  # not before
            clock.set(datetime(2026, 8, 19, 22, 0, tzinfo=UTC) + timedelta(seconds=1))  # 17:00 CDT
            for _ in range(100):
                if service.engine.config.rules.daily_realized_loss.limit == 800:
                    break
                await asyncio.sleep(0.02)
            assert service.engine.config.rules.daily_realized_loss.limit == 800
        finally:
            await service.stop()
