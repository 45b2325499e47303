"""Async REST client for the ProjectX Gateway (TopstepX): the typed endpoints.

Every call is ``POST /api/<Controller>/<action>`` answering an envelope ``{success, errorCode,
errorMessage, ...}``: business failures are HTTP 200 with ``success: false`` (raised as
:class:`GatewayError`), a bad token is a bare 401 (log in again, retry once), rate limiting is 429
(back off). Money-moving calls are never resent after a failure that may have reached the
server: :class:`AmbiguousResult` tells the caller to reconcile over REST first. Tokens and
transport are :class:`core.gateway.session.RestSession`'s.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.domain.events import (
    AccountEvent,
    OrderEvent,
    OrderStatus,
    PositionEvent,
    TradeEvent,
)
from core.domain.parse import ParseError, parse_account, parse_order, parse_position, parse_trade
from core.gateway.errors import GatewayError, GatewayHttpError, MalformedResponse
from core.gateway.session import RestSession
from core.modules.contracts import Contract


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``; a naive datetime is taken as UTC, as the gateway does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


log = logging.getLogger(__name__)

# Every status an order can still act from: searchOpen's Open plus Pending, a cancel in
# flight, Suspended bracket children waiting on their entry, and None (undefined, so kept).
NOT_TERMINAL = (
    OrderStatus.NONE, OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.PENDING_CANCELLATION,
    OrderStatus.SUSPENDED,
)
QUERY_PAGE_SIZE = 500


@dataclass(frozen=True)
class WorkingOrders:
    """An account's orders that are not finished, as one REST read saw them.

    ``complete``: every such order is in ``orders`` (a truncated answer is not).
    ``with_suspended``: suspended bracket children were asked for too; when the gateway has no
    ``Order/v2/query`` the read falls back to ``searchOpen``, which never lists them.
    """

    orders: list[OrderEvent]
    complete: bool
    with_suspended: bool


def _parse_contract(item: Any) -> Contract:
    if not isinstance(item, Mapping):
        raise ParseError(f"contract payload is not an object: {type(item).__name__}")
    try:
        contract = Contract.from_gateway(item)
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"contract {item.get('id')!r}: {type(exc).__name__}: {exc}") from None
    # Open P&L divides by the tick size: a zero or NaN here would corrupt every decision.
    for value in (contract.tick_size, contract.tick_value):
        if not math.isfinite(value) or value <= 0:
            raise ParseError(f"contract {contract.contract_id!r} has a bad tick size/value")
    return contract


class GatewayRest(RestSession):
    """The gateway's endpoints the product uses, typed: reads parse into domain events."""

    # --- reads ----------------------------------------------------------------------------------

    async def accounts(self, only_active: bool = True) -> list[AccountEvent]:
        data = await self._call("Account/search", {"onlyActiveAccounts": only_active})
        return self._items("Account/search", data, "accounts", parse_account)

    async def open_positions(self, account_id: int) -> list[PositionEvent]:
        data = await self._call("Position/searchOpen", {"accountId": account_id})
        return self._items("Position/searchOpen", data, "positions", parse_position, whole=True)

    async def open_orders(self, account_id: int) -> list[OrderEvent]:
        data = await self._call("Order/searchOpen", {"accountId": account_id})
        return self._items("Order/searchOpen", data, "orders", parse_order, whole=True)

    async def order(self, account_id: int, order_id: int) -> OrderEvent | None:
        """One order by id, whatever its status (suspended children too); None if unknown."""
        try:
            data = await self._call(
                "Order/searchById", {"accountId": account_id, "orderId": order_id}
            )
        except GatewayError as exc:
            if exc.error_code == 1:  # OrderNotFound
                return None
            raise
        item = data.get("order")
        if item is None:
            return None
        try:
            return parse_order(item)
        except ParseError as exc:
            raise MalformedResponse("Order/searchById", 200, str(exc)) from None

    _no_order_query = False  # set once the gateway has shown it lacks Order/v2/query

    async def working_orders(self, account_id: int) -> WorkingOrders:
        """The account's unfinished orders, suspended bracket children included.

        ``Order/searchOpen`` leaves status-8 children out, so this asks ``Order/v2/query``
        for every non-terminal status. A gateway without that endpoint (404, or a 400 for a
        request shape it does not know) gets ``searchOpen`` from then on.
        """
        if not self._no_order_query:
            body = {
                "filter": {"accountId": account_id, "statuses": [int(s) for s in NOT_TERMINAL]},
                "pageSize": QUERY_PAGE_SIZE,
                "pageOffset": 0,
                "includeTotalCount": True,
            }
            try:
                data = await self._call("Order/v2/query", body)
            except GatewayHttpError as exc:
                if exc.status not in (400, 404):
                    raise
                log.warning("Order/v2/query unavailable (%s): reading Order/searchOpen", exc)
                self._no_order_query = True
            else:
                found = self._items("Order/v2/query", data, "orders", parse_order, whole=True)
                total = data.get("totalCount")
                # More than one page of working orders is not expected; if it happens, what
                # was read is still true, but absence from it proves nothing.
                complete = not isinstance(total, int) or total <= len(found)
                if not isinstance(total, int) and len(found) >= QUERY_PAGE_SIZE:
                    complete = False
                return WorkingOrders(found, complete, with_suspended=True)
        return WorkingOrders(await self.open_orders(account_id), True, with_suspended=False)

    async def orders(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[OrderEvent]:
        """Orders created in [start, end), oldest first."""
        data = await self._call("Order/search", self._window(account_id, start, end))
        found = self._items("Order/search", data, "orders", parse_order)
        return sorted(found, key=lambda o: (o.created_at or _EPOCH, o.order_id))

    async def trades(
        self, account_id: int, start: datetime, end: datetime | None = None
    ) -> list[TradeEvent]:
        """Half-turn trades in [start, end), oldest first (the gateway answers newest first)."""
        data = await self._call("Trade/search", self._window(account_id, start, end))
        found = self._items("Trade/search", data, "trades", parse_trade)
        return sorted(found, key=lambda t: (t.created_at, t.trade_id))

    async def contract(self, contract_id: str) -> Contract | None:
        """One contract's details, or None when the gateway does not know it."""
        try:
            data = await self._call("Contract/searchById", {"contractId": contract_id})
        except GatewayError as exc:
            if exc.error_code == 1:  # ContractNotFound
                return None
            raise
        single = data.get("contract")
        # Older gateways answered with a "contracts" array instead of one "contract" object.
        candidates = [single] if single is not None else data.get("contracts") or []
        if not isinstance(candidates, list):
            raise MalformedResponse("Contract/searchById", 200, "no 'contract' in the answer")
        parsed = self._items("Contract/searchById", {"c": candidates}, "c", _parse_contract)
        exact = [c for c in parsed if c.contract_id == contract_id]
        return exact[0] if exact else (parsed[0] if parsed else None)

    async def available_contracts(self, live: bool = False) -> list[Contract]:
        data = await self._call("Contract/available", {"live": live})
        return self._items("Contract/available", data, "contracts", _parse_contract)

    async def search_contracts(self, text: str, live: bool = False) -> list[Contract]:
        data = await self._call("Contract/search", {"searchText": text, "live": live})
        return self._items("Contract/search", data, "contracts", _parse_contract)

    async def bars(
        self,
        contract_id: str,
        start: datetime,
        end: datetime,
        *,
        unit: int = 2,
        unit_number: int = 1,
        limit: int = 20_000,
        live: bool = False,
        include_partial: bool = False,
    ) -> list[Mapping[str, Any]]:
        """``History/retrieveBars`` as the gateway sends them (``t, o, h, l, c, v``, newest
        first in its examples): the replay parses and orders them. Unit 2 is minutes; this
        endpoint has its own budget of 50 requests per 30 s, which the limiter keeps."""
        body = {
            "contractId": contract_id,
            "live": live,
            "startTime": iso_utc(start),
            "endTime": iso_utc(end),
            "unit": unit,
            "unitNumber": unit_number,
            "limit": limit,
            "includePartialBar": include_partial,
        }
        data = await self._call("History/retrieveBars", body)
        items = data.get("bars")
        if not isinstance(items, list):
            raise MalformedResponse("History/retrieveBars", 200, "no 'bars' list in the answer")
        return [item for item in items if isinstance(item, Mapping)]

    @staticmethod
    def _window(account_id: int, start: datetime, end: datetime | None) -> dict[str, Any]:
        body: dict[str, Any] = {"accountId": account_id, "startTimestamp": iso_utc(start)}
        if end is not None:
            body["endTimestamp"] = iso_utc(end)
        return body

    # --- enforcement ----------------------------------------------------------------------------

    async def close_contract(self, account_id: int, contract_id: str) -> None:
        """Flatten one contract at market; see :func:`is_already_flat` for errorCode 2."""
        await self._call(
            "Position/closeContract", {"accountId": account_id, "contractId": contract_id}
        )

    async def partial_close(self, account_id: int, contract_id: str, size: int) -> None:
        if size <= 0:
            raise ValueError(f"partial close size must be positive, got {size}")
        body = {"accountId": account_id, "contractId": contract_id, "size": size}
        await self._call("Position/partialCloseContract", body)

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        await self._call("Order/cancel", {"accountId": account_id, "orderId": order_id})

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
    ) -> None:
        changes = _present(
            size=size, limitPrice=limit_price, stopPrice=stop_price, trailPrice=trail_price
        )
        if not changes:
            raise ValueError("modify_order needs at least one field to change")
        await self._call("Order/modify", {"accountId": account_id, "orderId": order_id, **changes})

    async def place_order(
        self,
        account_id: int,
        contract_id: str,
        type: int,
        side: int,
        size: int,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
        custom_tag: str | None = None,
    ) -> int | None:
        """The new order's id (None if the gateway gave none); accepted is not yet working."""
        if size <= 0:
            raise ValueError(f"order size must be positive, got {size}")
        body = {
            "accountId": account_id,
            "contractId": contract_id,
            "type": int(type),
            "side": int(side),
            "size": size,
            **_present(
                limitPrice=limit_price,
                stopPrice=stop_price,
                trailPrice=trail_price,
                customTag=custom_tag,
            ),
        }
        data = await self._call("Order/place", body)
        order_id = data.get("orderId")
        return order_id if isinstance(order_id, int) and not isinstance(order_id, bool) else None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
