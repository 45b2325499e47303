"""Typed, immutable domain events parsed from ProjectX Gateway payloads.

The gateway is loose about shapes: user-hub pushes come wrapped as ``{action, data}`` or bare,
sometimes as a list of envelopes; market pushes are ``(contractId, data)``; quotes are partial;
stream payloads omit null fields; order status goes beyond the documented 0-6. Every parser
here accepts all of that and raises one :class:`ParseError` for anything it cannot read, so the
caller can log the payload and move on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from math import isfinite
from typing import Any, TypeAlias


class ParseError(ValueError):
    """A gateway payload that cannot be turned into an event. Log it and skip it."""


class OrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class OrderSide(IntEnum):
    BUY = 0
    SELL = 1


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


# Terminal statuses end an order's life. Anything else, unknown codes included, is treated as
# possibly working: a risk manager must not forget an order because its status is new to it.
TERMINAL_ORDER_STATUSES = frozenset({2, 3, 4, 5})
STOP_ORDER_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.STOP, OrderType.TRAILING_STOP})


@dataclass(frozen=True, slots=True)
class AccountEvent:
    account_id: int
    name: str | None = None
    balance: float | None = None
    can_trade: bool | None = None  # None = not in the payload: unchanged
    is_visible: bool | None = None
    simulated: bool | None = None


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order_id: int
    account_id: int
    contract_id: str
    status: int
    type: int
    side: int
    size: int
    symbol_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    trail_price: float | None = None
    fill_volume: int = 0
    filled_price: float | None = None
    custom_tag: str | None = None
    parent_order_id: int | None = None
    linked_order_id: int | None = None

    @property
    def is_working(self) -> bool:
        return self.status not in TERMINAL_ORDER_STATUSES

    @property
    def is_stop(self) -> bool:
        return self.type in STOP_ORDER_TYPES


@dataclass(frozen=True, slots=True)
class PositionEvent:
    position_id: int
    account_id: int
    contract_id: str
    type: int
    size: int  # a positive magnitude on the wire; direction comes from ``type``
    average_price: float
    created_at: datetime | None = None
    display_name: str | None = None

    @property
    def signed_size(self) -> int:
        if self.type == PositionType.LONG:
            return self.size
        if self.type == PositionType.SHORT:
            return -self.size
        return 0  # type 0 arrives with size 0 when the position is closed


@dataclass(frozen=True, slots=True)
class TradeEvent:
    trade_id: int
    account_id: int
    contract_id: str
    created_at: datetime
    price: float
    side: int
    size: int
    fees: Decimal
    pnl: Decimal | None  # gross; None on a half-turn that opened or added
    voided: bool = False
    order_id: int | None = None

    @property
    def is_opening(self) -> bool:
        return self.pnl is None

    @property
    def net_pnl(self) -> Decimal:
        """What this half-turn adds to the day's net realized P&L."""
        if self.voided:
            return Decimal(0)
        return (self.pnl or Decimal(0)) - self.fees


@dataclass(frozen=True, slots=True)
class QuoteEvent:
    contract_id: str
    last_price: float | None = None
    bid: float | None = None
    ask: float | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class MarketTradeEvent:
    """One print from ``GatewayTrade``: its price is the contract's last trade price."""

    contract_id: str
    price: float
    volume: int
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class DepthEvent:
    contract_id: str
    type: int
    price: float
    volume: int
    timestamp: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClockTick:
    """About once a second: drives grace periods, window ends, lock expiry and the daily reset."""

    at: datetime


GatewayEvent: TypeAlias = (
    AccountEvent | OrderEvent | PositionEvent | TradeEvent | QuoteEvent | MarketTradeEvent | DepthEvent
)


# --- field readers -----------------------------------------------------------------------------

_MISSING = object()


def _show(value: Any) -> str:
    """A short repr for error messages that cannot itself fail (huge ints, deep nesting)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _get(d: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = d.get(key, _MISSING)
        if value is not _MISSING and value is not None:
            return value
    return None


def _int(d: Mapping[str, Any], *keys: str, required: bool = True, default: int = 0) -> int:
    value = _get(d, *keys)
    if value is None:
        if required:
            raise ParseError(f"missing field {keys[0]!r}")
        return default
    if isinstance(value, bool):
        raise ParseError(f"field {keys[0]!r} is a boolean, expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ParseError(f"field {keys[0]!r} is not an integer: {_show(value)}")


def _opt_int(d: Mapping[str, Any], key: str) -> int | None:
    if d.get(key) is None:
        return None
    return _int(d, key)


def _float(d: Mapping[str, Any], key: str) -> float | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"field {key!r} is a boolean, expected a number")
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            pass
        else:
            # NaN or infinity would poison every comparison a rule makes with this number.
            if isfinite(number):
                return number
    raise ParseError(f"field {key!r} is not a finite number: {_show(value)}")


def _req_float(d: Mapping[str, Any], key: str) -> float:
    value = _float(d, key)
    if value is None:
        raise ParseError(f"missing field {key!r}")
    return value


def _decimal(d: Mapping[str, Any], key: str) -> Decimal | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"field {key!r} is a boolean, expected a number")
    if isinstance(value, int | float | str):
        try:
            # str() first: Decimal(0.36) would carry the binary float's noise into the day's P&L.
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            pass
        else:
            # NaN (sNaN raises on arithmetic) or infinity must not reach the P&L sums.
            if number.is_finite():
                return number
    raise ParseError(f"field {key!r} is not a finite number: {_show(value)}")


def _str(d: Mapping[str, Any], *keys: str, required: bool = True) -> str | None:
    value = _get(d, *keys)
    if value is None:
        if required:
            raise ParseError(f"missing field {keys[0]!r}")
        return None
    if not isinstance(value, str):
        raise ParseError(f"field {keys[0]!r} is not a string: {_show(value)}")
    return value


def _bool(d: Mapping[str, Any], key: str) -> bool | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise ParseError(f"field {key!r} is not a boolean: {_show(value)}")


_SENTINEL_YEAR = 1


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime | None:
    """ISO-8601 with any number of fractional digits, 'Z' or an offset; always aware UTC.

    The depth feed's ``0001-01-01`` sentinel means "no time" and becomes None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 reads at most 6 fractional digits reliably; the stream sends 7.
        dot = text.find(".")
        if dot != -1:
            end = dot + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            if end - dot - 1 > 6:
                text = text[: dot + 7] + text[end:]
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ParseError(
                f"field {field!r} is not an ISO-8601 timestamp: {_show(value)}"
            ) from None
    else:
        raise ParseError(f"field {field!r} is not a timestamp: {_show(value)}")
    if dt.year == _SENTINEL_YEAR:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # the gateway speaks UTC; a naive stamp is still UTC
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past datetime.max in UTC
        raise ParseError(f"field {field!r} is out of range: {_show(value)}") from None


def _ts(d: Mapping[str, Any], key: str) -> datetime | None:
    return parse_timestamp(d.get(key), key)


def _mapping(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ParseError(f"{what} payload is not an object: {type(payload).__name__}")
    return payload


# --- entity parsers (REST lists and hub pushes share them) ---------------------------------------


def parse_account(payload: Any) -> AccountEvent:
    d = _mapping(payload, "account")
    balance = _float(d, "balance")
    return AccountEvent(
        account_id=_int(d, "id", "accountId"),
        name=_str(d, "name", required=False),
        balance=balance,
        can_trade=_bool(d, "canTrade"),
        is_visible=_bool(d, "isVisible"),
        simulated=_bool(d, "simulated"),
    )


def parse_order(payload: Any) -> OrderEvent:
    d = _mapping(payload, "order")
    contract_id = _str(d, "contractId")
    assert contract_id is not None
    return OrderEvent(
        order_id=_int(d, "id", "orderId"),
        account_id=_int(d, "accountId"),
        contract_id=contract_id,
        status=_int(d, "status"),
        type=_int(d, "type", required=False),
        side=_int(d, "side"),
        size=_int(d, "size", required=False),
        symbol_id=_str(d, "symbolId", required=False),
        created_at=_ts(d, "creationTimestamp"),
        updated_at=_ts(d, "updateTimestamp"),
        limit_price=_float(d, "limitPrice"),
        stop_price=_float(d, "stopPrice"),
        trail_price=_float(d, "trailPrice"),
        fill_volume=_int(d, "fillVolume", required=False),
        filled_price=_float(d, "filledPrice"),
        custom_tag=_str(d, "customTag", required=False),
        parent_order_id=_opt_int(d, "parentOrderId"),
        linked_order_id=_opt_int(d, "linkedOrderId"),
    )


def parse_position(payload: Any) -> PositionEvent:
    d = _mapping(payload, "position")
    contract_id = _str(d, "contractId")
    assert contract_id is not None
    size = _int(d, "size", required=False)
    if size < 0:
        raise ParseError(f"field 'size' is negative: {size}")
    return PositionEvent(
        position_id=_int(d, "id", required=False),
        account_id=_int(d, "accountId"),
        contract_id=contract_id,
        type=_int(d, "type", required=False),
        size=size,
        average_price=_float(d, "averagePrice") or 0.0,
        created_at=_ts(d, "creationTimestamp"),
        display_name=_str(d, "contractDisplayName", required=False),
    )


def parse_trade(payload: Any) -> TradeEvent:
    d = _mapping(payload, "trade")
    contract_id = _str(d, "contractId")
    assert contract_id is not None
    created_at = _ts(d, "creationTimestamp")
    if created_at is None:
        raise ParseError("missing field 'creationTimestamp'")
    voided = _bool(d, "voided")
    return TradeEvent(
        trade_id=_int(d, "id"),
        account_id=_int(d, "accountId"),
        contract_id=contract_id,
        created_at=created_at,
        price=_req_float(d, "price"),
        side=_int(d, "side"),
        size=_int(d, "size"),
        fees=_decimal(d, "fees") or Decimal(0),
        pnl=_decimal(d, "profitAndLoss"),
        voided=bool(voided),
        order_id=_opt_int(d, "orderId"),
    )


def parse_quote(contract_id: Any, payload: Any) -> QuoteEvent:
    if not isinstance(contract_id, str) or not contract_id:
        raise ParseError(f"quote contract id is not a string: {_show(contract_id)}")
    d = _mapping(payload, "quote")
    return QuoteEvent(
        contract_id=contract_id,
        last_price=_float(d, "lastPrice"),
        bid=_float(d, "bestBid"),
        ask=_float(d, "bestAsk"),
        timestamp=_ts(d, "timestamp") or _ts(d, "lastUpdated"),
    )


def _items(payload: Any, what: str) -> Sequence[Any]:
    if isinstance(payload, Mapping):
        return [payload]
    if isinstance(payload, list | tuple):
        return payload
    raise ParseError(f"{what} payload is neither an object nor a list")


def parse_market_trades(contract_id: Any, payload: Any) -> list[MarketTradeEvent]:
    if not isinstance(contract_id, str) or not contract_id:
        raise ParseError(f"trade contract id is not a string: {_show(contract_id)}")
    out = []
    for item in _items(payload, "market trade"):
        d = _mapping(item, "market trade")
        out.append(
            MarketTradeEvent(
                contract_id=contract_id,
                price=_req_float(d, "price"),
                volume=_int(d, "volume", required=False),
                timestamp=_ts(d, "timestamp"),
            )
        )
    return out


def parse_depth(contract_id: Any, payload: Any) -> list[DepthEvent]:
    if not isinstance(contract_id, str) or not contract_id:
        raise ParseError(f"depth contract id is not a string: {_show(contract_id)}")
    out = []
    for item in _items(payload, "depth"):
        d = _mapping(item, "depth")
        out.append(
            DepthEvent(
                contract_id=contract_id,
                type=_int(d, "type", required=False),
                price=_float(d, "price") or 0.0,
                volume=_int(d, "volume", required=False),
                timestamp=_ts(d, "timestamp"),
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
    d = _mapping(argument, "user event")
    if "data" in d and "action" in d:
        return [_mapping(d["data"], "user event data")]
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
        raise ParseError(f"unknown user-hub event {_show(target)}")
    if not isinstance(arguments, list | tuple) or not arguments:
        raise ParseError(f"{target} arrived without arguments")
    events: list[GatewayEvent] = []
    for argument in arguments:
        for entity in unwrap_user_payload(argument):
            try:
                events.append(parser(entity))
            except ParseError as exc:
                raise ParseError(f"{target}: {exc}") from None
    return events


def parse_market_push(target: str, arguments: Any) -> list[GatewayEvent]:
    """A market-hub invocation: ``[contractId, data]``."""
    if not isinstance(arguments, list | tuple) or len(arguments) < 2:
        raise ParseError(
            f"{_show(target)} needs (contractId, data) arguments, got {_show(arguments)}"
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
    raise ParseError(f"unknown market-hub event {_show(target)}")


def parse_push(hub: str, target: str, arguments: Any) -> list[GatewayEvent]:
    if hub == "user":
        return parse_user_push(target, arguments)
    if hub == "market":
        return parse_market_push(target, arguments)
    raise ParseError(f"unknown hub {_show(hub)}")
