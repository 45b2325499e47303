"""core/events.py: every recorded live payload parses, and nothing malformed escapes as non-ParseError."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain.events import (
    AccountEvent,
    DepthEvent,
    MarketTradeEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from core.domain.parse import (
    ParseError,
    parse_account,
    parse_depth,
    parse_market_push,
    parse_order,
    parse_position,
    parse_push,
    parse_timestamp,
    parse_trade,
    parse_user_push,
)
from core.modules.contracts import Contract
from tests.builders import FIXTURES, fixture_json

STREAM = fixture_json("stream_events.json")
EVENT_TYPES = {
    "GatewayUserAccount": AccountEvent,
    "GatewayUserOrder": OrderEvent,
    "GatewayUserPosition": PositionEvent,
    "GatewayUserTrade": TradeEvent,
    "GatewayQuote": QuoteEvent,
    "GatewayTrade": MarketTradeEvent,
    "GatewayDepth": DepthEvent,
}
BIG = 2**32 + 123_456_789  # wider than int32, like live order ids (≈ 3.4e9)


def stream(target: str) -> dict:
    return next(e for e in STREAM if e["target"] == target)


def stream_data(target: str) -> dict:
    return copy.deepcopy(stream(target)["arguments"][0]["data"])


def trade_payload(**changes: object) -> dict:
    return {**stream_data("GatewayUserTrade"), **changes}


def order_payload(**changes: object) -> dict:
    return {**stream_data("GatewayUserOrder"), **changes}


# --- every recorded payload parses ---------------------------------------------------------------


def test_every_fixture_file_is_covered_here() -> None:
    covered = {"accounts_search.json", "contracts_available.json", "historical_trades_24h.json",
               "historical_orders_24h.json", "stream_events.json",
               "auth_login_key_response.json", "auth_validate_response.json"}
    assert {p.name for p in FIXTURES.glob("*.json")} == covered


def test_accounts_search_parses() -> None:
    accounts = [parse_account(a) for a in fixture_json("accounts_search.json")]
    assert [a.account_id for a in accounts] == [25775680, 26282486]
    assert all(a.can_trade is True and a.simulated is True for a in accounts)
    assert accounts[1].balance == pytest.approx(149831.92)
    assert accounts[1].name == "PRAC-V2-645601-47191819"


def test_contracts_available_parse() -> None:
    raw = fixture_json("contracts_available.json")
    contracts = [Contract.from_gateway(c) for c in raw]
    assert len(contracts) == len(raw) > 0
    assert all(c.tick_size > 0 and c.tick_value > 0 for c in contracts)
    by_id = {c.contract_id: c for c in contracts}
    assert by_id["CON.F.US.ENQ.U26"].symbol == "NQ"


def test_historical_trades_parse() -> None:
    raw = fixture_json("historical_trades_24h.json")
    trades = [parse_trade(t) for t in raw]
    assert len(trades) == len(raw) == 40
    for payload, trade in zip(raw, trades, strict=True):
        assert trade.trade_id == payload["id"]
        assert isinstance(trade.fees, Decimal) and trade.fees == Decimal(str(payload["fees"]))
        assert trade.is_opening is (payload["profitAndLoss"] is None)
        assert trade.created_at.tzinfo is UTC
    first = trades[0]
    assert (first.pnl, first.fees, first.net_pnl) == (Decimal("6.5"), Decimal("0.36"), Decimal("6.14"))
    assert first.order_id == 3424798599


def test_historical_orders_parse() -> None:
    raw = fixture_json("historical_orders_24h.json")
    orders = [parse_order(o) for o in raw]
    assert len(orders) == len(raw) > 0
    assert all(o.order_id > 2**31 for o in orders)  # int64 ids
    stop, target = orders[1], orders[2]
    assert stop.is_stop and stop.stop_price == 30196.75 and stop.parent_order_id == 3408995735
    assert target.limit_price == 30203.5 and target.linked_order_id == 3408995736
    assert not target.is_working and target.filled_price is None


@pytest.mark.parametrize("entry", STREAM, ids=[e["target"] for e in STREAM])
def test_stream_event_parses(entry: dict) -> None:
    events = parse_push(entry["hub"], entry["target"], entry["arguments"])
    assert events and all(type(e) is EVENT_TYPES[entry["target"]] for e in events)


@pytest.mark.parametrize("name", ["auth_login_key_response.json", "auth_validate_response.json"])
def test_auth_responses_load(name: str) -> None:
    body = fixture_json(name)
    assert body["success"] is True and body["errorCode"] == 0


def test_stream_details() -> None:
    (depth,) = parse_push("market", "GatewayDepth", stream("GatewayDepth")["arguments"])
    assert depth.timestamp == datetime(2026, 8, 19, 20, 51, 31, 417369, tzinfo=UTC)
    assert (depth.contract_id, depth.price, depth.volume, depth.type) == ("CON.F.US.MNQ.U26", 29547, 2, 4)
    (quote,) = parse_push("market", "GatewayQuote", stream("GatewayQuote")["arguments"])
    assert quote.last_price is None  # partial quote
    assert (quote.bid, quote.ask) == (29547.0, 29547.5)
    assert quote.timestamp == datetime(2026, 8, 19, 20, 51, 31, 348000, tzinfo=UTC)
    (closed,) = parse_push("user", "GatewayUserPosition", stream("GatewayUserPosition")["arguments"])
    assert (closed.type, closed.size, closed.signed_size) == (0, 0, 0)
    assert closed.display_name == "MNQU26"
    (trade,) = parse_push("user", "GatewayUserTrade", stream("GatewayUserTrade")["arguments"])
    # SPEC: commissions, where a trade carries them, are subtracted with the fees.
    assert trade.commissions == Decimal("0.25")
    assert trade.pnl == Decimal(-49) and trade.net_pnl == Decimal("-49.61")
    (order,) = parse_push("user", "GatewayUserOrder", stream("GatewayUserOrder")["arguments"])
    assert order.status == 5 and not order.is_working and order.limit_price is None


# --- shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition",
                                    "GatewayUserTrade"])
def test_envelope_and_bare_give_the_same_event(target: str) -> None:
    envelope = stream(target)["arguments"][0]
    assert parse_user_push(target, [envelope]) == parse_user_push(target, [envelope["data"]])


def test_list_of_envelopes_in_one_push() -> None:
    a = {"action": 0, "data": trade_payload(id=1)}
    b = {"action": 0, "data": trade_payload(id=2)}
    events = parse_user_push("GatewayUserTrade", [[a, b], trade_payload(id=3)])
    assert [e.trade_id for e in events] == [1, 2, 3]
    assert parse_user_push("GatewayUserTrade", ([a],)) == events[:1]  # a tuple of arguments too


def test_market_push_takes_contract_id_then_data() -> None:
    (q,) = parse_market_push("GatewayQuote", ("CON.F.US.MES.U26", {"lastPrice": 7730.25}))
    assert q == QuoteEvent("CON.F.US.MES.U26", last_price=7730.25)
    assert q.bid is None and q.timestamp is None


def test_trade_and_depth_arrays() -> None:
    prints = [{"price": 10.5, "volume": 2}, {"price": 10.75, "volume": 1, "timestamp": "2026-08-19T20:51:30Z"}]
    events = parse_market_push("GatewayTrade", ["C", prints])
    assert [(e.price, e.volume) for e in events] == [(10.5, 2), (10.75, 1)]
    assert events[1].timestamp == datetime(2026, 8, 19, 20, 51, 30, tzinfo=UTC)
    depth = parse_market_push("GatewayDepth", ["C", [{"price": 1, "volume": 3, "type": 1}] * 3])
    assert len(depth) == 3 and all(d.contract_id == "C" and d.volume == 3 for d in depth)
    assert parse_depth("C", {"price": 2, "volume": 1}) == [DepthEvent("C", 0, 2.0, 1)]


@pytest.mark.parametrize(("status", "working"), [
    (0, True), (1, True), (6, True), (7, True), (8, True), (42, True),
    (2, False), (3, False), (4, False), (5, False),
])
def test_order_status_working_or_terminal(status: int, working: bool) -> None:
    order = parse_order(order_payload(status=status))
    assert order.status == status and order.is_working is working


def test_missing_optional_fields() -> None:
    d = order_payload()
    assert "limitPrice" not in d and "stopPrice" not in d
    order = parse_order(d)
    assert (order.limit_price, order.stop_price, order.parent_order_id) == (None, None, None)
    trade = parse_trade({k: v for k, v in trade_payload().items() if k != "profitAndLoss"})
    assert trade.pnl is None and trade.is_opening and trade.net_pnl == Decimal("-0.61")
    bare = parse_trade({k: v for k, v in trade_payload().items() if k != "commissions"})
    assert bare.commissions is None and bare.net_pnl == Decimal("-49.36")
    account = parse_account({"id": 7, "balance": 1})
    assert account.can_trade is None and account.name is None and account.is_visible is None
    assert parse_account({"accountId": 7}).account_id == 7


def test_order_id_alias() -> None:
    d = order_payload()
    d["orderId"] = d.pop("id")
    assert parse_order(d).order_id == 3425270858


def test_64_bit_ids_survive() -> None:
    order = parse_order(order_payload(id=BIG, parentOrderId=BIG + 1, linkedOrderId=str(BIG + 2)))
    assert (order.order_id, order.parent_order_id, order.linked_order_id) == (BIG, BIG + 1, BIG + 2)
    trade = parse_trade(trade_payload(id=2**62, orderId=BIG))
    assert (trade.trade_id, trade.order_id) == (2**62, BIG)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-08-19T20:49:25.3938333+00:00", datetime(2026, 8, 19, 20, 49, 25, 393833, tzinfo=UTC)),
    ("2026-08-19T20:49:25.3938333Z", datetime(2026, 8, 19, 20, 49, 25, 393833, tzinfo=UTC)),
    ("2026-08-19T20:49:25Z", datetime(2026, 8, 19, 20, 49, 25, tzinfo=UTC)),
    ("2026-08-19T15:49:25.052-05:00", datetime(2026, 8, 19, 20, 49, 25, 52000, tzinfo=UTC)),
    ("2026-08-19T20:49:25.15673", datetime(2026, 8, 19, 20, 49, 25, 156730, tzinfo=UTC)),
])
def test_timestamps_parse_to_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed is not None and parsed.utcoffset() == timedelta(0)
    assert parsed.tzinfo is UTC


def test_depth_sentinel_timestamp_is_none() -> None:
    assert parse_timestamp("0001-01-01T00:00:00+00:00") is None
    assert parse_timestamp(None) is None
    (d,) = parse_depth("C", [{"price": 1, "timestamp": "0001-01-01T00:00:00+00:00"}])
    assert d.timestamp is None


def test_money_is_decimal_without_float_noise() -> None:
    trade = parse_trade(trade_payload(fees=0.36, profitAndLoss=0.1))
    assert trade.fees == Decimal("0.36") and trade.pnl == Decimal("0.1")
    assert str(trade.fees) == "0.36" and trade.net_pnl == Decimal("-0.51")  # 0.1 − 0.36 − 0.25
    assert sum((trade.fees for _ in range(10)), Decimal(0)) == Decimal("3.6")
    assert parse_trade(trade_payload(fees="1.23", profitAndLoss=-5)).pnl == Decimal(-5)
    assert parse_trade(trade_payload(fees=None)).fees == Decimal(0)


def test_net_pnl() -> None:
    assert parse_trade(trade_payload(profitAndLoss=6.5, fees=0.36)).net_pnl == Decimal("5.89")
    assert parse_trade(trade_payload(profitAndLoss=6.5, fees=0.36, commissions=None)).net_pnl == Decimal("6.14")
    assert parse_trade(trade_payload(profitAndLoss=None, fees=0.51)).net_pnl == Decimal("-0.76")
    voided = parse_trade(trade_payload(profitAndLoss=-100, fees=0.36, voided=True))
    assert voided.voided and voided.net_pnl == Decimal(0)


@pytest.mark.parametrize(("type_", "size", "signed"), [(1, 3, 3), (2, 2, -2), (0, 0, 0)])
def test_position_signed_size(type_: int, size: int, signed: int) -> None:
    payload = {"id": 1, "accountId": 2, "contractId": "C", "type": type_, "size": size,
               "averagePrice": 100.25}
    assert parse_position(payload).signed_size == signed


# --- malformed payloads ---------------------------------------------------------------------------


MALFORMED = [
    ("order not an object", lambda: parse_order(["id", 1]), "not an object"),
    ("missing accountId", lambda: parse_order({k: v for k, v in order_payload().items()
                                               if k != "accountId"}), "'accountId'"),
    ("id as a bool", lambda: parse_order(order_payload(id=True)), "'id'"),
    ("non-numeric price", lambda: parse_trade(trade_payload(price="abc")), "'price'"),
    ("NaN price", lambda: parse_trade(trade_payload(price="nan")), "'price'"),
    ("huge price", lambda: parse_trade(trade_payload(price=10**400)), "'price'"),
    ("infinite fees", lambda: parse_trade(trade_payload(fees=math.inf)), "'fees'"),
    ("sNaN pnl", lambda: parse_trade(trade_payload(profitAndLoss="sNaN")), "'profitAndLoss'"),
    ("list fees", lambda: parse_trade(trade_payload(fees=[1, 2])), "'fees'"),
    ("bad timestamp", lambda: parse_trade(trade_payload(creationTimestamp="yesterday")),
     "'creationTimestamp'"),
    ("timestamp past datetime.max", lambda: parse_trade(
        trade_payload(creationTimestamp="9999-12-31T23:59:59-01:00")), "'creationTimestamp'"),
    ("sentinel trade time", lambda: parse_trade(
        trade_payload(creationTimestamp="0001-01-01T00:00:00Z")), "'creationTimestamp'"),
    ("numeric timestamp", lambda: parse_order(order_payload(updateTimestamp=20260819)),
     "'updateTimestamp'"),
    ("fractional size", lambda: parse_trade(trade_payload(size=1.5)), "'size'"),
    ("canTrade as text", lambda: parse_account({"id": 1, "canTrade": "yes"}), "'canTrade'"),
    ("contractId not a string", lambda: parse_order(order_payload(contractId=5)), "'contractId'"),
    ("negative position size", lambda: parse_position(
        {"accountId": 1, "contractId": "C", "type": 1, "size": -2}), "'size'"),
    ("unknown user target", lambda: parse_push("user", "GatewayUserFoo", [{}]), "GatewayUserFoo"),
    ("unknown market target", lambda: parse_push("market", "GatewayBar", ["C", {}]), "GatewayBar"),
    ("unhashable target", lambda: parse_push("user", ["GatewayUserTrade"], [{}]), "user-hub"),
    ("unknown hub", lambda: parse_push("admin", "GatewayUserTrade", [{}]), "admin"),
    ("market push with one argument", lambda: parse_push("market", "GatewayQuote", ["C"]),
     "contractId"),
    ("market push not a list", lambda: parse_market_push("GatewayQuote", "C"), "contractId"),
    ("user push without arguments", lambda: parse_user_push("GatewayUserOrder", []),
     "without arguments"),
    ("envelope data not an object", lambda: parse_user_push(
        "GatewayUserOrder", [{"action": 1, "data": None}]), "data"),
    ("user argument not an object", lambda: parse_user_push("GatewayUserOrder", ["x"]),
     "not an object"),
    ("quote contract id not a string", lambda: parse_market_push("GatewayQuote", [5, {}]),
     "contract id"),
    ("depth item not an object", lambda: parse_market_push("GatewayDepth", ["C", [1]]),
     "not an object"),
    ("print without price", lambda: parse_market_push("GatewayTrade", ["C", [{"volume": 1}]]),
     "'price'"),
    ("huge int in a message", lambda: parse_account({"id": 1, "name": 10**5000}), "'name'"),
    ("user push error names the target", lambda: parse_user_push(
        "GatewayUserTrade", [{"action": 0, "data": trade_payload(price=None)}]),
     "GatewayUserTrade: missing field 'price'"),
    ("lists nested absurdly deep", lambda: parse_user_push(
        "GatewayUserTrade", [[[[[[trade_payload()]]]]]]), "nested"),
]


@pytest.mark.parametrize(("call", "fragment"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_payload_raises_parse_error(call, fragment: str) -> None:
    with pytest.raises(ParseError) as excinfo:
        call()
    assert type(excinfo.value) is ParseError and isinstance(excinfo.value, ValueError)
    assert fragment in str(excinfo.value)


# --- property: anything in, events or ParseError out ---------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_USER_SAMPLES = [(e["target"], e["arguments"][0]["data"]) for e in STREAM if e["hub"] == "user"]
_USER_SAMPLES += [("GatewayUserTrade", t) for t in fixture_json("historical_trades_24h.json")[:5]]
_USER_SAMPLES += [("GatewayUserOrder", o) for o in fixture_json("historical_orders_24h.json")[:5]]
_USER_SAMPLES += [("GatewayUserAccount", a) for a in fixture_json("accounts_search.json")]
_MARKET_SAMPLES = [(e["target"], e["arguments"]) for e in STREAM if e["hub"] == "market"]
_JUNK_SCALARS = st.sampled_from(["", "nan", "inf", "1e400", "0001-01-01T00:00:00Z",
                                 "9999-12-31T23:59:59-01:00", "-1", True, -1, 2**70, 1.5])


@st.composite
def _mutated(draw: st.DrawFn, payload: dict) -> dict:
    out = {}
    for key, value in payload.items():
        choice = draw(st.sampled_from(["keep", "keep", "drop", "junk", "scalar"]))
        if choice == "keep":
            out[key] = value
        elif choice == "junk":
            out[key] = draw(_json)
        elif choice == "scalar":
            out[key] = draw(_JUNK_SCALARS)
    return out


@st.composite
def _user_push(draw: st.DrawFn) -> tuple[object, object]:
    target, payload = draw(st.sampled_from(_USER_SAMPLES))
    entity = draw(_mutated(payload))
    shape = draw(st.sampled_from(["bare", "envelope", "list", "junk"]))
    argument = {"bare": entity, "envelope": {"action": 1, "data": entity},
                "list": [{"action": 1, "data": entity}, entity], "junk": draw(_json)}[shape]
    target = draw(st.sampled_from([target, target, "GatewayUserNope"]) | _json)
    return target, draw(st.sampled_from([[argument], [argument, argument], argument]))


@st.composite
def _market_push(draw: st.DrawFn) -> tuple[object, object]:
    target, (contract_id, data) = draw(st.sampled_from(_MARKET_SAMPLES))
    if isinstance(data, list):
        data = [draw(_mutated(item)) for item in data]
    else:
        data = draw(_mutated(data) | _json)
    contract_id = draw(st.sampled_from([contract_id, contract_id]) | _json)
    target = draw(st.sampled_from([target, target, "GatewayNope"]) | _json)
    arguments = draw(st.sampled_from([[contract_id, data], [contract_id], (contract_id, data, 1)])
                     | _json)
    return target, arguments


def _check_sane(event: object) -> None:
    for name in event.__slots__:  # type: ignore[attr-defined]
        value = getattr(event, name)
        if isinstance(value, float):
            assert math.isfinite(value), name
        elif isinstance(value, Decimal):
            assert value.is_finite(), name
        elif isinstance(value, datetime):
            assert value.tzinfo is UTC, name
    if isinstance(event, TradeEvent):
        assert isinstance(event.net_pnl, Decimal)


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.tuples(st.just("user"), _user_push()),
    st.tuples(st.just("market"), _market_push()),
    st.tuples(st.sampled_from(["user", "market"]), st.tuples(_json, _json)),
))
def test_any_push_gives_events_or_parse_error(push: tuple[str, tuple[object, object]]) -> None:
    hub, (target, arguments) = push
    parse = parse_user_push if hub == "user" else parse_market_push
    try:
        events = parse(target, arguments)  # type: ignore[arg-type]
    except ParseError:
        return
    assert isinstance(events, list)
    for event in events:
        assert type(event) is EVENT_TYPES[target]  # type: ignore[index]
        _check_sane(event)
