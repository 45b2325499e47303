"""Typed, immutable domain events: what the gateway reported, in the product's terms.

:mod:`core.domain.parse` builds them from the gateway's payloads; the engine, the modules and
the replay consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import TypeAlias


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
