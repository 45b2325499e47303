"""Value types of the simulated gateway and their wire payloads.

Payload builders produce exactly the camelCase shapes recorded from the live gateway
(``/work/shared/fixtures/projectx-live``): REST rows keep null fields, stream rows drop them,
as TopstepX does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

# OrderType
LIMIT, MARKET, STOP_LIMIT, STOP, TRAILING_STOP, JOIN_BID, JOIN_ASK = 1, 2, 3, 4, 5, 6, 7
# OrderSide
BUY, SELL = 0, 1
# OrderStatus
OPEN, FILLED, CANCELLED, EXPIRED, REJECTED, PENDING, SUSPENDED = 1, 2, 3, 4, 5, 6, 8
TERMINAL = frozenset({FILLED, CANCELLED, EXPIRED, REJECTED})
# PositionType
LONG, SHORT = 1, 2
# Stream envelope actions (undocumented; as observed live)
ACTION_TRADE, ACTION_UPDATE, ACTION_REMOVE = 0, 1, 2

ACCOUNT_EVENT = "GatewayUserAccount"
ORDER_EVENT = "GatewayUserOrder"
POSITION_EVENT = "GatewayUserPosition"
TRADE_EVENT = "GatewayUserTrade"

# Per contract per half-turn. Micro equity values are the live TopstepX ones (0.36 MNQ/MES).
FEES: dict[str, float] = {
    "MNQ": 0.36, "MES": 0.36, "M2K": 0.36, "MYM": 0.36, "MCLE": 0.51, "MGC": 0.51,
    "MHG": 0.51, "MNG": 0.51, "M6A": 0.24, "M6B": 0.24, "M6E": 0.24, "MBT": 2.50,
    "ENQ": 1.40, "EP": 1.40, "RTY": 1.40, "YM": 1.40, "NKD": 1.40,
    "CLE": 1.60, "GCE": 1.60, "NGE": 1.60, "SIE": 1.60, "HOE": 1.60, "RBE": 1.60,
}
DEFAULT_FEE = 1.40

# Plausible late-2026 levels so that demo P&L numbers look like real ones.
START_PRICES: dict[str, float] = {
    "MNQ": 29500.0, "ENQ": 29500.0, "MES": 7700.0, "EP": 7700.0,
    "CLE": 85.0, "MCLE": 85.0, "M2K": 2300.0, "RTY": 2300.0, "MYM": 45000.0, "YM": 45000.0,
    "GCE": 3400.0, "MGC": 3400.0,
}
DEFAULT_START_PRICE = 100.0


def wire_time(when: datetime) -> str:
    """ISO-8601 with 7 fractional digits and ``+00:00``, as the live stream writes it."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0+00:00"


def print_time(when: datetime) -> str:
    """Millisecond precision, as on live quote ``timestamp`` and trade prints."""
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+00:00"


def parse_time(value: Any) -> datetime | None:
    """Lenient reader for request timestamps (``Z``, offsets, or naive taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def round_price(price: float, tick: float) -> float:
    """Snap to a whole tick and strip binary noise (tick sizes go down to 5e-07)."""
    ticks = round(price / tick)
    decimals = max(0, -math.floor(math.log10(tick))) + 3
    return round(ticks * tick, decimals)


def clean_number(value: float) -> float | int:
    """Whole numbers as ints, like the live JSON (``"price": 29423``)."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class SimContract:
    id: str
    name: str
    description: str
    tick_size: float
    tick_value: float
    active: bool
    symbol_id: str

    @classmethod
    def from_gateway(cls, item: Mapping[str, Any]) -> SimContract:
        return cls(
            id=str(item["id"]),
            name=str(item["name"]),
            description=str(item.get("description", "")),
            tick_size=float(item["tickSize"]),
            tick_value=float(item["tickValue"]),
            active=bool(item.get("activeContract", True)),
            symbol_id=str(item.get("symbolId") or _symbol_of(str(item["id"]))),
        )

    @property
    def root(self) -> str:
        return self.symbol_id.rsplit(".", 1)[-1]

    @property
    def display_name(self) -> str:
        """``MNQU26`` from name ``MNQU6`` and id ``...U26`` (the stream's contractDisplayName)."""
        year = self.id.rsplit(".", 1)[-1][1:]
        return self.name.rstrip("0123456789") + year

    @property
    def fee(self) -> float:
        return FEES.get(self.root, DEFAULT_FEE)

    @property
    def start_price(self) -> float:
        return round_price(START_PRICES.get(self.root, DEFAULT_START_PRICE), self.tick_size)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tickSize": self.tick_size,
            "tickValue": self.tick_value,
            "activeContract": self.active,
            "symbolId": self.symbol_id,
        }


def _symbol_of(contract_id: str) -> str:
    """``F.US.MNQ`` from ``CON.F.US.MNQ.U26`` (older payloads had no symbolId)."""
    return ".".join(contract_id.split(".")[1:4])


def load_contracts(items: Iterable[Mapping[str, Any]] | None = None) -> list[SimContract]:
    """The given gateway contract dicts, or the bundled ``contracts.json`` (live TopstepX list)."""
    if items is None:
        text = resources.files("core.sim").joinpath("contracts.json").read_text(encoding="utf-8")
        items = json.loads(text)
    return [SimContract.from_gateway(item) for item in items]


@dataclass
class SimAccount:
    id: int
    name: str
    balance: float
    can_trade: bool = True
    is_visible: bool = True
    simulated: bool = True
    active: bool = True

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "balance": round(float(self.balance), 2),
            "canTrade": self.can_trade,
            "isVisible": self.is_visible,
            "simulated": self.simulated,
        }


@dataclass(frozen=True)
class Bracket:
    ticks: int
    type: int


@dataclass
class SimOrder:
    id: int
    account_id: int
    contract: SimContract
    type: int
    side: int
    size: int
    created: datetime
    updated: datetime
    status: int
    limit_price: float | None = None
    stop_price: float | None = None
    trail_ticks: int | None = None  # a trailing stop's distance, fixed in whole ticks
    fill_volume: int = 0
    filled_price: float | None = None
    custom_tag: str | None = None
    parent_id: int | None = None
    linked_id: int | None = None
    # Children of a bracketed entry; the tick distance lives on each child until the parent fills.
    children: list[int] = field(default_factory=list)
    bracket_ticks: int | None = None
    bracket_role: str | None = None  # "SL" or "TP"
    triggered: bool = False

    @property
    def working(self) -> bool:
        return self.status in (OPEN, PENDING)

    @property
    def trail_distance(self) -> float | None:
        """The trail in price (ticks × tick size): what ``trailPrice`` reads back as."""
        if self.trail_ticks is None:
            return None
        return round_price(self.trail_ticks * self.contract.tick_size, self.contract.tick_size)

    def payload(self, *, stream: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract.id,
            "symbolId": self.contract.symbol_id,
            "creationTimestamp": wire_time(self.created),
            "updateTimestamp": wire_time(self.updated),
            "status": self.status,
            "type": self.type,
            "side": self.side,
            "size": self.size,
            "limitPrice": _num(self.limit_price),
            "stopPrice": _num(self.stop_price),
            "fillVolume": self.fill_volume,
            "filledPrice": _num(self.filled_price),
            "customTag": self.custom_tag,
        }
        trail = self.trail_distance
        if self.type == TRAILING_STOP and trail is not None:
            # Written as a price level, read back as the distance: in price and in ticks.
            row["trailPrice"] = clean_number(trail)
            row["trailDistance"] = self.trail_ticks
        if self.parent_id is not None:
            row["parentOrderId"] = self.parent_id
        if self.linked_id is not None:
            row["linkedOrderId"] = self.linked_id
        return _drop_nulls(row) if stream else row


@dataclass
class SimPosition:
    id: int
    account_id: int
    contract: SimContract
    created: datetime
    net: int  # signed: + long, - short
    average_price: float

    def payload(self, *, stream: bool, removed: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {"id": self.id, "accountId": self.account_id,
                               "contractId": self.contract.id}
        if stream:
            row["contractDisplayName"] = self.contract.display_name
        row["creationTimestamp"] = wire_time(self.created)
        if removed:
            row["type"], row["size"] = 0, 0
        else:
            row["type"] = LONG if self.net > 0 else SHORT
            row["size"] = abs(self.net)
        row["averagePrice"] = clean_number(self.average_price)
        return row


@dataclass(frozen=True)
class SimTrade:
    id: int
    account_id: int
    contract_id: str
    created: datetime
    price: float
    profit_and_loss: float | None
    fees: float
    side: int
    size: int
    order_id: int
    voided: bool = False

    def payload(self, *, stream: bool) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "creationTimestamp": wire_time(self.created),
            "price": clean_number(self.price),
            "profitAndLoss": _num(self.profit_and_loss),
            "fees": clean_number(self.fees),
            "side": self.side,
            "size": self.size,
            "voided": self.voided,
            "orderId": self.order_id,
        }
        return _drop_nulls(row) if stream else row


@dataclass(frozen=True)
class UserEvent:
    """One user-hub push: ``target`` with argument ``{"action": action, "data": data}``."""

    target: str
    action: int
    data: dict[str, Any]

    @property
    def account_id(self) -> int | None:
        key = "id" if self.target == ACCOUNT_EVENT else "accountId"
        value = self.data.get(key)
        return value if isinstance(value, int) else None

    def envelope(self) -> dict[str, Any]:
        return {"action": self.action, "data": self.data}


@dataclass(frozen=True)
class SimResult:
    """Outcome of a command, mapped 1:1 onto the REST envelope."""

    success: bool
    error_code: int = 0
    error_message: str | None = None
    order_id: int | None = None

    @classmethod
    def ok(cls, order_id: int | None = None) -> SimResult:
        return cls(True, 0, None, order_id)

    @classmethod
    def fail(cls, code: int, message: str | None = None) -> SimResult:
        """Live sends ``errorMessage: null`` for most codes; only validation rejections of a
        place (code 2) and modify (code 3) say why."""
        return cls(False, code, message, None)


def _num(value: float | None) -> float | int | None:
    return None if value is None else clean_number(value)


def _drop_nulls(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}
