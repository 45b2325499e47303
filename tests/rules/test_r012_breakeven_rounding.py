"""RULE-012 breakeven on the tick that cannot lose (SPEC 3, Breakeven).

"Breakeven for 012 is rounded to the tick on the side that cannot lose (up for a long, down for
a short) before the offset is applied." An average price off the tick grid comes from several
fills at different prices: 2 MNQ at 20000.00 and 2 at 20000.25 average 20000.125.

MNQ and MES tick 0.25; GC (gold) tick 0.1, whose prices do not divide exactly in binary.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.domain.commands import ModifyStop, PlaceStop
from core.domain.events import OrderSide
from core.engine.engine import Engine
from tests.builders import MES, MNQ, config, make_engine, order, position, quote

RULE = "RULE-012"
GC = "CON.F.US.GCE.Z26"
STOP_ID = 41


def engine_with(**table: Any) -> tuple[Engine, Any, Any]:
    return make_engine(config({"trade_management": {"breakeven_trigger_ticks": 4, **table}}))


def placed(port: Any) -> list[tuple[type, int, float]]:
    return [(type(c), getattr(c, "side", None), c.stop_price) for c in port.commands
            if c.rule_id == RULE]


@pytest.mark.parametrize(("average", "stop"), [
    (20000.0, 20000.0),  # on the tick: breakeven is the entry itself
    (20000.01, 20000.25),  # just above a tick: up to the next one
    (20000.125, 20000.25),  # half a tick: up
    (20000.24, 20000.25),
    (19999.99, 20000.0),  # just below a tick: up to it, not down to 19999.75
])
def test_a_long_breakeven_rounds_up(average: float, stop: float) -> None:
    engine, _, port = engine_with()
    engine.handle(position(MNQ, 4, average))
    engine.handle(quote(MNQ, last=20002.0))  # at least 7 ticks of profit for every average
    assert placed(port) == [(PlaceStop, OrderSide.SELL, stop)]


@pytest.mark.parametrize(("average", "stop"), [
    (5000.0, 5000.0),
    (5000.01, 5000.0),  # just above a tick: down to it, not up to 5000.25
    (5000.125, 5000.0),  # half a tick: down
    (4999.99, 4999.75),  # just below a tick: down to the one below
    (4999.76, 4999.75),
])
def test_a_short_breakeven_rounds_down(average: float, stop: float) -> None:
    engine, _, port = engine_with()
    engine.handle(position(MES, -2, average))
    engine.handle(quote(MES, last=4998.0))
    assert placed(port) == [(PlaceStop, OrderSide.BUY, stop)]


def test_the_offset_is_added_after_rounding_for_a_long() -> None:
    # 20000.125 → 20000.25, then 2 ticks: 20000.75. (Rounding after the offset would give
    # 20000.625 → 20000.50 or 20000.75 depending on the tie rule.)
    engine, _, port = engine_with(breakeven_offset_ticks=2)
    engine.handle(position(MNQ, 2, 20000.125))
    engine.handle(quote(MNQ, last=20002.0))
    assert placed(port) == [(PlaceStop, OrderSide.SELL, 20000.75)]


def test_the_offset_is_added_after_rounding_for_a_short() -> None:
    engine, _, port = engine_with(breakeven_offset_ticks=1)
    engine.handle(position(MES, -2, 5000.125))
    engine.handle(quote(MES, last=4998.0))
    assert placed(port) == [(PlaceStop, OrderSide.BUY, 4999.75)]


@pytest.mark.parametrize(("signed", "average", "stop", "last"), [
    (1, 2410.3, 2410.3, 2411.0),  # 2410.3 / 0.1 is 24102.999…: still on the tick, not 2410.4
    (1, 2410.35, 2410.4, 2411.0),
    (-1, 2410.3, 2410.3, 2409.0),  # not 2410.2
    (-1, 2410.35, 2410.3, 2409.0),
])
def test_prices_on_a_decimal_tick_are_on_the_grid(
    signed: int, average: float, stop: float, last: float
) -> None:
    engine, _, port = engine_with()
    engine.handle(position(GC, signed, average))
    engine.handle(quote(GC, last=last))
    [(kind, _, price)] = placed(port)
    assert kind is PlaceStop and price == pytest.approx(stop, abs=1e-9)


def test_a_stop_already_at_the_rounded_breakeven_is_not_moved() -> None:
    engine, _, port = engine_with()
    engine.handle(position(MNQ, 2, 20000.125))
    engine.handle(order(MNQ, side=OrderSide.SELL, stop_price=20000.25, order_id=STOP_ID))
    engine.handle(quote(MNQ, last=20002.0))
    assert placed(port) == []


def test_a_stop_below_the_rounded_breakeven_is_raised_to_it() -> None:
    engine, _, port = engine_with()
    engine.handle(position(MNQ, 2, 20000.125))
    engine.handle(order(MNQ, side=OrderSide.SELL, stop_price=20000.0, order_id=STOP_ID))
    engine.handle(quote(MNQ, last=20002.0))
    [command] = [c for c in port.commands if c.rule_id == RULE]
    assert isinstance(command, ModifyStop) and command.stop_price == 20000.25


def test_a_stop_tighter_than_breakeven_is_never_loosened() -> None:
    engine, _, port = engine_with()
    engine.handle(position(MES, -2, 5000.125))
    engine.handle(order(MES, side=OrderSide.BUY, stop_price=4999.5, order_id=STOP_ID))
    engine.handle(quote(MES, last=4998.0))
    assert placed(port) == []


def test_a_rounded_breakeven_at_the_market_is_not_placed() -> None:
    # Long at 20000.125 with a 1-tick trigger: the last at 20000.25 is 0.5 tick of profit (no
    # trigger); at 20000.50 the breakeven 20000.25 sits below the market and is placed.
    engine, _, port = engine_with(breakeven_trigger_ticks=1)
    engine.handle(position(MNQ, 2, 20000.125))
    engine.handle(quote(MNQ, last=20000.25))
    assert placed(port) == []
    engine.handle(quote(MNQ, last=20000.5))
    assert placed(port) == [(PlaceStop, OrderSide.SELL, 20000.25)]
