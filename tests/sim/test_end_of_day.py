"""The firm's end of day on the simulator's clock, seen as a client sees it (REST and the user
hub): Topstep's desk flattens plan accounts at 15:10 CT, their balance is settled and pushed at
17:00 CT, practice accounts are left alone, and both follow Chicago's wall clock across DST."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from core.sim import SimAccount, SimulatedGateway
from tests.sim.support import Clock, RawHub

CT = ZoneInfo("America/Chicago")
MNQ = "CON.F.US.MNQ.U26"
PRACTICE, COMBINE = 20_000_001, 20_000_002
START_BALANCE = 50_000.0
FEE = 0.36  # MNQ, per contract per side
BUY, SELL, MARKET, STOP = 0, 1, 2, 4


def ct(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=CT).astimezone(UTC)


WEDNESDAY = date(2026, 8, 19)


class Sim:
    """A gateway on a hand-moved clock with a practice account and a 50K Combine, a REST
    client and a raw user-hub connection subscribed to both accounts."""

    def __init__(self, gateway: SimulatedGateway, clock: Clock, http: httpx.AsyncClient,
                 hub: RawHub) -> None:
        self.gw, self.clock, self.http, self.hub = gateway, clock, http, hub

    async def call(self, path: str, **body: Any) -> dict[str, Any]:
        reply = await self.http.post(path, json=body)
        assert reply.status_code == 200, (path, reply.text)
        data: dict[str, Any] = reply.json()
        assert data["success"], (path, data)
        return data

    async def positions(self, account: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.call("Position/searchOpen",
                                                      accountId=account))["positions"]
        return rows

    async def working(self, account: int) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await self.call("Order/searchOpen",
                                                      accountId=account))["orders"]
        return rows

    async def balance(self, account: int) -> float:
        rows = (await self.call("Account/search", onlyActiveAccounts=True))["accounts"]
        return float(next(r["balance"] for r in rows if r["id"] == account))

    async def trades(self, account: int) -> list[dict[str, Any]]:
        since = (self.clock.now - timedelta(days=30)).isoformat()
        rows: list[dict[str, Any]] = (await self.call("Trade/search", accountId=account,
                                                      startTimestamp=since))["trades"]
        return rows

    async def hold_long_2_with_a_stop(self, account: int) -> int:
        """Long 2 MNQ bought at 29,500 with a working sell stop at 29,400: its order id."""
        self.gw.exchange.set_price(MNQ, 29_500.0)
        await self.call("Order/place", accountId=account, contractId=MNQ, type=MARKET,
                        side=BUY, size=2)
        stop = await self.call("Order/place", accountId=account, contractId=MNQ, type=STOP,
                               side=SELL, size=2, stopPrice=29_400.0)
        order_id: int = stop["orderId"]
        return order_id

    async def pushes(self) -> list[tuple[str, int, dict[str, Any]]]:
        """(target, action, data) of every user-hub push until the socket goes quiet."""
        return [(m["target"], m["arguments"][0]["action"], m["arguments"][0]["data"])
                for m in await self.hub.drain(0.2) if m.get("type") == 1]

    async def move_to(self, at: datetime) -> None:
        """Move the sim's clock and run what its end-of-day timer would run at that time."""
        self.clock.now = at
        self.gw.run_end_of_day()


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = Clock(ct(WEDNESDAY, 9, 30))
    gateway = SimulatedGateway(
        now=clock, market_interval=None, ping_interval=None, end_of_day_interval=0.01,
        token_lifetime=timedelta(days=400),  # the clock moves over days and months
        accounts=[SimAccount(PRACTICE, "PRAC-V2-SIM-20000001", START_BALANCE),
                  SimAccount(COMBINE, "50KTC-V2-SIM-20000002", START_BALANCE)],
    )
    await gateway.start()
    token = gateway.issue_token()
    hub = await RawHub.connect(gateway.user_hub_url, token)
    try:
        await hub.subscribe("SubscribeAccounts")
        for account in (PRACTICE, COMBINE):
            for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
                await hub.subscribe(method, account)
        async with httpx.AsyncClient(base_url=gateway.base_url + "/api/",
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            yield Sim(gateway, clock, http, hub)
    finally:
        await hub.close()
        await gateway.stop()


async def test_the_desk_flattens_plan_accounts_at_15_10_ct_and_leaves_practice_accounts(
    sim: Sim,
) -> None:
    stops = {a: await sim.hold_long_2_with_a_stop(a) for a in (PRACTICE, COMBINE)}
    sim.gw.exchange.set_price(MNQ, 29_510.0)  # +$40 on 2 MNQ
    await sim.pushes()

    await sim.move_to(ct(WEDNESDAY, 15, 9, 59))
    assert await sim.pushes() == []
    assert len(await sim.positions(COMBINE)) == 1

    # Only the clock moves: the sim's own timer notices the close.
    sim.clock.now = ct(WEDNESDAY, 15, 10)
    for _ in range(500):
        if not await sim.positions(COMBINE):
            break
        await asyncio.sleep(0.01)
    assert await sim.positions(COMBINE) == [] and await sim.working(COMBINE) == []
    pushed = await sim.pushes()
    assert {data.get("accountId", data.get("id")) for _, _, data in pushed} == {COMBINE}
    orders = [data for target, _, data in pushed if target == "GatewayUserOrder"]
    # The stop is cancelled before the position closes, so it can never open a new one.
    assert (orders[0]["id"], orders[0]["status"]) == (stops[COMBINE], 3)
    assert [(o["type"], o["side"], o["size"], o["status"]) for o in orders[1:]][-1] == (
        MARKET, SELL, 2, 2)
    [trade] = [data for target, _, data in pushed if target == "GatewayUserTrade"]
    assert (trade["price"], trade["profitAndLoss"], trade["size"]) == (29_510, 40, 2)
    [removed] = [(action, data) for target, action, data in pushed
                 if target == "GatewayUserPosition"]
    assert removed[0] == 2 and (removed[1]["size"], removed[1]["type"]) == (0, 0)
    expected = round(START_BALANCE + 40.0 - 4 * FEE, 2)
    accounts = [data for target, _, data in pushed if target == "GatewayUserAccount"]
    assert accounts[-1]["balance"] == expected == await sim.balance(COMBINE)

    # The practice account keeps its position and its stop.
    assert [p["size"] for p in await sim.positions(PRACTICE)] == [2]
    assert [o["id"] for o in await sim.working(PRACTICE)] == [stops[PRACTICE]]

    # The close runs once, and after it the account opens nothing until 17:00 CT.
    await sim.move_to(ct(WEDNESDAY, 15, 30))
    assert await sim.pushes() == []
    reply = (await sim.http.post("Order/place", json={
        "accountId": COMBINE, "contractId": MNQ, "type": MARKET, "side": BUY, "size": 1})).json()
    assert not reply["success"] and await sim.positions(COMBINE) == []


async def test_the_settlement_at_17_ct_pushes_each_plan_accounts_end_of_day_balance(
    sim: Sim,
) -> None:
    await sim.hold_long_2_with_a_stop(COMBINE)
    sim.gw.exchange.set_price(MNQ, 29_490.0)  # -$40 on 2 MNQ
    await sim.move_to(ct(WEDNESDAY, 15, 10))
    assert await sim.positions(COMBINE) == []
    closed_at = await sim.balance(COMBINE)
    trades = await sim.trades(COMBINE)
    assert closed_at == round(START_BALANCE + sum(t["profitAndLoss"] or 0 for t in trades)
                              - sum(t["fees"] for t in trades), 2) == round(
        START_BALANCE - 40.0 - 4 * FEE, 2)
    await sim.pushes()

    await sim.move_to(ct(WEDNESDAY, 16, 59, 59))
    assert await sim.pushes() == []
    await sim.move_to(ct(WEDNESDAY, 17, 0))
    pushed = await sim.pushes()
    assert [(target, data["id"], data["balance"]) for target, _, data in pushed] == [
        ("GatewayUserAccount", COMBINE, closed_at)]
    assert await sim.balance(PRACTICE) == START_BALANCE  # untouched, no event
    assert await sim.pushes() == []  # once


async def test_a_clock_moved_over_a_weekend_runs_each_weekday_close_and_settlement_once(
    sim: Sim,
) -> None:
    friday = date(2026, 8, 21)
    await sim.move_to(ct(friday, 14, 0))
    await sim.hold_long_2_with_a_stop(COMBINE)
    await sim.pushes()
    await sim.move_to(ct(friday + timedelta(days=4), 18, 0))  # Tuesday evening
    pushed = await sim.pushes()
    settled = [data["balance"] for target, _, data in pushed if target == "GatewayUserAccount"]
    closed = [data for target, _, data in pushed if target == "GatewayUserTrade"]
    # Friday's close (one trade, its balance), then settlements on Friday, Monday, Tuesday:
    # none for Saturday or Sunday.
    assert len(closed) == 1 and len(settled) == 1 + 3
    assert len(set(settled)) == 1 and await sim.positions(COMBINE) == []


@pytest.mark.parametrize(
    ("friday", "utc_offset_friday", "utc_offset_monday"),
    [
        (date(2026, 10, 30), -5, -6),  # Sunday 1 Nov: CDT → CST
        (date(2027, 3, 12), -6, -5),  # Sunday 14 Mar: CST → CDT
    ],
)
async def test_close_and_settlement_keep_to_chicagos_wall_clock_across_a_dst_change(
    sim: Sim, friday: date, utc_offset_friday: int, utc_offset_monday: int
) -> None:
    monday = friday + timedelta(days=3)
    for day, offset in ((friday, utc_offset_friday), (monday, utc_offset_monday)):
        # 15:10 and 17:00 on that day's wall clock, whatever its offset from UTC.
        close = datetime(day.year, day.month, day.day, 15, 10, tzinfo=UTC) - timedelta(
            hours=offset)
        assert close == ct(day, 15, 10)
        await sim.move_to(close - timedelta(hours=2))
        await sim.hold_long_2_with_a_stop(COMBINE)
        await sim.pushes()
        # An hour early in UTC is where the close would be on the other offset.
        await sim.move_to(close - timedelta(hours=1))
        assert await sim.pushes() == [] and await sim.positions(COMBINE) != []
        await sim.move_to(close - timedelta(seconds=1))
        assert await sim.positions(COMBINE) != []
        await sim.move_to(close)
        assert await sim.positions(COMBINE) == []
        await sim.pushes()
        settlement = close + timedelta(hours=1, minutes=50)
        await sim.move_to(settlement - timedelta(seconds=1))
        assert await sim.pushes() == []
        await sim.move_to(settlement)
        assert [target for target, _, _ in await sim.pushes()] == ["GatewayUserAccount"]
        if day == friday:
            # Through the weekend and the clock change: no close or settlement on Saturday or
            # Sunday (Sunday 17:00 opens Monday's trading day, it ends none).
            for weekend_day in (friday + timedelta(days=1), friday + timedelta(days=2)):
                for hour, minute in ((15, 10), (17, 0), (23, 0)):
                    await sim.move_to(ct(weekend_day, hour, minute))
            assert await sim.pushes() == []


async def test_a_plan_account_cannot_open_anything_while_the_firm_is_closed(sim: Sim) -> None:
    friday = WEDNESDAY + timedelta(days=2)
    sunday = WEDNESDAY + timedelta(days=4)
    sim.gw.exchange.set_price(MNQ, 29_500.0)
    order = {"contractId": MNQ, "type": MARKET, "side": BUY, "size": 1}
    for closed_at in (ct(friday, 15, 10), ct(friday, 15, 30), ct(friday, 17, 5),
                      ct(friday + timedelta(days=1), 12, 0), ct(sunday, 16, 59)):
        await sim.move_to(closed_at)
        reply = (await sim.http.post("Order/place", json={"accountId": COMBINE, **order})).json()
        assert not reply["success"] and "the firm is closed now" in reply["errorMessage"], closed_at
        # A practice account is not Topstep's to close.
        await sim.call("Order/place", accountId=PRACTICE, **order)
    await sim.move_to(ct(sunday, 17, 0))  # the new trading day opens
    await sim.call("Order/place", accountId=COMBINE, **order)
    await sim.move_to(ct(sunday + timedelta(days=1), 15, 9, 59))
    await sim.call("Order/place", accountId=COMBINE, **order)
    assert len(await sim.positions(COMBINE)) == 1
