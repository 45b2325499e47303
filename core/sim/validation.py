"""Order-entry checks of the simulated exchange: an empty string means "accepted".

Where the gateway's documentation gives the rejection text (the trailing-stop checks), it is
used word for word, so a client that matches on it behaves here as it would live.
"""

from __future__ import annotations

import math

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

# Live rejection texts (order-place page of the gateway docs; modify uses the same ones).
TRAIL_NOT_SET = "Trail Distance not set."
TRAIL_OFF_TICK = "Invalid trail price. Price is not aligned to tick size."
TRAIL_TOO_FAR = "Trail Distance exceeds maximum (1000)"
MAX_TRAIL_TICKS = 1000


def trail_ticks(trail_price: float, quote: Quote, contract: SimContract) -> int:
    """``trailPrice`` is the price level the trail starts at: the distance is its gap to the
    last trade in whole ticks (fractions dropped), fixed from then on."""
    gap = abs(quote.last - trail_price) / contract.tick_size
    return math.floor(gap + 1e-6)


def trail_problem(trail_price: float | None, quote: Quote, contract: SimContract, *,
                  enforce_maximum: bool) -> str:
    if trail_price is None:
        return TRAIL_NOT_SET
    if not on_tick(trail_price, contract.tick_size):
        return TRAIL_OFF_TICK
    ticks = trail_ticks(trail_price, quote, contract)
    if ticks == 0:
        # A trail of no ticks would fire at once; read as no distance at all.
        return TRAIL_NOT_SET
    if enforce_maximum and ticks > MAX_TRAIL_TICKS:
        return TRAIL_TOO_FAR
    return ""


def trailing_stop_price(side: int, ticks: int, quote: Quote, contract: SimContract) -> float:
    """Where a trailing stop of ``ticks`` stands now: below the last trade for a sell."""
    distance = ticks * contract.tick_size
    return round_price(quote.last + distance if side == BUY else quote.last - distance,
                       contract.tick_size)


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
    if type == TRAILING_STOP:
        # Live reads only trailPrice for a trailing stop (required); a stopPrice is ignored.
        return trail_problem(trail, quote, contract, enforce_maximum=True)
    for price in (limit, stop):
        if price is not None and (price <= 0 or not on_tick(price, tick)):
            return "Price is not a valid tick"
    if type in (STOP_LIMIT, STOP) and stop is not None and stop_on_wrong_side(side, stop, quote):
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
    if trail is not None:
        # Unlike a place, live applies no maximum distance on a modify.
        problem = trail_problem(trail, quote, order.contract, enforce_maximum=False)
        if problem:
            return problem
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
