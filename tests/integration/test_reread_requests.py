"""An update the app cannot apply as it stands is re-read over REST, never guessed: a position
never seen pushed without its side or price, and an impossible value (a negative size) that
names its account. The simulated gateway sends both over the real user hub; the position they
describe exists on its exchange, but the stream that announced it was lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from core.sim.server import SimulatedGateway
from tests.integration.conftest import StartService
from tests.integration.support import ACCT, BUY, MES, MNQ, until


@contextmanager
def stream_lost(sim: SimulatedGateway) -> Iterator[None]:
    """The exchange's user events never reach the hub meanwhile (a lost stream)."""
    listener = sim.user_hub.push_user_event
    sim.exchange._listeners.remove(listener)
    try:
        yield
    finally:
        sim.exchange.subscribe(listener)


async def test_a_position_pushed_without_side_or_price_is_read_over_rest(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    h = await start_service(max_contracts={"limit": 2})
    mirror = h.service.engine.mirror.account(ACCT)
    with stream_lost(sim):
        h.market(MES, BUY, 3)  # over the limit, and the app saw nothing
    await asyncio.sleep(0.2)
    assert MES not in mirror.positions
    # The gateway's partial update: size only, no type, no average price.
    sim.push_user_event("GatewayUserPosition", {"accountId": ACCT, "contractId": MES, "size": 3})
    await until(lambda: MES in mirror.positions, "the position read over REST")
    position = mirror.positions[MES]
    # Long, with the gateway's price (the excess may already be on its way out).
    assert position.signed_size > 0 and position.average_price > 0
    # Now known, it is judged: 3 contracts against a limit of 2.
    await until(lambda: h.net(MES) == 2, "the excess contract to be closed")


async def test_an_impossible_value_naming_its_account_is_read_over_rest(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    h = await start_service(max_contracts={"limit": 5})
    mirror = h.service.engine.mirror.account(ACCT)
    with stream_lost(sim):
        h.market(MNQ, BUY, 2)
    sim.push_user_event("GatewayUserPosition", {
        "accountId": ACCT, "contractId": MNQ, "type": 1, "size": -7, "averagePrice": 21000.0})
    await until(lambda: MNQ in mirror.positions, "the position read over REST")
    assert mirror.positions[MNQ].signed_size == 2  # the gateway's answer, never the -7


async def test_a_burst_of_bad_updates_is_one_reread(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    h = await start_service(max_contracts={"limit": 5})
    mirror = h.service.engine.mirror.account(ACCT)
    before = sim.rest.requests
    for _ in range(30):
        sim.push_user_event("GatewayUserOrder", {"accountId": ACCT, "id": 1, "contractId": MNQ,
                                                 "status": 1, "side": 0, "size": -1})
    await asyncio.sleep(1.0)
    # One re-read (the account list, positions, orders, trades) for thirty bad pushes.
    assert 3 <= sim.rest.requests - before <= 8
    assert mirror.orders == {}
    assert h.service.status[ACCT] == "protected"
