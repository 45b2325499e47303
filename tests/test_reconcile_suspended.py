"""Reconcile sees suspended bracket children through Order/v2/query, as live shows them, and
falls back to Order/searchOpen on a gateway without it; over real loopback HTTP to the sim."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.enforcement.reconcile import reconcile_account
from core.gateway.rest import GatewayRest
from core.sim import DEMO_API_KEY, DEMO_USERNAME, Bracket, SimAccount, SimulatedGateway
from tests.builders import ACCOUNT, MNQ, config, make_engine
from tests.sim.support import Clock

LIMIT, STOP = 1, 4
BUY = 0


async def no_wait(delay: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    gateway = SimulatedGateway(now=Clock(), market_interval=None, ping_interval=None,
                               accounts=[SimAccount(ACCOUNT, "PRAC-V2-RECONCILE", 50_000.0)])
    await gateway.start()
    gateway.set_market_price(MNQ, 21000.0)
    yield gateway
    await gateway.stop()


@pytest.fixture
async def rest(gw: SimulatedGateway) -> AsyncIterator[GatewayRest]:
    client = GatewayRest(gw.base_url, DEMO_USERNAME, DEMO_API_KEY, sleep=no_wait)
    await client.login()
    yield client
    await client.aclose()


def bracketed_entry(gw: SimulatedGateway) -> tuple[int, list[int]]:
    placed = gw.exchange.place_order(
        ACCOUNT, MNQ, LIMIT, BUY, 1, limit_price=20900.0, custom_tag="away",
        stop_loss_bracket=Bracket(-20, STOP), take_profit_bracket=Bracket(40, LIMIT))
    assert placed.success and placed.order_id is not None
    children = [o.id for o in gw.exchange.orders(ACCOUNT) if o.parent_id == placed.order_id]
    assert len(children) == 2
    return placed.order_id, children


async def test_working_orders_and_search_by_id_include_suspended_children(
    gw: SimulatedGateway, rest: GatewayRest
) -> None:
    entry, children = bracketed_entry(gw)
    assert [o.order_id for o in await rest.open_orders(ACCOUNT)] == [entry]
    working = await rest.working_orders(ACCOUNT)
    assert working.complete and working.with_suspended
    assert {o.order_id: o.status for o in working.orders} == {
        entry: 1, children[0]: 8, children[1]: 8}
    child = await rest.order(ACCOUNT, children[0])
    assert child is not None and child.status == 8 and child.parent_order_id == entry
    assert await rest.order(ACCOUNT, 42) is None


async def test_reconcile_learns_and_forgets_suspended_children_placed_while_away(
    gw: SimulatedGateway, rest: GatewayRest
) -> None:
    engine, _, _ = make_engine(config())
    entry, children = bracketed_entry(gw)  # placed while the app was not listening
    await reconcile_account(rest, engine, ACCOUNT)
    mirror = engine.mirror.account(ACCOUNT)
    assert {i: o.status for i, o in mirror.orders.items()} == {
        entry: 1, children[0]: 8, children[1]: 8}

    assert gw.exchange.cancel_order(ACCOUNT, entry).success  # its children go with it, unseen
    await reconcile_account(rest, engine, ACCOUNT)
    assert engine.mirror.account(ACCOUNT).orders == {}


async def test_a_gateway_without_v2_query_falls_back_to_search_open(
    gw: SimulatedGateway, rest: GatewayRest
) -> None:
    engine, _, _ = make_engine(config())
    entry, children = bracketed_entry(gw)
    await reconcile_account(rest, engine, ACCOUNT)  # learns the children over v2/query
    gw.inject_rest_failures(404, count=1, path="Order/v2/query")
    working = await rest.working_orders(ACCOUNT)
    assert not working.with_suspended and [o.order_id for o in working.orders] == [entry]
    # Once shown the endpoint is missing, the client does not ask again.
    gw.inject_rest_failures(500, count=1, path="Order/v2/query")
    assert not (await rest.working_orders(ACCOUNT)).with_suspended
    gw.clear_faults()
    # searchOpen cannot show suspended children, so their absence there removes nothing.
    await reconcile_account(rest, engine, ACCOUNT)
    assert set(engine.mirror.account(ACCOUNT).orders) == {entry, *children}
