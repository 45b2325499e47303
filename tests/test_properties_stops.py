"""Property: however the gateway orders, repeats or trims its messages, a position whose stops
cover it and that breaches nothing is never closed (SPEC: a false close is as bad as a missed
one).

The events of one protected position (its opening, its stops, its fills, quotes) arrive in any
order: fills before or after their position update, a catch-up delivered out of order, updates
that leave optional fields out, partial quotes, a market feed that drops. No rule may close,
reduce or flatten it, and no gate may cancel its stops.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.domain.commands import CancelOrder, CloseContract, Flatten, PartialClose
from core.domain.events import OrderEvent, OrderStatus, PositionEvent, QuoteEvent
from tests.builders import ACCOUNT, MES, MNQ, T0, config, make_engine, order, trade

GRACE = 30
CONFIG = config(
    {
        "max_contracts": {"limit": 10},
        "max_contracts_per_instrument": {"default_limit": 10},
        "daily_realized_loss": {"limit": 5000},
        "daily_unrealized_loss": {"limit": 5000},
        "max_unrealized_profit": {"target": 5000},
        "trade_frequency_limit": {"per_minute": 50, "per_hour": 500, "per_session": 5000},
        "cooldown_after_loss": {"tiers": [{"loss": 5000, "seconds": 60}]},
        "no_stop_loss_grace": {"grace_seconds": GRACE},
        "symbol_blocks": {"symbols": ["CL"]},
    }
)
ENTRY = {MNQ: 20000.0, MES: 5000.0}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, int, list[Any], list[Any]]:
    contract = draw(st.sampled_from([MNQ, MES]))
    side = draw(st.sampled_from([1, -1]))
    size = draw(st.integers(1, 3))
    entry = ENTRY[contract]
    closing = 1 if side > 0 else 0
    # Stops that together cover the whole size, at any price (some in profit), some suspended.
    pieces = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3).filter(lambda p: sum(p) >= size))
    stops: list[OrderEvent] = []
    for i, piece in enumerate(pieces):
        offset = draw(st.sampled_from([-40.0, -10.0, 0.0, 15.0, 60.0])) * side
        suspended = draw(st.booleans())
        stops.append(order(
            contract, side=closing, type=draw(st.sampled_from([3, 4, 5])), size=piece,
            stop_price=None if suspended else entry + offset,
            status=OrderStatus.SUSPENDED if suspended else OrderStatus.OPEN,
            order_id=900 + i, created_at=T0,
        ))
    opened = PositionEvent(1, ACCOUNT, contract, 1 if side > 0 else 2, size, entry, T0)
    fills = [trade(None, at=T0 + timedelta(milliseconds=10 * i), contract_id=contract,
                   side=0 if side > 0 else 1, trade_id=7000 + i, price=entry)
             for i in range(size)]
    # Everything that happens inside the grace, in any order.
    first = [opened, *stops, *fills]
    first += draw(st.lists(st.sampled_from(["quote", "partial_quote", "feed_drop"]), max_size=4))
    first = draw(st.permutations(first))
    # Afterwards: echoes with fields left out, repeats, late copies, ticks well past the grace.
    later_kinds = st.sampled_from(
        ["tick", "tick", "position_no_price", "position_no_type", "stop_no_fields",
         "fill_again", "quote", "partial_quote", "feed_drop"]
    )
    later = draw(st.lists(later_kinds, min_size=3, max_size=25))
    return contract, side, first, later


def _quote(contract: str, kind: str, step: int) -> QuoteEvent:
    price = ENTRY[contract] + (step % 7 - 3) * 2.0
    if kind == "quote":
        return QuoteEvent(contract_id=contract, last_price=price)
    return QuoteEvent(contract_id=contract, bid=price - 0.25)  # a partial quote: no last price


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_a_covered_position_that_breaches_nothing_is_never_closed(
    scenario: tuple[str, int, list[Any], list[Any]],
) -> None:
    contract, side, first, later = scenario
    engine, clock, port = make_engine(CONFIG)
    clock.set(T0)
    stops = [e for e in first if isinstance(e, OrderEvent)]
    opened = next(e for e in first if isinstance(e, PositionEvent))
    fills = [e for e in first if not isinstance(e, OrderEvent | PositionEvent | str)]
    for step, event in enumerate(first):
        if event in ("quote", "partial_quote"):
            engine.handle(_quote(contract, event, step))
        elif event == "feed_drop":
            engine.quotes.clear()
        else:
            engine.handle(event)
    for step, kind in enumerate(later):
        if kind == "tick":
            clock.advance(GRACE)
            engine.tick()
        elif kind == "position_no_price":
            engine.handle(PositionEvent(1, ACCOUNT, contract, opened.type, opened.size, None))
        elif kind == "position_no_type":
            engine.handle(PositionEvent(1, ACCOUNT, contract, None, opened.size, None))
        elif kind == "stop_no_fields":
            stop = stops[step % len(stops)]
            engine.handle(OrderEvent(stop.order_id, ACCOUNT, contract, stop.status, None, stop.side, None))
        elif kind == "fill_again":
            engine.handle(fills[step % len(fills)])
        elif kind == "feed_drop":
            engine.quotes.clear()
        else:
            engine.handle(_quote(contract, kind, step))
    clock.advance(GRACE)
    engine.tick()
    held = engine.mirror.account(ACCOUNT).positions[contract]
    assert held.signed_size == side * opened.size
    assert held.average_price == opened.average_price
    offending = [
        c for c in port.commands
        if isinstance(c, CloseContract | PartialClose | Flatten | CancelOrder)
    ]
    assert offending == [], offending
