"""A broken or missing state file never leaves the trader unprotected: the real service, as the
app wires it (config in force in the vault, found through the anchor), against the simulated
gateway. The state file is damaged or deleted on disk between two runs, as a bad disk or a
trader would."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from core.app.anchor import Anchor
from core.app.autostart import XdgAutostart
from core.app.config_manager import open_config_manager
from core.app.service import RiskService
from core.app.state_notices import HISTORY_LOCK, StateRebuildDone, StateRebuilt
from core.config.io import load_config, save_config
from core.domain.clock import GatewayClock
from core.engine.notices import LockCleared, LockSet
from core.sim.server import SimulatedGateway
from tests.integration.support import (
    ACCT,
    BUY,
    HUB_OPTIONS,
    MES,
    MNQ,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    rules_for,
    until,
    wired,
)

Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def app(sim: SimulatedGateway, tmp_path: Path) -> AsyncIterator[Start]:
    running: list[RiskService] = []
    path = tmp_path / "config" / "config.toml"
    data_dir = tmp_path / "data"

    async def start(wait: bool = True, **rules: Any) -> Harness:
        if not path.exists():
            cfg = wired(rules_for(**rules), sim)
            cfg = cfg.model_copy(update={"general": cfg.general.model_copy(
                update={"data_dir": str(data_dir)})})
            save_config(cfg, path)
        clock = GatewayClock()
        manager = open_config_manager(
            path, load_config(path), clock=clock, anchor=Anchor(tmp_path / "anchor.json"),
            autostart_backend=XdgAutostart(tmp_path / "autostart"))
        service = RiskService(
            load_config(path), demo_credentials(), clock=clock, config_manager=manager,
            tick_interval=TICK_INTERVAL, reconcile_interval=NO_PERIODIC_RECONCILE,
            hub_options=HUB_OPTIONS, reread_backoff=(0.05, 0.1, 0.2),
        )
        harness = Harness(sim, service, data_dir)
        running.append(service)
        await service.start()
        if wait:
            await service.wait_protected(10.0)
        return harness

    async def stop(harness: Harness) -> None:
        running.remove(harness.service)
        await asyncio.wait_for(harness.service.stop(), 15.0)
        manager = harness.service.config_manager
        if manager is not None and manager.vault is not None:
            manager.vault.close()

    start.stop = stop  # type: ignore[attr-defined]
    yield start
    for service in running:
        await asyncio.wait_for(service.stop(), 15.0)


async def test_a_damaged_state_file_is_rebuilt_from_the_trade_history(
    app: Start, tmp_path: Path
) -> None:
    first = await app(daily_realized_loss={"limit": 50})
    await first.realize_loss(40)  # −$80: over the $50 limit
    await until(lambda: first.of(LockSet), "the daily-loss lock")
    await app.stop(first)  # type: ignore[attr-defined]
    db = tmp_path / "data" / "state.db"
    db.write_bytes(os.urandom(64 * 1024))  # the disk returns garbage

    second = await app()
    [rebuilt] = second.of(StateRebuilt)
    assert rebuilt.why == "damaged" and rebuilt.kept_as is not None and Path(rebuilt.kept_as).exists()
    engine = second.service.engine
    # Rebuilt from Trade/search: the day's loss and its lock, judged against the limit in force
    # (kept in the anchor, since the file that held it is gone).
    assert engine.config.rules.daily_realized_loss.limit == 50
    assert engine.lockouts.hard_lock(ACCT, engine.clock.now()) is not None
    assert engine.pnl.realized(ACCT, engine.calendar.trading_day(engine.clock.now())) < -50
    await until(lambda: second.of(StateRebuildDone), "the rebuild to be complete")
    assert [r["rule_id"] for r in second.lock_rows()] == ["RULE-003"]
    # And the lock works: a new position is closed at once.
    second.market(MES, BUY, 1)
    await until(lambda: second.net(MES) == 0, "the position opened under the lock to be closed")


async def test_a_deleted_state_file_without_trade_history_fails_closed(
    app: Start, sim: SimulatedGateway, tmp_path: Path
) -> None:
    first = await app(max_contracts={"limit": 10})
    first.market(MNQ, BUY, 2)  # open before the state file goes
    await until(lambda: MNQ in first.service.engine.mirror.account(ACCT).positions, "MNQ seen")
    await app.stop(first)  # type: ignore[attr-defined]
    for name in os.listdir(tmp_path / "data"):
        (tmp_path / "data" / name).unlink()
    sim.inject_rest_failures(500, count=10_000, path="Trade/search")  # no history to read

    second = await app(wait=False)
    await until(lambda: second.service.engine.lockouts.get(ACCT, HISTORY_LOCK), "entries closed")
    assert [n.why for n in second.of(StateRebuilt)] == ["missing"]
    assert second.service.status[ACCT] != "protected"  # shown as not protected
    await asyncio.sleep(20 * TICK_INTERVAL)
    assert second.service.status[ACCT] != "protected"
    second.market(MES, BUY, 1)  # a new entry
    await until(lambda: second.net(MES) == 0, "the new entry to be closed")
    second.market(MNQ, BUY, 1)  # adding to what was open
    await until(lambda: second.net(MNQ) == 2, "the added contract to be cut back")
    assert second.net(MNQ) == 2  # what was open before is left alone

    sim.clear_faults()  # the history can be read again
    await second.service.wait_protected(10.0)
    cleared = await until(
        lambda: [n for n in second.of(LockCleared) if n.lock.rule_id == HISTORY_LOCK],
        "the entries to open again")
    assert cleared[0].why == "trade history read"
    await until(lambda: second.of(StateRebuildDone), "the rebuild to be complete")
    second.market(MES, BUY, 1)
    await asyncio.sleep(20 * TICK_INTERVAL)
    assert second.net(MES) == 1  # entries are open again
