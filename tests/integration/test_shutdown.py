"""service.stop(): returns, whatever state the connection is in, and leaves nothing running."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from core.app.service import RiskService
from core.engine.notices import HubStatusChanged
from core.sim.server import SimulatedGateway
from tests.integration.support import (
    BUY,
    HUB_OPTIONS,
    MNQ,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    make_sim,
    rules_for,
    until,
    wired,
)

STOP_LIMIT = 10.0  # a hang guard, not a speed assertion


def make_service(sim: SimulatedGateway, data_dir: Path) -> RiskService:
    return RiskService(
        wired(rules_for(max_contracts={"limit": 2}), sim),
        demo_credentials(),
        data_dir=data_dir,
        tick_interval=TICK_INTERVAL,
        reconcile_interval=NO_PERIODIC_RECONCILE,
        hub_options=HUB_OPTIONS,
    )


def foreign_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]


async def busy_session(tmp_path: Path) -> tuple[RiskService, Harness]:
    """A session that did some work: protected, a breach enforced; then stopped (and the sim)."""
    sim = make_sim()
    await sim.start()
    service = make_service(sim, tmp_path / "data")
    h = Harness(sim, service, tmp_path / "data")
    try:
        await service.start()
        await service.wait_protected(10.0)
        h.market(MNQ, BUY, 4)
        await until(lambda: h.net(MNQ) == 2, "the reduction")
        await asyncio.wait_for(service.stop(), STOP_LIMIT)
    finally:
        await asyncio.wait_for(service.stop(), STOP_LIMIT)  # idempotent
        await sim.stop()
    return service, h


async def test_stop_returns_and_leaves_no_threads(tmp_path: Path) -> None:
    threads_before = set(threading.enumerate())
    service, h = await busy_session(tmp_path)
    assert all(task.done() for task in service._tasks)
    assert [n.state for n in h.of(HubStatusChanged)][-2:] == ["stopped", "stopped"]
    # Worker threads wind down on their own once stop() returned; nothing may keep running.
    await until(lambda: not foreign_threads(threads_before), "non-daemon threads to end", 5.0)


async def test_stop_leaves_no_tasks(tmp_path: Path) -> None:
    # (Hub._watch used to leave its ensure_future(_rebuild.wait()) waiter behind on stop.)
    before = set(asyncio.all_tasks())
    await busy_session(tmp_path)

    def leftovers() -> set[asyncio.Task[Any]]:
        return {t for t in asyncio.all_tasks() - before if not t.done()} - {asyncio.current_task()}

    with contextlib.suppress(AssertionError):
        await until(lambda: not leftovers(), "every task to end", 2.0)
    assert not leftovers(), [repr(t.get_coro()) for t in leftovers()]


async def test_stop_returns_while_the_gateway_is_unreachable(tmp_path: Path) -> None:
    sim = make_sim()
    await sim.start()
    service = make_service(sim, tmp_path / "data")
    try:
        await service.start()
        await service.wait_protected(10.0)
    finally:
        await sim.stop()  # the network goes: the hubs are now reconnecting into a void
    await until(lambda: service.status and all(s != "protected" for s in service.status.values()),
                "the service to notice the outage")
    await asyncio.wait_for(service.stop(), STOP_LIMIT)
    assert all(task.done() for task in service._tasks)


async def test_stop_before_start_and_twice_is_harmless(tmp_path: Path) -> None:
    sim = make_sim()
    service = make_service(sim, tmp_path / "data")
    await asyncio.wait_for(service.stop(), STOP_LIMIT)
    await asyncio.wait_for(service.stop(), STOP_LIMIT)
