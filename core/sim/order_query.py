"""``POST /api/Order/v2/query``: the paged order search that also sees suspended bracket children.

Request ``{filter: {accountId, statuses, contractId, createdAfter, createdBefore}, pageSize,
pageOffset, sortBy, sortDirection, includeTotalCount}``; answer ``{orders, totalCount}`` in the
usual envelope. The swagger is the only description of it, so where it is silent this model
chooses and says so: ``pageOffset`` counts rows skipped (0-based), ``pageSize`` defaults to 100
and may be 1…1000, the default sort is newest first, the time bounds are inclusive, and a bad
filter is an HTTP 400 ProblemDetails (the one failure shape the swagger lists for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.sim.models import SimOrder
from core.sim.request import BadRequest, Body, field, timestamp

STATUS_NAMES = {
    "none": 0, "open": 1, "filled": 2, "cancelled": 3, "expired": 4, "rejected": 5,
    "pending": 6, "pendingcancellation": 7, "suspended": 8,
}
SORT_FIELDS = {"createdat": 0, "id": 1}
SORT_DIRECTIONS = {"asc": 0, "desc": 1}
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class OrderQuery:
    account_id: int
    statuses: frozenset[int] | None
    contract_id: str | None
    created_after: datetime | None
    created_before: datetime | None
    page_size: int = DEFAULT_PAGE_SIZE
    page_offset: int = 0
    sort_by: int = 0
    descending: bool = True
    include_total: bool = True


def _enum(value: Any, names: Mapping[str, int], where: str) -> int:
    """An enum sent as its number, as the gateway serialises them, or by its name."""
    if isinstance(value, int) and not isinstance(value, bool) and value in names.values():
        return value
    if isinstance(value, str) and value.strip().lower() in names:
        return names[value.strip().lower()]
    raise BadRequest(where, f"The JSON value could not be converted to an enum: {value!r}.")


def parse_order_query(body: Body) -> OrderQuery:
    raw_filter = body.get("filter")
    if raw_filter is None:
        raise BadRequest("filter", "The filter field is required.")
    if not isinstance(raw_filter, Mapping):
        raise BadRequest("filter", "The JSON value could not be converted to GatewayOrderFilter.")
    try:
        account_id: int = field(raw_filter, "accountId", int)
        contract_id: str | None = field(raw_filter, "contractId", str, required=False)
        after = timestamp(raw_filter, "createdAfter", required=False)
        before = timestamp(raw_filter, "createdBefore", required=False)
    except BadRequest as exc:
        raise BadRequest(f"filter.{exc.name}", str(exc)) from None
    raw_statuses = raw_filter.get("statuses")
    statuses: frozenset[int] | None = None
    if raw_statuses is not None:
        if not isinstance(raw_statuses, list):
            raise BadRequest("filter.statuses", "The JSON value could not be converted to a list.")
        statuses = frozenset(_enum(s, STATUS_NAMES, "filter.statuses") for s in raw_statuses)
    page_size = field(body, "pageSize", int, required=False)
    page_offset = field(body, "pageOffset", int, required=False)
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest("pageSize", f"The field pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    if page_offset is not None and page_offset < 0:
        raise BadRequest("pageOffset", "The field pageOffset must not be negative.")
    sort_by = body.get("sortBy")
    direction = body.get("sortDirection")
    include_total = field(body, "includeTotalCount", bool, required=False)
    return OrderQuery(
        account_id=account_id,
        statuses=statuses or None,  # an empty list filters nothing out
        contract_id=contract_id,
        created_after=after,
        created_before=before,
        page_size=DEFAULT_PAGE_SIZE if page_size is None else page_size,
        page_offset=page_offset or 0,
        sort_by=0 if sort_by is None else _enum(sort_by, SORT_FIELDS, "sortBy"),
        descending=True if direction is None else _enum(
            direction, SORT_DIRECTIONS, "sortDirection") == 1,
        include_total=True if include_total is None else include_total,
    )


def run_order_query(orders: Iterable[SimOrder], query: OrderQuery) -> tuple[list[SimOrder], int]:
    """The page asked for and how many orders matched in all."""
    matched = [
        o for o in orders
        if o.account_id == query.account_id
        and (query.statuses is None or o.status in query.statuses)
        and (query.contract_id is None or o.contract.id == query.contract_id)
        and (query.created_after is None or o.created >= query.created_after)
        and (query.created_before is None or o.created <= query.created_before)
    ]
    if query.sort_by == 1:
        matched.sort(key=lambda o: o.id, reverse=query.descending)
    else:
        matched.sort(key=lambda o: (o.created, o.id), reverse=query.descending)
    start = query.page_offset
    return matched[start:start + query.page_size], len(matched)
