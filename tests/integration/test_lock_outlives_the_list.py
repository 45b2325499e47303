"""A lock, once set, protects its account until it ends, whatever the account list says: the
list in force may leave the account out (a loosening that came into force at a reset), and the
lock still closes what opens there. Once the lock ends, the account is left alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.app.service import RiskService
from core.domain.commands import CloseContract
from core.domain.events import AccountEvent
from core.engine.notices import LockSet
from core.sim.server import DEMO_COMBINE_ID, SimulatedGateway
from tests.builders import ACCOUNT, MNQ, config, make_engine, position
from tests.integration.support import (
    ACCT,
    BUY,
    HUB_OPTIONS,
    MES,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    lock_rows,
    rules_for,
    until,
    wired,
)


def test_the_engine_keeps_enforcing_a_lock_on_an_account_left_out_of_the_list() -> None:
    engine, _, port = make_engine(config({"auth_loss_guard": {}}, general={"accounts": [ACCOUNT]}))
    engine.handle(AccountEvent(ACCOUNT, can_trade=False))
    assert engine.lockouts.get(ACCOUNT, "RULE-010") is not None
    engine.apply_config(config({"auth_loss_guard": {}}, general={"accounts": [999]}))
    port.commands.clear()
    engine.handle(position(MNQ, 2, 21000.0))  # opened while the lock holds
    assert any(isinstance(c, CloseContract) for c in port.commands)
    engine.handle(AccountEvent(ACCOUNT, can_trade=True))  # the lock ends...
    assert engine.lockouts.get(ACCOUNT, "RULE-010") is None
    port.commands.clear()
    engine.handle(position(MES, 3, 6000.0))  # ...and the list in force decides again
    assert port.commands == []


async def test_a_restart_with_the_account_off_the_list_still_protects_it_while_locked(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"

    def service(accounts: list[int]) -> RiskService:
        cfg = wired(rules_for(daily_realized_loss={"limit": 50}), sim)
        cfg = cfg.model_copy(update={"general": cfg.general.model_copy(update={"accounts": accounts})})
        return RiskService(cfg, demo_credentials(), data_dir=data_dir, tick_interval=TICK_INTERVAL,
                           reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS)

    first = service([ACCT])
    try:
        await first.start()
        await first.wait_protected(10.0)
        h = Harness(sim, first, data_dir)
        await h.realize_loss(40)
        await until(lambda: h.of(LockSet), "the daily-loss lock")
    finally:
        await asyncio.wait_for(first.stop(), 15.0)
    assert [r["account_id"] for r in lock_rows(data_dir / "state.db")] == [ACCT]

    second = service([DEMO_COMBINE_ID])  # the list in force leaves the locked account out
    h = Harness(sim, second, data_dir)
    try:
        await second.start()
        await second.wait_protected(10.0)
        assert set(second.status) == {ACCT, DEMO_COMBINE_ID}
        h.market(MES, BUY, 1)
        await until(lambda: h.net(MES) == 0, "the position opened under the lock to be closed")
    finally:
        await asyncio.wait_for(second.stop(), 15.0)
