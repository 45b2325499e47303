"""The PC's clock moved past the reset while the app was stopped, and the gateway cannot be
reached at the restart: the app's time is then only this computer's, so no lock ends and no
trading day starts until the gateway has said what time it is. Then it follows the gateway."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.app.service import RiskService
from core.domain.clock import GatewayClock
from core.engine.notices import DailyReset, LockCleared, LockSet
from tests.integration.support import (
    ACCT,
    HUB_OPTIONS,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    free_port,
    lock_rows,
    make_sim,
    rules_for,
    until,
    wired,
)
from tests.integration.test_pc_clock_moved import PcWallClock


async def test_a_moved_pc_clock_ends_no_lock_and_starts_no_day_until_the_gateway_answers(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    sim = make_sim(port)
    await sim.start()
    cfg = wired(rules_for(daily_realized_loss={"limit": 50}), sim)

    def service(clock: GatewayClock) -> RiskService:
        return RiskService(cfg, demo_credentials(), data_dir=data_dir, clock=clock,
                           tick_interval=TICK_INTERVAL, reconcile_interval=NO_PERIODIC_RECONCILE,
                           hub_options=HUB_OPTIONS, startup_backoff=(0.1,))

    first = service(GatewayClock())
    try:
        await first.start()
        await first.wait_protected(10.0)
        h = Harness(sim, first, data_dir)
        await h.realize_loss(40)  # −$80 against $50
        [lock_set] = await until(lambda: h.of(LockSet), "the daily-loss lock")
    finally:
        await asyncio.wait_for(first.stop(), 15.0)
        await sim.stop()
    until_reset = lock_set.lock.until
    assert until_reset is not None

    # The trader moves the PC's clock a day past the reset; the gateway is unreachable.
    wall = PcWallClock()
    wall.moved = until_reset - datetime.now(UTC) + timedelta(days=1)
    clock = GatewayClock(wall=wall)
    second = service(clock)
    seen: list[Any] = []
    second.bus.subscribe(seen.append)
    starting = asyncio.create_task(second.start())
    try:
        await until(lambda: hasattr(second, "engine") and second.engine.lockouts.all_locks(),
                    "the lock restored from the state file")
        await asyncio.sleep(30 * TICK_INTERVAL)  # a good many ticks on the moved clock
        assert not clock.anchored and clock.now() > until_reset
        assert [n for n in seen if isinstance(n, LockCleared | DailyReset)] == []
        assert second.engine.lockouts.get(ACCT, "RULE-003") is not None
        assert [r["rule_id"] for r in lock_rows(data_dir / "state.db")] == ["RULE-003"]

        back = make_sim(port)  # the gateway answers again: its time is the real one
        await back.start()
        try:
            await asyncio.wait_for(starting, 20.0)
            await second.wait_protected(10.0)
            await asyncio.sleep(20 * TICK_INTERVAL)
            assert clock.anchored and clock.now() < until_reset
            assert [n for n in seen if isinstance(n, LockCleared | DailyReset)] == []
            assert second.engine.lockouts.hard_lock(ACCT, clock.now()) is not None
        finally:
            await asyncio.wait_for(second.stop(), 15.0)
            await back.stop()
    finally:
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting
        await asyncio.wait_for(second.stop(), 15.0)
