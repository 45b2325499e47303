"""SPEC: missing fields mean "unchanged" for every stream object; a position never seen that
arrives without its side or price is re-read over REST, never guessed; a value that is present
but impossible is refused at the parser (and its account re-read), never state."""

from __future__ import annotations

import pytest

from core.domain.commands import CloseContract
from core.domain.events import OrderEvent, PositionEvent
from core.domain.parse import ParseError, parse_order, parse_position, parse_quote, parse_trade
from core.engine.notices import RereadNeeded
from tests.builders import ACCOUNT, MNQ, T0, config, make_engine, order, position, quote

OPEN_LOSS = {"daily_unrealized_loss": {"limit": 300}, "max_unrealized_profit": {"target": 1000}}


def partial_position(**fields: object) -> PositionEvent:
    base: dict[str, object] = {"position_id": 1, "account_id": ACCOUNT, "contract_id": MNQ,
                               "type": 1, "size": 1, "average_price": 20000.0}
    base.update(fields)
    return PositionEvent(**base)  # type: ignore[arg-type]


def test_a_position_update_without_average_price_keeps_the_known_one() -> None:
    # Without it, the price used to become 0: a false $40,000 "profit" on MNQ and a close.
    engine, _, port = make_engine(config(OPEN_LOSS))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20010.0))
    engine.handle(partial_position(size=2, average_price=None))
    held = engine.mirror.account(ACCOUNT).positions[MNQ]
    assert (held.signed_size, held.average_price) == (2, 20000.0)
    assert port.commands == []


def test_a_position_update_without_type_keeps_the_known_side() -> None:
    engine, _, port = make_engine(config(OPEN_LOSS))
    engine.handle(position(MNQ, -2, 20000.0))
    engine.handle(partial_position(type=None, size=3, average_price=20001.0))
    held = engine.mirror.account(ACCOUNT).positions[MNQ]
    assert (held.signed_size, held.average_price) == (-3, 20001.0)
    assert port.commands == []


def test_a_position_never_seen_without_its_side_is_re_read_not_guessed() -> None:
    engine, _, port = make_engine(config({"max_contracts": {"limit": 1}}))
    asked: list[RereadNeeded] = []
    engine.bus.subscribe(asked.append, RereadNeeded)
    engine.handle(partial_position(type=None, size=5))
    assert MNQ not in engine.mirror.account(ACCOUNT).positions
    assert [n.account_id for n in asked] == [ACCOUNT]
    assert port.commands == []


def test_a_position_never_seen_without_its_price_is_re_read_not_guessed() -> None:
    engine, _, port = make_engine(config(OPEN_LOSS))
    asked: list[RereadNeeded] = []
    engine.bus.subscribe(asked.append, RereadNeeded)
    engine.handle(partial_position(average_price=None))
    assert MNQ not in engine.mirror.account(ACCOUNT).positions
    assert len(asked) == 1


def test_a_close_event_needs_neither_side_nor_price() -> None:
    engine, _, _ = make_engine(config())
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(partial_position(type=None, size=0, average_price=None))
    assert MNQ not in engine.mirror.account(ACCOUNT).positions


def test_an_order_update_without_stop_price_keeps_the_known_stop() -> None:
    engine, _, _ = make_engine(config())
    engine.handle(order(MNQ, side=1, stop_price=19980.0, order_id=5))
    update = OrderEvent(order_id=5, account_id=ACCOUNT, contract_id=MNQ, status=1, type=None,
                        side=1, size=None)
    engine.handle(update)
    kept = engine.mirror.account(ACCOUNT).orders[5]
    assert (kept.stop_price, kept.type, kept.size) == (19980.0, 4, 1)


def test_a_quote_without_last_price_keeps_the_previous_mark() -> None:
    engine, _, port = make_engine(config(OPEN_LOSS))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20010.0))
    engine.handle(quote(MNQ, bid=19000.0, ask=19000.5))  # a partial quote: no lastPrice
    assert engine.quotes.mark(MNQ) == 20010.0
    assert port.commands == []


def test_before_any_last_price_the_mark_is_the_mid() -> None:
    engine, _, port = make_engine(config(OPEN_LOSS))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, bid=19849.0, ask=19851.0))  # mid 19850: −$300
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, MNQ)]


def test_with_no_price_at_all_no_open_pnl_decision_is_taken() -> None:
    engine, clock, port = make_engine(config(OPEN_LOSS))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, bid=19000.0))  # a bid alone is no price
    engine.tick()
    assert port.commands == []


STREAM_POSITION = {"id": 1, "accountId": ACCOUNT, "contractId": MNQ, "type": 1, "size": 1,
                   "averagePrice": 20000.0, "creationTimestamp": T0.isoformat()}


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", -1), ("averagePrice", 0), ("averagePrice", -5.0), ("averagePrice", float("nan")),
     ("averagePrice", float("inf")), ("averagePrice", "1e999")],
)
def test_an_impossible_position_value_is_refused_and_names_its_account(field: str, value: object) -> None:
    with pytest.raises(ParseError) as refused:
        parse_position({**STREAM_POSITION, field: value})
    assert refused.value.account_id == ACCOUNT


def test_a_position_without_size_is_refused_not_taken_as_flat() -> None:
    with pytest.raises(ParseError):
        parse_position({k: v for k, v in STREAM_POSITION.items() if k != "size"})


def test_missing_side_and_price_parse_as_unknown() -> None:
    event = parse_position({k: v for k, v in STREAM_POSITION.items() if k not in ("type", "averagePrice")})
    assert (event.type, event.average_price, event.side_known) == (None, None, False)


def test_impossible_order_trade_and_quote_values_are_refused() -> None:
    order_d = {"id": 5, "accountId": ACCOUNT, "contractId": MNQ, "status": 1, "type": 4, "side": 1,
               "size": 1, "stopPrice": 0}
    with pytest.raises(ParseError) as refused:
        parse_order(order_d)
    assert refused.value.account_id == ACCOUNT
    with pytest.raises(ParseError):
        parse_order({**order_d, "stopPrice": 19980.0, "size": -2})
    trade_d = {"id": 1, "accountId": ACCOUNT, "contractId": MNQ, "creationTimestamp": T0.isoformat(),
               "price": 20000.0, "side": 1, "size": 1, "fees": 0.36}
    for bad in ({"price": 0}, {"price": -1.0}, {"size": 0}, {"fees": float("nan")}):
        with pytest.raises(ParseError):
            parse_trade({**trade_d, **bad})
    for bad_quote in ({"lastPrice": 0}, {"bestBid": -1}, {"bestAsk": float("nan")}):
        with pytest.raises(ParseError):
            parse_quote(MNQ, bad_quote)
