from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.sim import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.sim.support import Clock, fixture

MNQ = "CON.F.US.MNQ.U26"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gw(clock: Clock) -> AsyncIterator[SimulatedGateway]:
    gateway = SimulatedGateway(now=clock, market_interval=None, ping_interval=None)
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def http(gw: SimulatedGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gw.base_url + "/api/") as client:
        yield client


async def login(http: httpx.AsyncClient) -> str:
    reply = await http.post("Auth/loginKey", json={"userName": DEMO_USERNAME,
                                                   "apiKey": DEMO_API_KEY})
    token: str = reply.json()["token"]
    return token


async def call(http: httpx.AsyncClient, token: str, path: str, **body: Any) -> dict[str, Any]:
    reply = await http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, (path, reply.status_code, reply.text)
    data: dict[str, Any] = reply.json()
    return data


async def test_login_envelope_and_jwt_exp(http: httpx.AsyncClient, clock: Clock) -> None:
    bad = (await http.post("Auth/loginKey", json={"userName": DEMO_USERNAME,
                                                  "apiKey": "nope"})).json()
    assert bad == {"success": False, "errorCode": 3, "errorMessage": None, "token": None}
    good = (await http.post("Auth/loginKey", json={"userName": DEMO_USERNAME,
                                                   "apiKey": DEMO_API_KEY})).json()
    assert set(good) == set(fixture("auth_login_key_response.json"))
    assert good["success"] is True and good["errorCode"] == 0
    claims_part = good["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    assert claims["exp"] == int(clock().timestamp()) + 24 * 3600

    validated = await call(http, good["token"], "Auth/validate")
    assert set(validated) == set(fixture("auth_validate_response.json"))
    assert (await call(http, validated["newToken"], "Account/search",
                       onlyActiveAccounts=True))["success"]


async def test_missing_bad_and_expired_tokens_get_bare_401(
    http: httpx.AsyncClient, gw: SimulatedGateway, clock: Clock
) -> None:
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic x"}):
        reply = await http.post("Account/search", json={"onlyActiveAccounts": True},
                                headers=headers)
        assert reply.status_code == 401 and reply.content == b""
    token = await login(http)
    clock.advance(hours=24, seconds=1)
    reply = await http.post("Account/search", json={"onlyActiveAccounts": True},
                            headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 401
    fresh = await login(http)
    gw.expire_tokens()
    reply = await http.post("Account/search", json={"onlyActiveAccounts": True},
                            headers={"Authorization": f"Bearer {fresh}"})
    assert reply.status_code == 401
    assert (await http.post("Auth/validate", headers={"Authorization": f"Bearer {fresh}"})
            ).status_code == 401


async def test_status_ping_and_unknown_paths(http: httpx.AsyncClient) -> None:
    reply = await http.get("Status/ping")
    assert reply.status_code == 200 and reply.text == "pong"
    token = await login(http)
    assert (await http.post("Nope/nothing", json={},
                            headers={"Authorization": f"Bearer {token}"})).status_code == 404
    bad = await http.post("Position/searchOpen", content=b"{not json",
                          headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400
    missing = await http.post("Position/searchOpen", json={},
                              headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 400 and "accountId" in missing.json()["errors"]


async def test_accounts_and_contracts_have_live_shapes(http: httpx.AsyncClient) -> None:
    token = await login(http)
    accounts = (await call(http, token, "Account/search", onlyActiveAccounts=True))["accounts"]
    assert {a["id"] for a in accounts} >= {DEMO_ACCOUNT_ID}
    assert all(set(a) == set(fixture("accounts_search.json")[0]) for a in accounts)
    available = await call(http, token, "Contract/available", live=False)
    assert available["contracts"] == fixture("contracts_available.json")
    found = await call(http, token, "Contract/search", searchText="MNQ", live=False)
    assert [c["id"] for c in found["contracts"]] == [MNQ]
    by_id = await call(http, token, "Contract/searchById", contractId=MNQ)
    assert by_id["contract"]["tickValue"] == 0.5 and by_id["success"]
    missing = await call(http, token, "Contract/searchById", contractId="CON.F.US.X.Z26")
    assert (missing["success"], missing["errorCode"], missing["contract"]) == (False, 1, None)
    unknown = await call(http, token, "Position/searchOpen", accountId=1)
    assert (unknown["success"], unknown["errorCode"]) == (False, 1)


async def test_orders_positions_trades_over_rest(
    http: httpx.AsyncClient, gw: SimulatedGateway, clock: Clock
) -> None:
    token = await login(http)
    since = clock().isoformat()
    gw.set_market_price(MNQ, 29500.0)
    placed = await call(http, token, "Order/place", accountId=DEMO_ACCOUNT_ID, contractId=MNQ,
                        type=1, side=0, size=2, limitPrice=29490.0, customTag="rest-1",
                        stopLossBracket={"ticks": -20, "type": 4},
                        takeProfitBracket={"ticks": 40, "type": 1})
    assert placed["success"] and placed["orderId"] > 3_400_000_000
    reused = await call(http, token, "Order/place", accountId=DEMO_ACCOUNT_ID, contractId=MNQ,
                        type=2, side=0, size=1, customTag="rest-1")
    assert (reused["success"], reused["errorCode"], reused["orderId"]) == (False, 2, None)

    window = {"accountId": DEMO_ACCOUNT_ID, "startTimestamp": since}
    open_orders = (await call(http, token, "Order/searchOpen", accountId=DEMO_ACCOUNT_ID))
    assert [o["id"] for o in open_orders["orders"]] == [placed["orderId"]]  # no status-8 kids
    searched = await call(http, token, "Order/search", **window)
    assert [o["id"] for o in searched["orders"]] == [placed["orderId"]]
    assert searched["orders"][0]["stopPrice"] is None  # REST keeps nulls

    clock.advance(seconds=5)
    gw.set_market_price(MNQ, 29489.0)
    positions = (await call(http, token, "Position/searchOpen",
                            accountId=DEMO_ACCOUNT_ID))["positions"]
    assert positions[0]["size"] == 2 and positions[0]["type"] == 1
    assert "contractDisplayName" not in positions[0]
    searched = await call(http, token, "Order/search", **window)
    kids = [o for o in searched["orders"] if o.get("parentOrderId") == placed["orderId"]]
    assert {o["customTag"] for o in kids} == {"rest-1-SL", "rest-1-TP"}
    assert {o["status"] for o in kids} == {1}

    closed = await call(http, token, "Position/closeContract", accountId=DEMO_ACCOUNT_ID,
                        contractId=MNQ)
    assert closed == {"success": True, "errorCode": 0, "errorMessage": None}
    again = await call(http, token, "Position/closeContract", accountId=DEMO_ACCOUNT_ID,
                       contractId=MNQ)
    assert (again["success"], again["errorCode"]) == (False, 2)
    partial = await call(http, token, "Position/partialCloseContract",
                         accountId=DEMO_ACCOUNT_ID, contractId=MNQ, size=1)
    assert partial["errorCode"] == 2

    trades = (await call(http, token, "Trade/search", **window))["trades"]
    assert len(trades) == 2 and trades[0]["creationTimestamp"] >= trades[1]["creationTimestamp"]
    assert all(set(t) == set(fixture("historical_trades_24h.json")[0]) for t in trades)
    clock.advance(seconds=1)
    later = clock().isoformat().replace("+00:00", "Z")
    assert (await call(http, token, "Trade/search", accountId=DEMO_ACCOUNT_ID,
                       startTimestamp=later, endTimestamp=None))["trades"] == []

    for order in (await call(http, token, "Order/searchOpen",
                             accountId=DEMO_ACCOUNT_ID))["orders"]:
        cancel = await call(http, token, "Order/cancel", accountId=DEMO_ACCOUNT_ID,
                            orderId=order["id"])
        assert cancel["success"]
    unknown = await call(http, token, "Order/cancel", accountId=DEMO_ACCOUNT_ID, orderId=7)
    assert (unknown["success"], unknown["errorCode"]) == (False, 2)


async def test_can_trade_false_over_rest(http: httpx.AsyncClient, gw: SimulatedGateway) -> None:
    token = await login(http)
    gw.exchange.set_can_trade(DEMO_ACCOUNT_ID, False)
    refused = await call(http, token, "Order/place", accountId=DEMO_ACCOUNT_ID, contractId=MNQ,
                         type=2, side=0, size=1)
    assert (refused["success"], refused["errorCode"]) == (False, 4)


async def test_rate_limits_per_token(http: httpx.AsyncClient, gw: SimulatedGateway) -> None:
    token, other = await login(http), await login(http)
    replies = await asyncio.gather(*(
        http.post("Account/search", json={"onlyActiveAccounts": True},
                  headers={"Authorization": f"Bearer {token}"}) for _ in range(201)))
    codes = [r.status_code for r in replies]
    assert codes.count(200) == 200 and codes.count(429) == 1
    assert (await call(http, other, "Account/search", onlyActiveAccounts=True))["success"]

    bars = {"contractId": MNQ, "live": False, "startTime": "2026-08-19T00:00:00Z",
            "endTime": "2026-08-19T14:00:00Z", "unit": 2, "unitNumber": 5, "limit": 3,
            "includePartialBar": False}
    replies = await asyncio.gather(*(
        http.post("History/retrieveBars", json=bars,
                  headers={"Authorization": f"Bearer {other}"}) for _ in range(51)))
    codes = [r.status_code for r in replies]
    assert codes.count(200) == 50 and codes.count(429) == 1


async def test_injected_failures_and_delay(http: httpx.AsyncClient, gw: SimulatedGateway) -> None:
    token = await login(http)
    headers = {"Authorization": f"Bearer {token}"}
    gw.inject_rest_failures(500, count=2, path="Order/place")
    order = {"accountId": DEMO_ACCOUNT_ID, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    search = {"onlyActiveAccounts": True}
    assert (await http.post("Account/search", json=search, headers=headers)).status_code == 200
    assert (await http.post("Order/place", json=order, headers=headers)).status_code == 500
    assert (await http.post("Order/place", json=order, headers=headers)).status_code == 500
    assert gw.exchange.orders(DEMO_ACCOUNT_ID) == []  # a failed call never reached the exchange
    assert (await http.post("Order/place", json=order, headers=headers)).status_code == 200
    gw.inject_rest_failures(401)
    gw.inject_rest_failures(429)
    replies = [await http.post("Account/search", json=search, headers=headers)
               for _ in range(3)]
    assert [r.status_code for r in replies] == [401, 429, 200]
    assert replies[0].content == b""

    gw.set_rest_delay(200)
    started = time.monotonic()
    assert (await http.post("Account/search", json=search, headers=headers)).status_code == 200
    assert time.monotonic() - started >= 0.19
    gw.clear_faults()


async def test_retrieve_bars(http: httpx.AsyncClient, gw: SimulatedGateway) -> None:
    token = await login(http)
    body = {"contractId": MNQ, "live": False, "startTime": "2026-08-19T13:00:00Z",
            "endTime": "2026-08-19T15:00:00Z", "unit": 2, "unitNumber": 5, "limit": 10,
            "includePartialBar": False}
    bars = (await call(http, token, "History/retrieveBars", **body))["bars"]
    assert len(bars) == 10 and set(bars[0]) == {"t", "o", "h", "l", "c", "v"}
    assert bars[0]["t"] > bars[1]["t"]  # newest first
    assert bars[0]["t"] == "2026-08-19T14:25:00+00:00"  # the 14:30 bar is still forming
    assert all(b["l"] <= min(b["o"], b["c"]) and b["h"] >= max(b["o"], b["c"]) for b in bars)
    bad = await call(http, token, "History/retrieveBars", **{**body, "unit": 9})
    assert (bad["success"], bad["errorCode"]) == (False, 2)
