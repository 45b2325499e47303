from __future__ import annotations

import re

import pytest

from core.sim.exchange import SimExchange
from core.sim.models import Bracket, SimAccount, UserEvent
from tests.sim.support import Clock, fixture

MNQ = "CON.F.US.MNQ.U26"
ES = "CON.F.US.EP.U26"
ACCOUNT = 26282486
LIMIT, MARKET, STOP, TRAIL = 1, 2, 4, 5
BUY, SELL = 0, 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[UserEvent]:
    return []


@pytest.fixture
def ex(clock: Clock, events: list[UserEvent]) -> SimExchange:
    exchange = SimExchange(now=clock, accounts=[SimAccount(ACCOUNT, "PRAC-V2-1", 50_000.0)])
    exchange.subscribe(events.append)
    return exchange


def of(events: list[UserEvent], target: str) -> list[UserEvent]:
    return [e for e in events if e.target == "GatewayUser" + target]


def test_live_mnq_round_trip_gross_pnl_and_fees(ex: SimExchange, events: list[UserEvent]) -> None:
    ex.set_price(MNQ, 29539.0)
    assert ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1).success
    ex.set_price(MNQ, 29542.25)
    assert ex.place_order(ACCOUNT, MNQ, MARKET, SELL, 1).success

    opening, closing = (e.data for e in of(events, "Trade"))
    assert "profitAndLoss" not in opening  # stream omits nulls, like live
    assert closing["profitAndLoss"] == 6.5
    assert opening["fees"] == closing["fees"] == 0.36
    assert all(e.action == 0 for e in of(events, "Trade"))
    rest = [t.payload(stream=False) for t in ex.trades(ACCOUNT)]
    assert rest[0]["profitAndLoss"] is None and rest[1]["profitAndLoss"] == 6.5
    assert set(rest[0]) == set(fixture("historical_trades_24h.json")[0])
    assert ex.accounts[ACCOUNT].balance == pytest.approx(50_000 + 6.5 - 0.72)
    removed = of(events, "Position")[-1]
    assert removed.action == 2 and removed.data["type"] == 0 and removed.data["size"] == 0
    assert of(events, "Account")[-1].data["balance"] == 50005.78


def test_es_docs_example_fees_per_half_turn(ex: SimExchange) -> None:
    ex.set_price(ES, 6064.25)
    ex.place_order(ACCOUNT, ES, MARKET, BUY, 1)
    ex.set_price(ES, 6065.25)
    ex.close_position(ACCOUNT, ES)
    trades = ex.trades(ACCOUNT)
    assert [t.profit_and_loss for t in trades] == [None, 50.0]
    assert [t.fees for t in trades] == [1.40, 1.40]


def test_scale_in_keeps_id_and_weights_average(ex: SimExchange, events: list[UserEvent]) -> None:
    ex.set_price(MNQ, 29500.0)
    ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 3)
    first = ex.position(ACCOUNT, MNQ)
    assert first is not None
    ex.set_price(MNQ, 29510.0)
    ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 4)
    pos = ex.position(ACCOUNT, MNQ)
    assert pos is not None and pos.id == first.id
    assert pos.net == 7
    assert pos.average_price == pytest.approx((3 * 29500 + 4 * 29510) / 7)
    last = of(events, "Position")[-1].data
    assert last["size"] == 7 and last["type"] == 1 and last["contractDisplayName"] == "MNQU26"
    assert set(last) == {"id", "accountId", "contractId", "contractDisplayName",
                         "creationTimestamp", "type", "size", "averagePrice"}
    assert 0 < pos.id < 2**31
    assert all(t.profit_and_loss is None for t in ex.trades(ACCOUNT))


def test_flip_closes_with_pnl_and_opens_the_rest(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 2)
    long_id = ex.position(ACCOUNT, MNQ).id  # type: ignore[union-attr]
    ex.set_price(MNQ, 29490.0)
    ex.place_order(ACCOUNT, MNQ, MARKET, SELL, 3)
    closing, opening = ex.trades(ACCOUNT)[1:]
    assert (closing.size, closing.profit_and_loss) == (2, -40.0)  # 40 ticks x $0.50 x 2
    assert (opening.size, opening.profit_and_loss) == (1, None)
    assert closing.order_id == opening.order_id
    short = ex.position(ACCOUNT, MNQ)
    assert short is not None and short.net == -1 and short.average_price == 29490.0
    assert short.id != long_id
    ex.set_price(MNQ, 29480.0)
    ex.close_position(ACCOUNT, MNQ)
    assert ex.trades(ACCOUNT)[-1].profit_and_loss == 20.0  # short gains when price falls


def test_limit_rests_then_fills_at_its_price(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    result = ex.place_order(ACCOUNT, MNQ, LIMIT, BUY, 1, limit_price=29490.0)
    order = ex.order(result.order_id or 0)
    assert order is not None and order.status == 1
    ex.set_price(MNQ, 29495.0)
    assert order.status == 1
    ex.set_price(MNQ, 29488.0)
    assert order.status == 2 and order.filled_price == 29490.0 and order.fill_volume == 1


def test_stop_triggers_no_better_than_stop_and_wrong_side_rejected(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    bad = ex.place_order(ACCOUNT, MNQ, STOP, SELL, 1, stop_price=29510.0)
    assert (bad.success, bad.error_code) == (False, 2)
    off_tick = ex.place_order(ACCOUNT, MNQ, STOP, SELL, 1, stop_price=29490.1)
    assert not off_tick.success
    ok = ex.place_order(ACCOUNT, MNQ, STOP, SELL, 1, stop_price=29490.0)
    ex.set_price(MNQ, 29489.0)
    order = ex.order(ok.order_id or 0)
    assert order is not None and order.status == 2 and order.filled_price == 29489.0


def test_trailing_stop_only_tightens(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    # trailPrice is the level the trail starts at: 20 ticks below the last trade.
    result = ex.place_order(ACCOUNT, MNQ, TRAIL, SELL, 1, trail_price=29495.0)
    order = ex.order(result.order_id or 0)
    assert order is not None and order.stop_price == 29495.0
    assert order.payload(stream=False)["trailPrice"] == 5  # reads back as the distance
    assert order.payload(stream=False)["trailDistance"] == 20
    ex.set_price(MNQ, 29510.0)
    assert order.stop_price == 29505.0
    ex.set_price(MNQ, 29507.0)
    assert order.stop_price == 29505.0 and order.status == 1
    ex.set_price(MNQ, 29504.0)
    assert order.status == 2


def test_bracket_children_suspended_then_armed_then_oco(
    ex: SimExchange, events: list[UserEvent]
) -> None:
    ex.set_price(MNQ, 29500.0)
    result = ex.place_order(ACCOUNT, MNQ, LIMIT, BUY, 2, limit_price=29495.0, custom_tag="glt-1",
                            stop_loss_bracket=Bracket(-20, STOP),
                            take_profit_bracket=Bracket(40, LIMIT))
    parent_id = result.order_id
    sl, tp = (o for o in ex.orders(ACCOUNT) if o.parent_id == parent_id)
    assert (sl.status, tp.status) == (8, 8)
    assert sl.stop_price is None and tp.limit_price is None
    assert (sl.custom_tag, tp.custom_tag) == ("glt-1-SL", "glt-1-TP")
    assert tp.linked_id == sl.id and sl.created == tp.created == ex.order(parent_id or 0).created  # type: ignore[union-attr]
    assert [o.id for o in ex.open_orders(ACCOUNT)] == [parent_id]  # status 8 is not "open"
    suspended = [e.data for e in of(events, "Order") if e.data.get("status") == 8]
    assert {d["customTag"] for d in suspended} == {"glt-1-SL", "glt-1-TP"}
    assert all("stopPrice" not in d and "limitPrice" not in d for d in suspended)

    ex.set_price(MNQ, 29495.0)  # entry fills at 29495
    assert (sl.status, tp.status) == (1, 1)
    assert sl.stop_price == 29490.0 and tp.limit_price == 29505.0
    armed = of(events, "Order")[-1].data
    assert armed["parentOrderId"] == parent_id and armed["linkedOrderId"] == sl.id

    ex.set_price(MNQ, 29506.0)  # take profit
    assert tp.status == 2 and sl.status == 3
    assert ex.position(ACCOUNT, MNQ) is None
    assert ex.trades(ACCOUNT)[-1].profit_and_loss == 40.0  # 40 ticks x $0.50 x 2


def test_cancelling_an_unfilled_entry_cancels_its_bracket(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    result = ex.place_order(ACCOUNT, MNQ, LIMIT, BUY, 1, limit_price=29400.0, custom_tag="t",
                            stop_loss_bracket=Bracket(10, STOP))
    assert ex.cancel_order(ACCOUNT, result.order_id or 0).success
    assert {o.status for o in ex.orders(ACCOUNT)} == {3}
    again = ex.cancel_order(ACCOUNT, result.order_id or 0)
    assert (again.success, again.error_code) == (False, 2)
    assert ex.cancel_order(ACCOUNT, 42).error_code == 2


def test_custom_tag_must_be_unique_per_account(ex: SimExchange) -> None:
    ex.add_account(2, "other", 1000.0)
    assert ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1, custom_tag="x",
                          stop_loss_bracket=Bracket(-10, STOP)).success
    reuse = ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1, custom_tag="x")
    assert (reuse.success, reuse.error_code) == (False, 2)
    assert not ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1, custom_tag="x-SL").success
    assert ex.place_order(2, MNQ, MARKET, BUY, 1, custom_tag="x").success


def test_close_and_partial_close_error_codes(ex: SimExchange) -> None:
    assert ex.close_position(ACCOUNT, MNQ).error_code == 2
    assert ex.partial_close_position(ACCOUNT, MNQ, 1).error_code == 2
    assert ex.close_position(999, MNQ).error_code == 1
    ex.place_order(ACCOUNT, MNQ, MARKET, SELL, 3)
    assert ex.partial_close_position(ACCOUNT, MNQ, 0).error_code == 5
    assert ex.partial_close_position(ACCOUNT, MNQ, 4).error_code == 5
    assert ex.partial_close_position(ACCOUNT, MNQ, 2).success
    assert ex.position(ACCOUNT, MNQ).net == -1  # type: ignore[union-attr]
    assert ex.close_position(ACCOUNT, MNQ).success
    assert ex.position(ACCOUNT, MNQ) is None


def test_can_trade_false_rejects_entries_but_allows_closes(
    ex: SimExchange, events: list[UserEvent]
) -> None:
    ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 2)
    ex.set_can_trade(ACCOUNT, False)
    assert of(events, "Account")[-1].data["canTrade"] is False
    refused = ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1)
    assert (refused.success, refused.error_code, refused.order_id) == (False, 4, None)
    assert ex.partial_close_position(ACCOUNT, MNQ, 1).success
    assert ex.close_position(ACCOUNT, MNQ).success


def test_modify(ex: SimExchange) -> None:
    ex.set_price(MNQ, 29500.0)
    order_id = ex.place_order(ACCOUNT, MNQ, LIMIT, BUY, 1, limit_price=29400.0).order_id or 0
    assert ex.modify_order(ACCOUNT, order_id, size=3, limit_price=29450.0).success
    order = ex.order(order_id)
    assert order is not None and (order.size, order.limit_price, order.status) == (3, 29450.0, 1)
    assert ex.modify_order(ACCOUNT, order_id, stop_price=29000.0).error_code == 3
    assert ex.modify_order(ACCOUNT, order_id, limit_price=29500.0).success  # now marketable
    assert order.status == 2
    assert ex.modify_order(ACCOUNT, order_id, size=1).error_code == 2
    stop_id = ex.place_order(ACCOUNT, MNQ, STOP, SELL, 3, stop_price=29490.0).order_id or 0
    assert ex.modify_order(ACCOUNT, stop_id, stop_price=29510.0).error_code == 3
    assert ex.modify_order(ACCOUNT, stop_id, stop_price=29495.0).success


def test_payload_shapes_ids_and_timestamps(ex: SimExchange, events: list[UserEvent]) -> None:
    ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1, custom_tag="a",
                   stop_loss_bracket=Bracket(-10, STOP), take_profit_bracket=Bracket(10, LIMIT))
    live_keys = set().union(*fixture("historical_orders_24h.json"))
    for order in ex.orders(ACCOUNT):
        row = order.payload(stream=False)
        assert set(row) <= live_keys and order.id > 3_400_000_000
    for event in events:
        for key in ("creationTimestamp", "updateTimestamp"):
            if key in event.data:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00",
                                    event.data[key])
    assert all(t.id > 3_400_000_000 for t in ex.trades(ACCOUNT))
    assert {e.action for e in of(events, "Order")} == {1}


def test_a_failing_listener_does_not_break_the_exchange(ex: SimExchange) -> None:
    def boom(event: UserEvent) -> None:
        raise RuntimeError("consumer bug")

    ex.subscribe(boom)
    assert ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 1).success
    assert ex.position(ACCOUNT, MNQ) is not None


def test_unknown_account_and_contract(ex: SimExchange) -> None:
    assert ex.place_order(1, MNQ, MARKET, BUY, 1).error_code == 1
    assert ex.place_order(ACCOUNT, "CON.F.US.NOPE.Z26", MARKET, BUY, 1).error_code == 8
    assert ex.place_order(ACCOUNT, MNQ, MARKET, BUY, 0).error_code == 2


def test_accepted_then_rejected_like_live(ex: SimExchange, events: list[UserEvent]) -> None:
    ex.reject_next = 1
    result = ex.place_order(ACCOUNT, MNQ, MARKET, SELL, 1, custom_tag="r")
    assert result.success and result.order_id
    statuses = [e.data["status"] for e in of(events, "Order")]
    assert statuses == [6, 5]
    assert ex.position(ACCOUNT, MNQ) is None and ex.trades(ACCOUNT) == []
    assert ex.place_order(ACCOUNT, MNQ, MARKET, SELL, 1).success
    assert ex.position(ACCOUNT, MNQ) is not None
