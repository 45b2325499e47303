"""Where the live gateway's documentation pins a behaviour down, the simulator matches it:
trailing stops take a price level, the swagger-only order endpoints, ping's content
negotiation, and ``errorMessage: null`` on the failures live leaves unexplained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from core.sim import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.sim.support import Clock, fixture

MNQ = "CON.F.US.MNQ.U26"  # tick 0.25
CL = "CON.F.US.CLE.V26"  # tick 0.01
TRAILING_STOP, LIMIT, MARKET, STOP = 5, 1, 2, 4
BUY, SELL = 0, 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gw(clock: Clock) -> AsyncIterator[SimulatedGateway]:
    gateway = SimulatedGateway(now=clock, market_interval=None, ping_interval=None)
    await gateway.start()
    yield gateway
    await gateway.stop()


class Api:
    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.token = token

    async def __call__(self, path: str, **body: Any) -> dict[str, Any]:
        reply = await self.http.post(path, json=body,
                                     headers={"Authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        data: dict[str, Any] = reply.json()
        return data

    async def place(self, **body: Any) -> dict[str, Any]:
        return await self("Order/place", accountId=DEMO_ACCOUNT_ID, size=1, **body)

    async def order(self, order_id: int) -> dict[str, Any]:
        found = await self("Order/searchById", accountId=DEMO_ACCOUNT_ID, orderId=order_id)
        assert found["success"], found
        order: dict[str, Any] = found["order"]
        return order


@pytest.fixture
async def api(gw: SimulatedGateway) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=gw.base_url + "/api/") as http:
        login = await http.post("Auth/loginKey", json={"userName": DEMO_USERNAME,
                                                       "apiKey": DEMO_API_KEY})
        yield Api(http, login.json()["token"])


# --------------------------------------------------------------------------- trailing stops


async def test_trail_price_is_a_level_and_reads_back_as_the_distance(
    api: Api, gw: SimulatedGateway
) -> None:
    cl = CL
    gw.set_market_price(cl, 70.50)
    # The docs' example: last 70.50, tick 0.01, a sell trail 6 ticks away is sent as 70.44.
    placed = await api.place(contractId=cl, type=TRAILING_STOP, side=SELL, trailPrice=70.44)
    assert placed["success"] and placed["errorMessage"] is None
    order = await api.order(placed["orderId"])
    assert order["trailPrice"] == 0.06 and order["trailDistance"] == 6
    assert order["stopPrice"] == 70.44 and order["status"] == 1
    listed = (await api("Order/searchOpen", accountId=DEMO_ACCOUNT_ID))["orders"]
    assert [(o["id"], o["trailPrice"]) for o in listed] == [(placed["orderId"], 0.06)]

    # A buy trail is measured the same way, above the market.
    bought = await api.place(contractId=cl, type=TRAILING_STOP, side=BUY, trailPrice=70.56)
    assert (await api.order(bought["orderId"]))["stopPrice"] == 70.56

    # It trails by that distance and only tightens.
    gw.set_market_price(cl, 70.60)
    assert (await api.order(placed["orderId"]))["stopPrice"] == 70.54
    gw.set_market_price(cl, 70.58)
    assert (await api.order(placed["orderId"]))["stopPrice"] == 70.54


@pytest.mark.parametrize(
    ("trail_price", "message"),
    [
        (None, "Trail Distance not set."),
        (70.445, "Invalid trail price. Price is not aligned to tick size."),
        # Sending the distance instead of a level: 0.06 is 7044 ticks from 70.50.
        (0.06, "Trail Distance exceeds maximum (1000)"),
        (60.49, "Trail Distance exceeds maximum (1000)"),  # 1001 ticks
    ],
)
async def test_place_rejects_a_bad_trail_with_the_live_texts(
    api: Api, gw: SimulatedGateway, trail_price: float | None, message: str
) -> None:
    cl = CL
    gw.set_market_price(cl, 70.50)
    body: dict[str, Any] = {"contractId": cl, "type": TRAILING_STOP, "side": SELL}
    if trail_price is not None:
        body["trailPrice"] = trail_price
    refused = await api.place(**body)
    assert (refused["success"], refused["errorCode"], refused["errorMessage"]) == (
        False, 2, message)
    assert (await api("Order/searchOpen", accountId=DEMO_ACCOUNT_ID))["orders"] == []


async def test_a_trail_of_exactly_1000_ticks_is_accepted(api: Api, gw: SimulatedGateway) -> None:
    cl = CL
    gw.set_market_price(cl, 70.50)
    placed = await api.place(contractId=cl, type=TRAILING_STOP, side=SELL, trailPrice=60.50)
    assert placed["success"]
    assert (await api.order(placed["orderId"]))["trailDistance"] == 1000


async def test_modify_takes_a_new_level_with_no_maximum(api: Api, gw: SimulatedGateway) -> None:
    cl = CL
    gw.set_market_price(cl, 70.50)
    placed = await api.place(contractId=cl, type=TRAILING_STOP, side=SELL, trailPrice=70.44)
    order_id = placed["orderId"]
    off_tick = await api("Order/modify", accountId=DEMO_ACCOUNT_ID, orderId=order_id,
                         trailPrice=70.405)
    assert (off_tick["success"], off_tick["errorCode"], off_tick["errorMessage"]) == (
        False, 3, "Invalid trail price. Price is not aligned to tick size.")
    moved = await api("Order/modify", accountId=DEMO_ACCOUNT_ID, orderId=order_id,
                      trailPrice=70.40)
    assert moved == {"success": True, "errorCode": 0, "errorMessage": None}
    order = await api.order(order_id)
    assert (order["trailDistance"], order["trailPrice"], order["stopPrice"]) == (10, 0.1, 70.4)
    # The docs warn that modify has no maximum: the same mistake is accepted here.
    mistaken = await api("Order/modify", accountId=DEMO_ACCOUNT_ID, orderId=order_id,
                         trailPrice=0.06)
    assert mistaken["success"]
    assert (await api.order(order_id))["trailDistance"] == 7044


async def test_trailing_stop_pushes_carry_the_distance(api: Api, gw: SimulatedGateway) -> None:
    pushed: list[dict[str, Any]] = []
    gw.exchange.subscribe(lambda event: pushed.append(event.data))
    gw.set_market_price(MNQ, 29500.0)
    placed = await api.place(contractId=MNQ, type=TRAILING_STOP, side=SELL, trailPrice=29490.0)
    mine = [p for p in pushed if p.get("id") == placed["orderId"]]
    assert mine and mine[-1]["trailPrice"] == 10 and mine[-1]["trailDistance"] == 40


# --------------------------------------------------------------------------- Order/searchById


async def test_search_by_id_finds_any_status_and_only_on_its_account(
    api: Api, gw: SimulatedGateway
) -> None:
    gw.set_market_price(MNQ, 29500.0)
    placed = await api.place(contractId=MNQ, type=LIMIT, side=BUY, limitPrice=29480.0,
                             customTag="by-id", stopLossBracket={"ticks": -20, "type": STOP})
    found = await api("Order/searchById", accountId=DEMO_ACCOUNT_ID, orderId=placed["orderId"])
    assert set(found) == {"order", "success", "errorCode", "errorMessage"}
    assert found["order"]["customTag"] == "by-id"
    assert set(found["order"]) >= set(fixture("historical_orders_24h.json")[0])
    child = next(o for o in gw.exchange.orders(DEMO_ACCOUNT_ID) if o.parent_id is not None)
    suspended = await api.order(child.id)
    assert suspended["status"] == 8 and suspended["parentOrderId"] == placed["orderId"]

    for account, order_id in ((DEMO_ACCOUNT_ID, 12345), (13_370_002, placed["orderId"])):
        missing = await api("Order/searchById", accountId=account, orderId=order_id)
        assert missing == {"order": None, "success": False, "errorCode": 1, "errorMessage": None}


# --------------------------------------------------------------------------- Order/v2/query


async def test_v2_query_returns_suspended_bracket_children(
    api: Api, gw: SimulatedGateway, clock: Clock
) -> None:
    gw.set_market_price(MNQ, 29500.0)
    entry = await api.place(contractId=MNQ, type=LIMIT, side=BUY, limitPrice=29480.0,
                            customTag="q", stopLossBracket={"ticks": -20, "type": STOP},
                            takeProfitBracket={"ticks": 40, "type": LIMIT})
    open_only = (await api("Order/searchOpen", accountId=DEMO_ACCOUNT_ID))["orders"]
    assert [o["id"] for o in open_only] == [entry["orderId"]]  # children are invisible there

    working = await api("Order/v2/query",
                        filter={"accountId": DEMO_ACCOUNT_ID, "statuses": [1, 8]})
    assert working["success"] and working["totalCount"] == 3
    by_tag = {o["customTag"]: o for o in working["orders"]}
    assert set(by_tag) == {"q", "q-SL", "q-TP"}
    assert by_tag["q-SL"]["status"] == 8 and by_tag["q-TP"]["parentOrderId"] == entry["orderId"]
    assert by_tag["q-TP"]["linkedOrderId"] == by_tag["q-SL"]["id"]
    # Statuses by name work too, as the swagger writes them.
    named = await api("Order/v2/query",
                      filter={"accountId": DEMO_ACCOUNT_ID, "statuses": ["Suspended"]})
    assert {o["customTag"] for o in named["orders"]} == {"q-SL", "q-TP"}

    # Once the entry fills, the children are working orders with prices.
    clock.advance(seconds=1)
    gw.set_market_price(MNQ, 29479.0)
    after = await api("Order/v2/query",
                      filter={"accountId": DEMO_ACCOUNT_ID, "statuses": [1, 8]})
    assert {(o["customTag"], o["status"]) for o in after["orders"]} == {("q-SL", 1), ("q-TP", 1)}


async def test_v2_query_filters_pages_and_sorts(
    api: Api, gw: SimulatedGateway, clock: Clock
) -> None:
    gw.set_market_price(MNQ, 29500.0)
    cl = CL
    ids = []
    for n in range(5):
        clock.advance(seconds=10)
        contract = MNQ if n % 2 == 0 else cl
        price = 29400.0 if contract == MNQ else 50.0
        ids.append((await api.place(contractId=contract, type=LIMIT, side=BUY,
                                    limitPrice=price))["orderId"])
    await api("Order/cancel", accountId=DEMO_ACCOUNT_ID, orderId=ids[0])
    everything = await api("Order/v2/query", filter={"accountId": DEMO_ACCOUNT_ID})
    assert [o["id"] for o in everything["orders"]] == ids[::-1]  # newest first by default
    assert everything["totalCount"] == 5

    page = await api("Order/v2/query", filter={"accountId": DEMO_ACCOUNT_ID}, pageSize=2,
                     pageOffset=2, sortBy=1, sortDirection=0)
    assert [o["id"] for o in page["orders"]] == ids[2:4] and page["totalCount"] == 5

    mnq_open = await api("Order/v2/query", filter={
        "accountId": DEMO_ACCOUNT_ID, "contractId": MNQ, "statuses": [1]})
    assert sorted(o["id"] for o in mnq_open["orders"]) == [ids[2], ids[4]]

    first = gw.exchange.order(ids[1])
    assert first is not None
    window = await api("Order/v2/query", filter={
        "accountId": DEMO_ACCOUNT_ID,
        "createdAfter": first.created.isoformat(),
        "createdBefore": first.created.isoformat().replace("+00:00", "Z")})
    assert [o["id"] for o in window["orders"]] == [ids[1]]

    unknown = await api("Order/v2/query", filter={"accountId": 1})
    assert (unknown["success"], unknown["errorCode"], unknown["orders"]) == (False, 1, [])


@pytest.mark.parametrize("body", [
    {},
    {"filter": {}},
    {"filter": {"accountId": DEMO_ACCOUNT_ID, "statuses": ["Sleeping"]}},
    {"filter": {"accountId": DEMO_ACCOUNT_ID}, "pageSize": 0},
    {"filter": {"accountId": DEMO_ACCOUNT_ID}, "pageOffset": -1},
])
async def test_v2_query_refuses_a_bad_request_with_problem_details(
    api: Api, body: dict[str, Any]
) -> None:
    reply = await api.http.post("Order/v2/query", json=body,
                                headers={"Authorization": f"Bearer {api.token}"})
    assert reply.status_code == 400
    problem = reply.json()
    assert problem["status"] == 400 and problem["errors"] and "success" not in problem


# --------------------------------------------------------------------------- ping and errors


@pytest.mark.parametrize(("accept", "json_answer"), [
    (None, False),
    ("text/plain", False),
    ("*/*", False),
    ("application/json", True),
    ("text/json", True),
    ("application/json, text/plain, */*", True),
    ("text/plain;q=0.5, application/json", True),
    ("text/plain, application/json;q=0.9", False),
])
async def test_ping_honours_accept(
    gw: SimulatedGateway, accept: str | None, json_answer: bool
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    async with httpx.AsyncClient() as http:
        reply = await http.get(gw.base_url + "/api/Status/ping", headers=headers)
    assert reply.status_code == 200
    if json_answer:
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.json() == "pong"
    else:
        assert reply.headers["content-type"].startswith("text/plain")
        assert reply.text == "pong"


async def test_failures_live_leaves_unexplained_have_a_null_message(
    api: Api, gw: SimulatedGateway
) -> None:
    login = await api.http.post("Auth/loginKey", json={"userName": "DEMO", "apiKey": "x"})
    assert login.json()["errorMessage"] is None and login.json()["errorCode"] == 3
    # The user name is not case-sensitive, as the docs say.
    again = await api.http.post("Auth/loginKey", json={"userName": DEMO_USERNAME.upper(),
                                                       "apiKey": DEMO_API_KEY})
    assert again.json()["success"]
    answers = [
        await api("Position/closeContract", accountId=DEMO_ACCOUNT_ID, contractId=MNQ),
        await api("Position/partialCloseContract", accountId=DEMO_ACCOUNT_ID, contractId=MNQ,
                  size=1),
        await api("Order/cancel", accountId=DEMO_ACCOUNT_ID, orderId=99),
        await api("Order/modify", accountId=DEMO_ACCOUNT_ID, orderId=99, size=2),
        await api("Position/searchOpen", accountId=1),
        await api("Contract/searchById", contractId="CON.F.US.NOPE.Z26"),
    ]
    assert [(a["success"], a["errorCode"], a["errorMessage"]) for a in answers] == [
        (False, 2, None), (False, 2, None), (False, 2, None), (False, 2, None),
        (False, 1, None), (False, 1, None)]
    # A rejected place still says why.
    refused = await api.place(contractId=MNQ, type=99, side=BUY)
    assert refused["errorCode"] == 2 and refused["errorMessage"]
