"""When a working order executes, and at what price: pure functions over a quote.

Conservative on purpose: a resting limit fills at its own price, a triggered stop fills at the
market or worse, so the simulator never hands a strategy better fills than an exchange would.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.sim.models import (
    BUY,
    JOIN_ASK,
    JOIN_BID,
    LIMIT,
    MARKET,
    STOP,
    STOP_LIMIT,
    TRAILING_STOP,
    SimOrder,
    round_price,
)

LIMIT_LIKE = frozenset({LIMIT, JOIN_BID, JOIN_ASK})
STOP_LIKE = frozenset({STOP, TRAILING_STOP, STOP_LIMIT})
EPS = 1e-9


@dataclass(frozen=True)
class Quote:
    last: float
    bid: float
    ask: float


def on_tick(price: float, tick: float) -> bool:
    return abs(price / tick - round(price / tick)) < 1e-6


def market_price(side: int, quote: Quote) -> float:
    """A buyer lifts the offer, a seller hits the bid."""
    return quote.ask if side == BUY else quote.bid


def limit_fill(order: SimOrder, quote: Quote, *, resting: bool) -> float | None:
    """Fill price of a limit (or a triggered stop-limit) against ``quote``, or None."""
    limit = order.limit_price
    if limit is None:
        return None
    if order.side == BUY and quote.ask <= limit + EPS:
        return limit if resting else quote.ask
    if order.side != BUY and quote.bid >= limit - EPS:
        return limit if resting else quote.bid
    return None


def stop_triggered(order: SimOrder, quote: Quote) -> bool:
    stop = order.stop_price
    if stop is None:
        return False
    if order.side == BUY:
        return quote.last >= stop - EPS
    return quote.last <= stop + EPS


def stop_fill(order: SimOrder, quote: Quote) -> float:
    """A triggered stop becomes a market order: no better than its stop price."""
    stop = order.stop_price if order.stop_price is not None else quote.last
    if order.side == BUY:
        return max(stop, quote.ask)
    return min(stop, quote.bid)


def ratchet(order: SimOrder, quote: Quote) -> bool:
    """Trail a TrailingStop behind the last price; only ever tightens. True when it moved."""
    if order.type != TRAILING_STOP or order.trail_distance is None or order.stop_price is None:
        return False
    tick = order.contract.tick_size
    if order.side == BUY:
        candidate = round_price(quote.last + order.trail_distance, tick)
        if candidate < order.stop_price - EPS:
            order.stop_price = candidate
            return True
    else:
        candidate = round_price(quote.last - order.trail_distance, tick)
        if candidate > order.stop_price + EPS:
            order.stop_price = candidate
            return True
    return False


def execution_price(order: SimOrder, quote: Quote, *, resting: bool) -> float | None:
    """The price ``order`` executes at now, or None while it keeps working.

    Mutates ``triggered`` on a stop-limit whose stop has been touched (it then rests as a limit).
    """
    if order.type == MARKET:
        return market_price(order.side, quote)
    if order.type in LIMIT_LIKE:
        return limit_fill(order, quote, resting=resting)
    if order.type == STOP_LIMIT:
        if not order.triggered:
            if not stop_triggered(order, quote):
                return None
            order.triggered = True
        return limit_fill(order, quote, resting=False)
    if order.type in (STOP, TRAILING_STOP):
        return stop_fill(order, quote) if stop_triggered(order, quote) else None
    return None


def stop_on_wrong_side(side: int, stop: float, quote: Quote) -> bool:
    """A buy stop at or below the market (or a sell stop at or above) would fire at once."""
    if side == BUY:
        return stop <= quote.last + EPS
    return stop >= quote.last - EPS


def bracket_price(parent_side: int, fill: float, ticks: int, tick: float, *, stop_loss: bool) -> float:
    """Absolute child price from a tick distance; the sign of ``ticks`` is ignored on purpose
    (working clients send SL negative / TP positive for longs, docs say plain "ticks")."""
    distance = abs(ticks) * tick
    protective_below = (parent_side == BUY) == stop_loss
    return round_price(fill - distance if protective_below else fill + distance, tick)
