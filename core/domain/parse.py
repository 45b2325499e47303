"""Gateway payloads → typed domain events.

The gateway is loose about shapes: user-hub pushes come wrapped as ``{action, data}`` or bare,
sometimes as a list of envelopes; market pushes are ``(contractId, data)``; quotes are partial;
stream payloads omit null fields; order status goes beyond the documented 0-6. Every parser
here accepts all of that and raises one :class:`ParseError` for anything it cannot read, so the
caller can log the payload and move on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from core.domain.events import (
    AccountEvent,
    DepthEvent,
    GatewayEvent,
    MarketTradeEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)

# ParseError and parse_timestamp are part of this module's public face.
from core.domain.payload import ParseError as ParseError
from core.domain.payload import (
    as_mapping,
    read_bool,
    read_decimal,
    read_float,
    read_id_str,
    read_int,
    read_opt_int,
    read_req_float,
    read_str,
    read_ts,
    show,
)
from core.domain.payload import parse_timestamp as parse_timestamp

# --- entity parsers (REST lists and hub pushes share them) ---------------------------------------


def parse_account(payload: Any) -> AccountEvent:
    d = as_mapping(payload, "account")
    balance = read_float(d, "balance")
    return AccountEvent(
        account_id=read_int(d, "id", "accountId"),
        name=read_str(d, "name", required=False),
        balance=balance,
        can_trade=read_bool(d, "canTrade"),
        is_visible=read_bool(d, "isVisible"),
        simulated=read_bool(d, "simulated"),
    )


def _positive(value: float | None, field: str, account_id: int) -> float | None:
    """A price that is present must be above zero: it never becomes state otherwise."""
    if value is not None and value <= 0:
        raise ParseError(f"field {field!r} is not a positive price: {value!r}", account_id)
    return value


def _account_of(d: Mapping[str, Any]) -> int:
    return read_int(d, "accountId")


def parse_order(payload: Any) -> OrderEvent:
    d = as_mapping(payload, "order")
    account_id = _account_of(d)
    try:
        contract_id = read_id_str(d, "contractId")
        size = read_opt_int(d, "size")
        if size is not None and size < 0:
            raise ParseError(f"field 'size' is negative: {size}")
        return OrderEvent(
            order_id=read_int(d, "id", "orderId"),
            account_id=account_id,
            contract_id=contract_id,
            status=read_int(d, "status"),
            type=read_opt_int(d, "type"),
            side=read_int(d, "side"),
            size=size,
            symbol_id=read_str(d, "symbolId", required=False),
            created_at=read_ts(d, "creationTimestamp"),
            updated_at=read_ts(d, "updateTimestamp"),
            limit_price=_positive(read_float(d, "limitPrice"), "limitPrice", account_id),
            stop_price=_positive(read_float(d, "stopPrice"), "stopPrice", account_id),
            trail_price=read_float(d, "trailPrice"),
            fill_volume=read_int(d, "fillVolume", required=False),
            filled_price=read_float(d, "filledPrice"),
            custom_tag=read_str(d, "customTag", required=False),
            parent_order_id=read_opt_int(d, "parentOrderId"),
            linked_order_id=read_opt_int(d, "linkedOrderId"),
        )
    except ParseError as exc:
        raise ParseError(str(exc), account_id) from None


def parse_position(payload: Any) -> PositionEvent:
    d = as_mapping(payload, "position")
    account_id = _account_of(d)
    try:
        contract_id = read_id_str(d, "contractId")
        # A missing size is not "flat": nothing says what the position is now.
        size = read_int(d, "size")
        if size < 0:
            raise ParseError(f"field 'size' is negative: {size}")
        price = read_float(d, "averagePrice")
        if size > 0:  # a close event (size 0) may carry any price: it is never used
            _positive(price, "averagePrice", account_id)
        return PositionEvent(
            position_id=read_int(d, "id", required=False),
            account_id=account_id,
            contract_id=contract_id,
            type=read_opt_int(d, "type"),
            size=size,
            average_price=price if size > 0 else None,
            created_at=read_ts(d, "creationTimestamp"),
            display_name=read_str(d, "contractDisplayName", required=False),
        )
    except ParseError as exc:
        raise ParseError(str(exc), account_id) from None


def parse_trade(payload: Any) -> TradeEvent:
    d = as_mapping(payload, "trade")
    account_id = _account_of(d)
    try:
        contract_id = read_id_str(d, "contractId")
        created_at = read_ts(d, "creationTimestamp")
        if created_at is None:
            raise ParseError("missing field 'creationTimestamp'")
        size = read_int(d, "size")
        if size <= 0:
            raise ParseError(f"field 'size' is not a positive count: {size}")
        price = read_req_float(d, "price")
        _positive(price, "price", account_id)
        return TradeEvent(
            trade_id=read_int(d, "id"),
            account_id=account_id,
            contract_id=contract_id,
            created_at=created_at,
            price=price,
            side=read_int(d, "side"),
            size=size,
            fees=read_decimal(d, "fees") or Decimal(0),
            pnl=read_decimal(d, "profitAndLoss"),
            voided=bool(read_bool(d, "voided")),
            order_id=read_opt_int(d, "orderId"),
            commissions=read_decimal(d, "commissions"),
        )
    except ParseError as exc:
        raise ParseError(str(exc), account_id) from None


def _quote_price(d: Mapping[str, Any], key: str) -> float | None:
    value = read_float(d, key)
    if value is not None and value <= 0:
        raise ParseError(f"field {key!r} is not a positive price: {value!r}")
    return value


def _required_price(d: Mapping[str, Any], key: str) -> float:
    value = _quote_price(d, key)
    if value is None:
        raise ParseError(f"missing field {key!r}")
    return value


def _market_contract(contract_id: Any, what: str) -> str:
    if not isinstance(contract_id, str) or not contract_id:
        raise ParseError(f"{what} contract id is not a string: {show(contract_id)}")
    return read_id_str({"contractId": contract_id}, "contractId")


def parse_quote(contract_id: Any, payload: Any) -> QuoteEvent:
    contract_id = _market_contract(contract_id, "quote")
    d = as_mapping(payload, "quote")
    return QuoteEvent(
        contract_id=contract_id,
        last_price=_quote_price(d, "lastPrice"),
        bid=_quote_price(d, "bestBid"),
        ask=_quote_price(d, "bestAsk"),
        timestamp=read_ts(d, "timestamp") or read_ts(d, "lastUpdated"),
    )


def _items(payload: Any, what: str) -> Sequence[Any]:
    if isinstance(payload, Mapping):
        return [payload]
    if isinstance(payload, list | tuple):
        return payload
    raise ParseError(f"{what} payload is neither an object nor a list")


def parse_market_trades(contract_id: Any, payload: Any) -> list[MarketTradeEvent]:
    contract_id = _market_contract(contract_id, "trade")
    out = []
    for item in _items(payload, "market trade"):
        d = as_mapping(item, "market trade")
        out.append(
            MarketTradeEvent(
                contract_id=contract_id,
                price=_required_price(d, "price"),
                volume=read_int(d, "volume", required=False),
                timestamp=read_ts(d, "timestamp"),
            )
        )
    return out


def parse_depth(contract_id: Any, payload: Any) -> list[DepthEvent]:
    contract_id = _market_contract(contract_id, "depth")
    out = []
    for item in _items(payload, "depth"):
        d = as_mapping(item, "depth")
        out.append(
            DepthEvent(
                contract_id=contract_id,
                type=read_int(d, "type", required=False),
                price=read_float(d, "price") or 0.0,
                volume=read_int(d, "volume", required=False),
                timestamp=read_ts(d, "timestamp"),
            )
        )
    return out


# --- hub pushes ----------------------------------------------------------------------------------


_MAX_NESTING = 4


def unwrap_user_payload(argument: Any, _depth: int = 0) -> list[Mapping[str, Any]]:
    """The entities inside one user-hub argument: an envelope, a bare entity, or a list of either."""
    if isinstance(argument, list | tuple):
        if _depth >= _MAX_NESTING:
            raise ParseError("user event lists are nested too deeply")
        out: list[Mapping[str, Any]] = []
        for item in argument:
            out.extend(unwrap_user_payload(item, _depth + 1))
        return out
    d = as_mapping(argument, "user event")
    if "data" in d and "action" in d:
        return [as_mapping(d["data"], "user event data")]
    return [d]


_USER_PARSERS: dict[str, Callable[[Any], GatewayEvent]] = {
    "GatewayUserAccount": parse_account,
    "GatewayUserOrder": parse_order,
    "GatewayUserPosition": parse_position,
    "GatewayUserTrade": parse_trade,
}


def parse_user_push(target: str, arguments: Any) -> list[GatewayEvent]:
    """A user-hub invocation: signalrcore hands over the argument list."""
    parser = _USER_PARSERS.get(target) if isinstance(target, str) else None
    if parser is None:
        raise ParseError(f"unknown user-hub event {show(target)}")
    if not isinstance(arguments, list | tuple) or not arguments:
        raise ParseError(f"{target} arrived without arguments")
    events: list[GatewayEvent] = []
    for argument in arguments:
        for entity in unwrap_user_payload(argument):
            try:
                events.append(parser(entity))
            except ParseError as exc:
                raise ParseError(f"{target}: {exc}", exc.account_id) from None
    return events


def parse_market_push(target: str, arguments: Any) -> list[GatewayEvent]:
    """A market-hub invocation: ``[contractId, data]``."""
    if not isinstance(arguments, list | tuple) or len(arguments) < 2:
        raise ParseError(
            f"{show(target)} needs (contractId, data) arguments, got {show(arguments)}"
        )
    contract_id, data = arguments[0], arguments[1]
    try:
        if target == "GatewayQuote":
            return [parse_quote(contract_id, data)]
        if target == "GatewayTrade":
            return list(parse_market_trades(contract_id, data))
        if target == "GatewayDepth":
            return list(parse_depth(contract_id, data))
    except ParseError as exc:
        raise ParseError(f"{target}: {exc}") from None
    raise ParseError(f"unknown market-hub event {show(target)}")


def parse_push(hub: str, target: str, arguments: Any) -> list[GatewayEvent]:
    if hub == "user":
        return parse_user_push(target, arguments)
    if hub == "market":
        return parse_market_push(target, arguments)
    raise ParseError(f"unknown hub {show(hub)}")
