"""With no limit enabled nothing is enforced: the log never calls such an account "protected".

The tray shows "No limit enabled: nothing is enforced" as its own state, worse than protected;
the headless log says the same in its words when the account connects, and says it again when
a config coming into force changes it (a limit enabled in Settings at once, the last limit
switched off at the reset).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.app.config_manager import ConfigManager, ProposalStatus
from core.app.notice_log import NoticeLog
from core.app.service import RiskService
from core.config.io import save_config
from core.domain.clock import ManualClock
from core.sim.server import SimulatedGateway
from tests.builders import config
from tests.integration.support import (
    ACCT,
    HUB_OPTIONS,
    TICK_INTERVAL,
    config_toml,
    demo_credentials,
    start_headless,
    until,
    wired,
)

NOTHING = "connected, but no limit is enabled: nothing is enforced"


def account_lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records
            if r.name == "riskmanager" and r.getMessage().startswith(f"account {ACCT} ")]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
async def test_headless_says_nothing_is_enforced_until_a_limit_is_enabled(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    path = tmp_path / "config.toml"
    path.write_text(config_toml(sim, data_dir, {}))  # every rule off
    first = await start_headless(tmp_path, path)
    try:
        line = await first.expect(f"account {ACCT}", NOTHING)
        assert "WARNING" in line
        assert await first.signal(signal.SIGTERM) == 0
    finally:
        await first.kill()
    assert not [line for line in first.lines if str(ACCT) in line and "protected" in line]

    # The trader enables the daily loss limit in the file: a tightening, in force at the start.
    path.write_text(config_toml(sim, data_dir, {"daily_realized_loss": {"limit": 500}}))
    second = await start_headless(tmp_path, path)
    try:
        await second.expect(f"account {ACCT}", "protected")
        assert await second.signal(signal.SIGTERM) == 0
    finally:
        await second.kill()
    assert not any(NOTHING in line for line in second.lines)


async def test_the_log_follows_the_config_in_force_while_running(
    sim: SimulatedGateway, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="riskmanager")
    clock = ManualClock(datetime(2026, 8, 19, 15, 0, tzinfo=UTC))  # Wed 10:00 CDT
    none_on = wired(config(general={"accounts": [ACCT]}), sim)
    path = tmp_path / "config.toml"
    save_config(none_on, path)
    manager = ConfigManager(path, clock=clock, config=none_on)
    service = RiskService(none_on, demo_credentials(), data_dir=tmp_path / "data", clock=clock,
                          tick_interval=TICK_INTERVAL, hub_options=HUB_OPTIONS,
                          config_manager=manager)
    notices = NoticeLog(service.bus, enforces_anything=service.enforces_anything)
    try:
        await service.start()
        await service.wait_protected(10.0)
        assert account_lines(caplog.records)[-1] == f"account {ACCT} (PRAC-V2-DEMO-13370001) {NOTHING}"

        # Settings enable the daily loss limit: a tightening, in force at once.
        loss_on = wired(config({"daily_realized_loss": {"limit": 500}},
                               general={"accounts": [ACCT]}), sim)
        assert manager.propose(loss_on).status is ProposalStatus.APPLIED
        assert account_lines(caplog.records)[-1] == (
            f"account {ACCT} (PRAC-V2-DEMO-13370001) protected: a limit is enabled now")

        # Switching it off again loosens: nothing changes before the reset, then it is said.
        assert manager.propose(none_on).status is ProposalStatus.DEFERRED
        await asyncio.sleep(0.1)
        assert NOTHING not in account_lines(caplog.records)[-1]
        clock.set(datetime(2026, 8, 19, 22, 0, tzinfo=UTC) + timedelta(seconds=1))  # 17:00 CDT
        await until(lambda: NOTHING in account_lines(caplog.records)[-1],
                    "the log to say nothing is enforced after the reset")
        assert not service.engine.config.rules.daily_realized_loss.enabled
    finally:
        notices.close()
        await asyncio.wait_for(service.stop(), 15.0)
