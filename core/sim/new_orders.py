"""How the simulated exchange makes an order, as live shows it.

An entry starts pending for a moment when it is a market order (live shows status 6 before
Filled) and open otherwise; a join-bid or join-ask order takes its price from the book; a
trailing stop measures its distance from the last trade. Its bracket legs exist from the start,
suspended until the entry fills; the fill prices them and opens them. The exchange
(:class:`core.sim.exchange.SimExchange`) keeps the orders, reports them and matches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from core.sim.matching import LIMIT_LIKE, STOP_LIKE, Quote, bracket_price
from core.sim.models import (
    BUY,
    JOIN_ASK,
    JOIN_BID,
    LIMIT,
    MARKET,
    OPEN,
    PENDING,
    SELL,
    STOP_LIMIT,
    SUSPENDED,
    TRAILING_STOP,
    Bracket,
    SimContract,
    SimOrder,
)
from core.sim.validation import trail_ticks, trailing_stop_price


def new_order(
    order_id: int, account_id: int, contract: SimContract, type: int, side: int, size: int,
    now: datetime, quote: Quote, *, limit_price: float | None, stop_price: float | None,
    trail_price: float | None, custom_tag: str | None,
) -> SimOrder:
    """An accepted entry (already validated), before the exchange files it."""
    # Live market entries show status 6 (Pending) for a moment before Filled.
    order = SimOrder(
        order_id, account_id, contract, type, side, size, now, now,
        PENDING if type == MARKET else OPEN, custom_tag=custom_tag,
    )
    if type in (JOIN_BID, JOIN_ASK):
        order.limit_price = quote.bid if type == JOIN_BID else quote.ask
    elif type != MARKET:
        order.limit_price = limit_price if type in (LIMIT, STOP_LIMIT) else None
        order.stop_price = stop_price if type in STOP_LIKE else None
    if type == TRAILING_STOP:
        assert trail_price is not None  # validate_order refused an entry without it
        order.trail_ticks = trail_ticks(trail_price, quote, contract)
        order.stop_price = trailing_stop_price(side, order.trail_ticks, quote, contract)
    return order


def bracket_legs(
    parent: SimOrder, sl: Bracket | None, tp: Bracket | None, order_ids: Iterator[int]
) -> Iterator[SimOrder]:
    """The entry's stop-loss then take-profit leg, suspended; each id is drawn as its leg is
    made, so the exchange files and reports one leg before the next exists."""
    sl_id: int | None = None
    for bracket, suffix in ((sl, "-SL"), (tp, "-TP")):
        if bracket is None:
            continue
        child = SimOrder(
            next(order_ids), parent.account_id, parent.contract, bracket.type,
            SELL if parent.side == BUY else BUY, parent.size, parent.created, parent.created,
            SUSPENDED, custom_tag=None if parent.custom_tag is None else parent.custom_tag + suffix,
            parent_id=parent.id, bracket_ticks=bracket.ticks, bracket_role=suffix[1:],
        )
        if suffix == "-SL":
            sl_id = child.id
        else:
            child.linked_id = sl_id  # live: the TP leg points at its SL sibling
        yield child


def arm_leg(parent: SimOrder, child: SimOrder, fill: float) -> bool:
    """Price a suspended leg from its entry's ``fill`` and open it; False (untouched) for a
    leg that is not waiting for the fill."""
    if child.status != SUSPENDED or child.bracket_ticks is None:
        return False
    price = bracket_price(parent.side, fill, child.bracket_ticks, parent.contract.tick_size,
                          stop_loss=child.bracket_role == "SL")
    if child.type in LIMIT_LIKE or child.type == STOP_LIMIT:
        child.limit_price = price
    if child.type in STOP_LIKE:
        child.stop_price = price
    if child.type == TRAILING_STOP:
        child.trail_ticks = abs(child.bracket_ticks)
    child.status = OPEN
    return True
