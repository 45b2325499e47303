"""Order-entry checks of the simulated exchange: an empty string means "accepted"."""

from __future__ import annotations

from core.sim.matching import STOP_LIKE, Quote, on_tick, stop_on_wrong_side
from core.sim.models import (
    BUY,
    JOIN_ASK,
    JOIN_BID,
    LIMIT,
    SELL,
    STOP,
    STOP_LIMIT,
    SUSPENDED,
    TRAILING_STOP,
    Bracket,
    SimContract,
    SimOrder,
    round_price,
)


def trail_distance(side: int, stop: float | None, trail: float | None, quote: Quote,
                    contract: SimContract) -> float:
    if trail is not None:
        return abs(trail)
    assert stop is not None
    return round_price(abs(quote.last - stop), contract.tick_size)


def validate_order(contract: SimContract, type: int, side: int, size: int, limit: float | None,
              stop: float | None, trail: float | None, quote: Quote) -> str:
    tick = contract.tick_size
    if side not in (BUY, SELL):
        return "Invalid side"
    if size <= 0:
        return "Invalid order size"
    if type not in (1, 2, 3, 4, 5, 6, 7):
        return "Invalid order type"
    if type in (LIMIT, STOP_LIMIT) and limit is None:
        return "Limit price is required"
    if type in (STOP_LIMIT, STOP) and stop is None:
        return "Stop price is required"
    if type == TRAILING_STOP and stop is None and trail is None:
        return "Trail price or stop price is required"
    for price in (limit, stop):
        if price is not None and (price <= 0 or not on_tick(price, tick)):
            return "Price is not a valid tick"
    if type in (STOP_LIMIT, STOP, TRAILING_STOP) and stop is not None and stop_on_wrong_side(
        side, stop, quote
    ):
        return "Stop price is on the wrong side of the market"
    return ""


def modify_problem(order: SimOrder, size: int | None, limit: float | None, stop: float | None,
                    trail: float | None, quote: Quote) -> str:
    if order.status == SUSPENDED:
        return "Order is suspended until its parent fills"
    tick = order.contract.tick_size
    if size is not None and size <= 0:
        return "Invalid order size"
    if limit is not None and order.type not in (LIMIT, STOP_LIMIT, JOIN_BID, JOIN_ASK):
        return "Limit price does not apply to this order type"
    if stop is not None and order.type not in STOP_LIKE:
        return "Stop price does not apply to this order type"
    if trail is not None and order.type != TRAILING_STOP:
        return "Trail price does not apply to this order type"
    for price in (limit, stop):
        if price is not None and (price <= 0 or not on_tick(price, tick)):
            return "Price is not a valid tick"
    if stop is not None and not order.triggered and stop_on_wrong_side(order.side, stop, quote):
        return "Stop price is on the wrong side of the market"
    return ""


def tags_for(tag: str | None, sl: Bracket | None, tp: Bracket | None) -> list[str]:
    """The parent's tag and the ``-SL``/``-TP`` tags its bracket children will carry."""
    if tag is None:
        return []
    return [tag] + [tag + suffix for suffix, b in (("-SL", sl), ("-TP", tp)) if b is not None]


def bracket_problem(sl: Bracket | None, tp: Bracket | None) -> str:
    for bracket in (sl, tp):
        if bracket is not None and (bracket.ticks == 0 or bracket.type not in (1, 3, 4, 5)):
            return "Invalid bracket"
    return ""
