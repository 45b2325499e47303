from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest

from core.sim import DEMO_ACCOUNT_ID, SimulatedGateway
from tests.sim.support import RawHub, SignalRCoreClient, fixture

MNQ = "CON.F.US.MNQ.U26"
USER_TARGETS = ("GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade",
                "GatewayUserAccount")


@pytest.fixture
async def gw() -> AsyncIterator[SimulatedGateway]:
    gateway = SimulatedGateway(market_interval=None, ping_interval=None)
    await gateway.start()
    yield gateway
    await gateway.stop()


async def place_market(gw: SimulatedGateway, token: str, size: int = 1) -> int:
    async with httpx.AsyncClient(base_url=gw.base_url) as http:
        reply = await http.post("/api/Order/place", headers={"Authorization": f"Bearer {token}"},
                                json={"accountId": DEMO_ACCOUNT_ID, "contractId": MNQ,
                                      "type": 2, "side": 0, "size": size})
    order_id: int = reply.json()["orderId"]
    return order_id


async def test_upgrade_needs_a_valid_token(gw: SimulatedGateway) -> None:
    for token in (None, "bogus"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await RawHub.connect(gw.user_hub_url, token)
        assert refused.value.status == 401
    token = gw.issue_token()
    by_header = await RawHub.connect(gw.market_hub_url, token, header=True)
    await by_header.close()
    gw.expire_tokens()
    with pytest.raises(aiohttp.WSServerHandshakeError) as expired:
        await RawHub.connect(gw.user_hub_url, token)
    assert expired.value.status == 401
    async with aiohttp.ClientSession() as session:
        negotiate = await session.post(gw.user_hub_url + "/negotiate?negotiateVersion=1",
                                       headers={"Authorization": f"Bearer {gw.issue_token()}"})
        assert (await negotiate.json())["availableTransports"][0]["transport"] == "WebSockets"


async def test_handshake_must_ask_for_json(gw: SimulatedGateway) -> None:
    hub = await RawHub.connect(gw.user_hub_url, gw.issue_token(), handshake=False)
    await hub.ws.send_str('{"protocol":"messagepack","version":1}\x1e')
    assert "messagepack" in (await hub.next_message())["error"]
    with pytest.raises(ConnectionError):
        await hub.next_message()
    await hub.close()


async def test_completions_for_every_invocation_id(gw: SimulatedGateway) -> None:
    hub = await RawHub.connect(gw.user_hub_url, gw.issue_token())
    await hub.invoke("SubscribeOrders", DEMO_ACCOUNT_ID, invocation_id="a1")
    assert await hub.next_message() == {"type": 3, "invocationId": "a1"}
    await hub.invoke("SubscribeAccounts", invocation_id=None)  # fire-and-forget: no reply
    await hub.invoke("NoSuchMethod", 1, invocation_id="a2")
    reply = await hub.next_message()
    assert reply["invocationId"] == "a2" and "NoSuchMethod" in reply["error"]
    await hub.invoke("SubscribeTrades", invocation_id="a3")  # missing the account id
    assert "error" in await hub.next_message()
    await hub.ws.send_str('{"type":6}\x1e')
    assert await hub.drain() == []
    await hub.close()


async def test_user_pushes_are_wrapped_and_only_for_subscribers(gw: SimulatedGateway) -> None:
    token = gw.issue_token()
    subscribed = await RawHub.connect(gw.user_hub_url, token)
    other_account = await RawHub.connect(gw.user_hub_url, token)
    for target in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
        await subscribed.subscribe(target, DEMO_ACCOUNT_ID)
        await other_account.subscribe(target, 13_370_002)
    await subscribed.subscribe("SubscribeAccounts")
    await place_market(gw, token, size=2)
    got = await subscribed.drain()
    assert {m["target"] for m in got} == set(USER_TARGETS)
    for message in got:
        assert message["type"] == 1 and "invocationId" not in message
        (argument,) = message["arguments"]
        assert set(argument) == {"action", "data"}
    trade = next(m["arguments"][0] for m in got if m["target"] == "GatewayUserTrade")
    assert trade["action"] == 0 and trade["data"]["size"] == 2
    assert await other_account.drain(0.05) == []
    await subscribed.close()
    await other_account.close()


async def test_market_pushes_carry_contract_id_and_partial_quotes(gw: SimulatedGateway) -> None:
    hub = await RawHub.connect(gw.market_hub_url, gw.issue_token())
    await hub.subscribe("SubscribeContractQuotes", MNQ)
    await hub.subscribe("SubscribeContractTrades", MNQ)
    gw.set_market_price(MNQ, 29510.0)
    gw.market.partial_probability = 1.0
    gw.step_market(contract_ids=[MNQ])
    got = await hub.drain()
    quotes = [m["arguments"] for m in got if m["target"] == "GatewayQuote"]
    prints = [m["arguments"] for m in got if m["target"] == "GatewayTrade"]
    assert quotes[0][0] == MNQ and quotes[0][1]["lastPrice"] == 29510
    assert prints[0][0] == MNQ and prints[0][1][0]["price"] == 29510
    partial = quotes[-1][1]
    assert "lastPrice" not in partial
    assert set(partial) == set(next(e for e in fixture("stream_events.json")
                                    if e["target"] == "GatewayQuote")["arguments"][1])
    await hub.close()


async def test_fixture_replay_reaches_the_right_subscribers(gw: SimulatedGateway) -> None:
    token = gw.issue_token()
    user = await RawHub.connect(gw.user_hub_url, token)
    market = await RawHub.connect(gw.market_hub_url, token)
    await user.subscribe("SubscribeAccounts")
    for target in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
        await user.subscribe(target, 26282486)
    for target in ("SubscribeContractQuotes", "SubscribeContractTrades",
                   "SubscribeContractMarketDepth"):
        await market.subscribe(target, MNQ)
        await market.subscribe(target, "CON.F.US.MES.U26")
    events = fixture("stream_events.json")
    for event in events:
        assert gw.push_event(event["hub"], event["target"], event["arguments"]) == 1
    received = await user.drain() + await market.drain()
    assert sorted(json.dumps([m["target"], m["arguments"]]) for m in received) == sorted(
        json.dumps([e["target"], e["arguments"]]) for e in events)
    assert gw.push_event("user", "GatewayUserOrder", [{"action": 1, "data": {"accountId": 5}}]
                         ) == 0
    await user.close()
    await market.close()


async def test_malformed_frames_reach_subscribers(gw: SimulatedGateway) -> None:
    hub = await RawHub.connect(gw.user_hub_url, gw.issue_token())
    await hub.subscribe("SubscribeTrades", DEMO_ACCOUNT_ID)
    assert gw.push_malformed("GatewayUserTrade", "not_object") == 1
    message = await hub.next_message()
    assert message["arguments"] == [{"action": 0, "data": "not-an-object"}]
    assert gw.push_malformed("GatewayUserTrade", "invalid_json") == 1
    with pytest.raises(json.JSONDecodeError):
        await hub.next_message()
    await hub.close()


async def test_pings_client_timeout_and_polite_close() -> None:
    async with SimulatedGateway(market_interval=None, ping_interval=0.1,
                                client_timeout=0.6) as gw:
        hub = await RawHub.connect(gw.user_hub_url, gw.issue_token())
        assert await hub.next_message(timeout=1.0) == {"type": 6}
        with pytest.raises(ConnectionError):  # it never speaks, so the server gives up on it
            while True:
                await hub.next_message(timeout=2.0)
        await hub.close()
        polite = await RawHub.connect(gw.user_hub_url, gw.issue_token())
        assert gw.close_connections("user", error="maintenance") == 1
        assert await polite.next_message() == {"type": 7, "allowReconnect": True,
                                               "error": "maintenance"}
        await polite.close()


async def test_drop_wipes_subscriptions(gw: SimulatedGateway) -> None:
    token = gw.issue_token()
    first = await RawHub.connect(gw.user_hub_url, token)
    await first.subscribe("SubscribeOrders", DEMO_ACCOUNT_ID)
    assert gw.drop_connections() == 1
    with pytest.raises(ConnectionError):
        await first.next_message()
    assert not any('"type":7' in frame for frame in first.raw)  # no Close message: a drop
    await first.close()
    second = await RawHub.connect(gw.user_hub_url, token)
    await place_market(gw, token)
    assert await second.drain(0.1) == []
    await second.subscribe("SubscribeOrders", DEMO_ACCOUNT_ID)
    await place_market(gw, token)
    assert {m["target"] for m in await second.drain()} == {"GatewayUserOrder"}
    await second.close()


async def test_real_signalrcore_client_end_to_end(gw: SimulatedGateway) -> None:
    token = gw.issue_token()
    user = SignalRCoreClient(gw.user_hub_url, token)
    market = SignalRCoreClient(gw.market_hub_url, token)
    user.listen(*USER_TARGETS)
    market.listen("GatewayQuote")
    try:
        await asyncio.gather(user.start(), market.start())
        for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
            user.send(method, [DEMO_ACCOUNT_ID])
        user.send("SubscribeAccounts", [])
        market.send("SubscribeContractQuotes", [MNQ])
        await asyncio.sleep(0.2)  # the Completions come back; subscriptions are in place
        order_id = await place_market(gw, token)
        gw.set_market_price(MNQ, 29512.5)
        assert await user.wait_for(lambda: len(user.received("GatewayUserAccount")) >= 1)
        assert await market.wait_for(lambda: bool(market.received("GatewayQuote")))
        orders = [args[0] for args in user.received("GatewayUserOrder")]
        assert {o["data"]["id"] for o in orders} == {order_id}
        assert orders[-1]["data"]["status"] == 2 and orders[-1]["action"] == 1
        (position,) = user.received("GatewayUserPosition")[0]
        assert position["data"]["contractDisplayName"] == "MNQU26"
        (trade,) = user.received("GatewayUserTrade")[0]
        assert trade["action"] == 0 and trade["data"]["orderId"] == order_id
        contract_id, quote = market.received("GatewayQuote")[-1]
        assert contract_id == MNQ and quote["lastPrice"] == 29512.5

        # A dropped socket: signalrcore reconnects at once, but the new connection hears
        # nothing until it subscribes again.
        user.events.clear()
        assert gw.drop_connections("user") == 1
        assert await asyncio.to_thread(user.reconnected.wait, 5.0)
        assert await user.wait_for(lambda: gw.connection_count("user") == 1)
        await place_market(gw, token)
        await asyncio.sleep(0.3)
        assert user.received("GatewayUserOrder") == []
        user.send("SubscribeOrders", [DEMO_ACCOUNT_ID])
        await asyncio.sleep(0.1)
        await place_market(gw, token)
        assert await user.wait_for(lambda: bool(user.received("GatewayUserOrder")))
    finally:
        await asyncio.gather(user.stop(), market.stop())


async def test_demo_mode_market_loop_and_trader_push_to_subscribers() -> None:
    async with SimulatedGateway(market_interval=0.01, ping_interval=None) as gw:
        token = gw.rotate_token()
        user = await RawHub.connect(gw.user_hub_url, token)
        market = await RawHub.connect(gw.market_hub_url, token)
        await user.subscribe("SubscribeTrades", DEMO_ACCOUNT_ID)
        await market.subscribe("SubscribeContractQuotes", MNQ)
        trader = gw.start_demo_trader(step_seconds=0.01)
        first_trade = await user.next_message(timeout=2.0)
        assert first_trade["target"] == "GatewayUserTrade"
        assert first_trade["arguments"][0]["data"]["accountId"] == DEMO_ACCOUNT_ID
        quote = await market.next_message(timeout=2.0)
        assert quote["target"] == "GatewayQuote" and quote["arguments"][0] == MNQ
        assert trader.accepted > 0
        await user.close()
        await market.close()
    assert not trader.running  # stop() took the trader down with the server
