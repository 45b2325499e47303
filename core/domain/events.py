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
    # When the REST read that returned this was sent (engine clock); None for a hub push. A
    # balance read after a close was seen holds that close for certain; a push may be another
    # fill's.
    read_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order as last reported. ``type`` and ``size`` are None when an update left them
    out (the mirror keeps the known values); a never-seen order without them is re-read."""

    order_id: int
    account_id: int
    contract_id: str
    status: int
    type: int | None
    side: int
    size: int | None
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
    """A net position as last reported. ``type`` and ``average_price`` are None when the
    update left them out: missing means unchanged, never long/short 0 or a price of 0."""

    position_id: int
    account_id: int
    contract_id: str
    type: int | None
    size: int  # a positive magnitude on the wire; direction comes from ``type``
    average_price: float | None
    created_at: datetime | None = None
    display_name: str | None = None
    # A removal found by a REST read (the position was gone from it): when that answer came.
    # The close was booked before then, so a balance read sent after it holds it for certain.
    read_at: datetime | None = None

    @property
    def signed_size(self) -> int:
        """The signed size; 0 when flat. Raises when the direction is unknown (no ``type``
        on a non-zero size): only the mirror, which knows the previous side, may resolve it."""
        if self.size == 0:
            return 0
        if self.type == PositionType.LONG:
            return self.size
        if self.type == PositionType.SHORT:
            return -self.size
        raise ValueError(f"position {self.contract_id} of size {self.size} has no side")

    @property
    def side_known(self) -> bool:
        return self.size == 0 or self.type in (PositionType.LONG, PositionType.SHORT)


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
    # Undocumented, seen on the stream only (Trade/search leaves it out): None = not reported.
    commissions: Decimal | None = None

    @property
    def is_opening(self) -> bool:
        return self.pnl is None

    @property
    def costs(self) -> Decimal:
        """Fees and commissions: every cost counts toward the loss limit."""
        return self.fees + (self.commissions or Decimal(0))

    @property
    def net_pnl(self) -> Decimal:
        """What this half-turn adds to the day's net realized P&L."""
        if self.voided:
            return Decimal(0)
        return (self.pnl or Decimal(0)) - self.costs


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


@dataclass(frozen=True, slots=True)
class Recheck:
    """Judge the whole account again as it stands: after a config change tightened a rule,
    after a restart restored state, after a reconnect's catch-up. Rules that can judge the
    present state watch it; ``tightened`` names the rule tables a config change just made
    stricter (a rule that judges entries as they come acts only for those)."""

    at: datetime
    tightened: frozenset[str] = frozenset()


GatewayEvent: TypeAlias = (
    AccountEvent | OrderEvent | PositionEvent | TradeEvent | QuoteEvent | MarketTradeEvent | DepthEvent
)
