"""Every endpoint through the client against the recorded live payloads."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from core.domain.events import OrderStatus, PositionType
from core.gateway import (
    GatewayError,
    GatewayRest,
    MalformedResponse,
    is_already_done,
    is_already_flat,
    is_order_gone,
    iso_utc,
)
from tests.gateway.support import FakeGateway, fail, fixture, ok

ACCOUNT = 26282486
MNQ = "CON.F.US.MNQ.U26"
START = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)


async def test_accounts_parse_the_recorded_list(client: GatewayRest, gateway: FakeGateway) -> None:
    accounts = await client.accounts()
    assert [a.account_id for a in accounts] == [25775680, 26282486]
    practice = accounts[1]
    assert practice.name == "PRAC-V2-645601-47191819"
    assert practice.balance == 149831.92 and practice.can_trade and practice.simulated
    assert gateway.calls[-1].body == {"onlyActiveAccounts": True}
    await client.accounts(only_active=False)
    assert gateway.calls[-1].body == {"onlyActiveAccounts": False}


async def test_trades_come_back_oldest_first(client: GatewayRest, gateway: FakeGateway) -> None:
    recorded = fixture("historical_trades_24h.json")
    assert recorded[0]["creationTimestamp"] > recorded[-1]["creationTimestamp"]  # newest first
    trades = await client.trades(ACCOUNT, START)
    assert len(trades) == len(recorded)
    stamps = [t.created_at for t in trades]
    assert stamps == sorted(stamps)
    assert trades[-1].trade_id == recorded[0]["id"]
    closing = next(t for t in trades if t.trade_id == 3005729833)
    assert closing.pnl == Decimal("6.5") and closing.fees == Decimal("0.36")
    assert next(t for t in trades if t.trade_id == 3005729736).pnl is None
    assert gateway.calls[-1].body == {
        "accountId": ACCOUNT,
        "startTimestamp": "2026-08-19T22:00:00Z",
    }


async def test_search_windows_are_sent_as_iso_utc(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    chicago_summer = timezone(timedelta(hours=-5))
    end = datetime(2026, 8, 19, 17, 0, 0, 250000, tzinfo=chicago_summer)
    await client.orders(ACCOUNT, START, end)
    assert gateway.calls[-1].body == {
        "accountId": ACCOUNT,
        "startTimestamp": "2026-08-19T22:00:00Z",
        "endTimestamp": "2026-08-19T22:00:00.250000Z",
    }
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive = UTC


async def test_orders_keep_bracket_links_and_sort_oldest_first(client: GatewayRest) -> None:
    recorded = fixture("historical_orders_24h.json")
    orders = await client.orders(ACCOUNT, START)
    assert len(orders) == len(recorded)
    assert [o.created_at for o in orders] == sorted(o.created_at for o in orders)  # type: ignore[type-var]
    tp = next(o for o in orders if o.order_id == 3408995737)
    assert tp.parent_order_id == 3408995735 and tp.linked_order_id == 3408995736
    assert tp.custom_tag is not None and tp.custom_tag.endswith("-TP")
    assert tp.status == OrderStatus.CANCELLED and tp.limit_price == 30203.5
    assert {o.status for o in orders} == {2, 3, 5}


async def test_open_orders_accept_statuses_7_and_8(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    orders = await client.open_orders(ACCOUNT)
    assert {o.status for o in orders} == {OrderStatus.SUSPENDED, OrderStatus.PENDING_CANCELLATION}
    assert all(o.is_working and o.parent_order_id for o in orders)
    suspended = next(o for o in orders if o.status == 8)
    assert suspended.stop_price is None and suspended.is_stop
    assert gateway.calls[-1].body == {"accountId": ACCOUNT}


async def test_open_positions(client: GatewayRest, gateway: FakeGateway) -> None:
    (position,) = await client.open_positions(ACCOUNT)
    assert position.contract_id == MNQ and position.type == PositionType.LONG
    assert position.signed_size == 2 and position.average_price == 29398.5
    assert gateway.calls[-1].path == "Position/searchOpen"


async def test_flat_account_has_no_positions(client: GatewayRest, gateway: FakeGateway) -> None:
    gateway.positions = []
    assert await client.open_positions(ACCOUNT) == []


async def test_a_missing_list_is_never_read_as_empty(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    gateway.script("Position/searchOpen", ok(), ok(positions=None))
    for _ in range(2):
        with pytest.raises(MalformedResponse):
            await client.open_positions(ACCOUNT)


async def test_malformed_items_are_logged_and_skipped(
    client: GatewayRest, gateway: FakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.trades = [*gateway.trades, {"id": 1, "accountId": ACCOUNT}, "junk", None]
    gateway.contracts = [
        *gateway.contracts,
        {"id": "CON.F.US.X.U26", "tickSize": "nan", "tickValue": 1},
        {"name": "no id"},
    ]
    with caplog.at_level(logging.WARNING, logger="core.gateway"):
        trades = await client.trades(ACCOUNT, START)
        contracts = await client.available_contracts()
    assert len(trades) == len(fixture("historical_trades_24h.json"))
    assert len(contracts) == len(fixture("contracts_available.json"))
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == 5


async def test_a_position_or_order_that_cannot_be_read_makes_the_whole_read_unusable(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    """The open positions are the whole truth: a position skipped would read as one closed."""
    gateway.positions = [{"id": 1, "accountId": ACCOUNT, "contractId": "CON.F.US.MNQ.U26",
                          "type": 1, "size": -3, "averagePrice": 100.0}]
    with pytest.raises(MalformedResponse, match="cannot be read"):
        await client.open_positions(ACCOUNT)
    gateway.open_orders = [{"id": 5, "accountId": ACCOUNT, "contractId": "CON.F.US.MNQ.U26",
                       "status": 1, "type": 4, "side": 1, "size": 1, "stopPrice": 0}]
    with pytest.raises(MalformedResponse, match="cannot be read"):
        await client.open_orders(ACCOUNT)


async def test_available_contracts_parse_every_recorded_contract(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    contracts = await client.available_contracts()
    assert len(contracts) == len(fixture("contracts_available.json"))
    nq = next(c for c in contracts if c.contract_id == "CON.F.US.ENQ.U26")
    assert nq.symbol == "NQ" and nq.tick_size == 0.25 and nq.tick_value == 5
    assert gateway.calls[-1].body == {"live": False}


async def test_search_contracts(client: GatewayRest, gateway: FakeGateway) -> None:
    await client.search_contracts("NQ", live=True)
    assert gateway.calls[-1].path == "Contract/search"
    assert gateway.calls[-1].body == {"searchText": "NQ", "live": True}


async def test_contract_by_id_in_both_answer_shapes(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    es = await client.contract("CON.F.US.EP.U26")
    assert es is not None and es.symbol == "ES" and es.tick_value == 12.5
    old_shape = [c for c in gateway.contracts if c["id"] in ("CON.F.US.ENQ.U26", "CON.F.US.EP.U26")]
    gateway.script("Contract/searchById", ok(contracts=old_shape))
    nq = await client.contract("CON.F.US.EP.U26")
    assert nq is not None and nq.contract_id == "CON.F.US.EP.U26"


async def test_unknown_contract_is_none(client: GatewayRest, gateway: FakeGateway) -> None:
    assert await client.contract("CON.F.US.NOPE.Z26") is None  # errorCode 1 ContractNotFound
    gateway.script("Contract/searchById", ok(contract=None), ok(contracts=[]))
    assert await client.contract("CON.F.US.NOPE.Z26") is None
    assert await client.contract("CON.F.US.NOPE.Z26") is None


async def test_enforcement_request_bodies(client: GatewayRest, gateway: FakeGateway) -> None:
    await client.close_contract(ACCOUNT, MNQ)
    await client.partial_close(ACCOUNT, MNQ, 2)
    await client.cancel_order(ACCOUNT, 3425270858)
    await client.modify_order(ACCOUNT, 3425270858, stop_price=29500.25)
    order_id = await client.place_order(
        ACCOUNT, MNQ, 4, 1, 1, stop_price=29400.0, custom_tag="rm-be-1"
    )
    assert order_id == 3425270999
    bodies = {c.path: c.body for c in gateway.calls}
    assert bodies["Position/closeContract"] == {"accountId": ACCOUNT, "contractId": MNQ}
    assert bodies["Position/partialCloseContract"] == {
        "accountId": ACCOUNT,
        "contractId": MNQ,
        "size": 2,
    }
    assert bodies["Order/cancel"] == {"accountId": ACCOUNT, "orderId": 3425270858}
    assert bodies["Order/modify"] == {
        "accountId": ACCOUNT,
        "orderId": 3425270858,
        "stopPrice": 29500.25,
    }
    assert bodies["Order/place"] == {
        "accountId": ACCOUNT,
        "contractId": MNQ,
        "type": 4,
        "side": 1,
        "size": 1,
        "stopPrice": 29400.0,
        "customTag": "rm-be-1",
    }


async def test_place_without_order_id_returns_none(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    gateway.script("Order/place", ok(orderId=None))
    assert await client.place_order(ACCOUNT, MNQ, 2, 0, 1) is None


async def test_invalid_arguments_are_refused_before_sending(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    with pytest.raises(ValueError):
        await client.partial_close(ACCOUNT, MNQ, 0)
    with pytest.raises(ValueError):
        await client.modify_order(ACCOUNT, 1)
    with pytest.raises(ValueError):
        await client.place_order(ACCOUNT, MNQ, 2, 0, 0)
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("path", "call", "code", "name", "done"),
    [
        (
            "Position/closeContract",
            lambda c: c.close_contract(ACCOUNT, MNQ),
            2,
            "PositionNotFound",
            True,
        ),
        (
            "Position/closeContract",
            lambda c: c.close_contract(ACCOUNT, MNQ),
            5,
            "OrderRejected",
            False,
        ),
        (
            "Position/partialCloseContract",
            lambda c: c.partial_close(ACCOUNT, MNQ, 3),
            2,
            "PositionNotFound",
            True,
        ),
        (
            "Position/partialCloseContract",
            lambda c: c.partial_close(ACCOUNT, MNQ, 3),
            5,
            "InvalidCloseSize",
            False,
        ),
        ("Order/cancel", lambda c: c.cancel_order(ACCOUNT, 7), 2, "OrderNotFound", True),
        ("Order/cancel", lambda c: c.cancel_order(ACCOUNT, 7), 6, "AccountRejected", False),
        ("Order/modify", lambda c: c.modify_order(ACCOUNT, 7, size=1), 2, "OrderNotFound", True),
        (
            "Order/place",
            lambda c: c.place_order(ACCOUNT, MNQ, 2, 0, 1),
            5,
            "OutsideTradingHours",
            False,
        ),
        ("Order/place", lambda c: c.place_order(ACCOUNT, MNQ, 2, 0, 1), 2, "OrderRejected", False),
        ("Position/searchOpen", lambda c: c.open_positions(ACCOUNT), 1, "AccountNotFound", False),
        ("Trade/search", lambda c: c.trades(ACCOUNT, START), 1, "AccountNotFound", False),
        ("Order/place", lambda c: c.place_order(ACCOUNT, MNQ, 2, 0, 1), 42, "Unknown(42)", False),
    ],
)
async def test_business_errors_are_mapped(
    client: GatewayRest,
    gateway: FakeGateway,
    path: str,
    call: object,
    code: int,
    name: str,
    done: bool,
) -> None:
    gateway.script(path, fail(code, "refused by the gateway"))
    with pytest.raises(GatewayError) as caught:
        await call(client)  # type: ignore[operator]
    error = caught.value
    assert (error.endpoint, error.error_code, error.name) == (path, code, name)
    assert error.message == "refused by the gateway"
    assert name in str(error) and path in str(error)
    assert is_already_done(error) is done
    assert is_already_flat(error) is (done and path.startswith("Position/"))
    assert is_order_gone(error) is (done and path.startswith("Order/"))
    assert gateway.paths().count(path) == 1  # a refusal is an answer: never retried


def test_helpers_reject_other_exceptions() -> None:
    assert not is_already_done(RuntimeError("x"))
    assert not is_already_flat(ValueError("x"))


async def test_success_false_without_code_is_still_an_error(
    client: GatewayRest, gateway: FakeGateway
) -> None:
    gateway.script("Order/cancel", httpx.Response(200, json={"success": False}))
    with pytest.raises(GatewayError) as caught:
        await client.cancel_order(ACCOUNT, 7)
    assert caught.value.error_code is None and not caught.value.already_done
