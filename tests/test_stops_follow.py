"""SPEC: stops follow the position. When a position is cut back, working closing-side stops
larger than what remains are reduced to the remaining size, so no stop can ever open a position
in the other direction; a stop left behind by a flat position is cancelled."""

from __future__ import annotations

from core.domain.commands import CancelOrder, ModifyStop
from core.domain.events import OrderSide, OrderType
from tests.builders import MNQ, config, make_engine, order, position

SELL, BUY = OrderSide.SELL, OrderSide.BUY


def resizes(port: object) -> list[tuple[int, int | None]]:
    return [(c.order_id, c.size) for c in port.commands if isinstance(c, ModifyStop)]  # type: ignore[attr-defined]


def test_a_partial_close_shrinks_a_larger_stop_to_what_remains() -> None:
    engine, _, port = make_engine(config({"max_contracts": {"limit": 2}}))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=31))
    engine.handle(position(MNQ, 3, 20000.0))  # over the limit: reduced back to 2
    port.clear()
    engine.handle(position(MNQ, 1, 20000.0))  # the trader's stop is for 2; 1 is left
    assert resizes(port) == [(31, 1)]
    [command] = port.commands
    assert isinstance(command, ModifyStop) and command.stop_price is None


def test_a_stop_no_larger_than_what_remains_is_left_alone() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, 3, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=1, order_id=32))
    engine.handle(position(MNQ, 2, 20000.0))
    assert resizes(port) == []


def test_each_stop_larger_than_the_rest_is_reduced() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, -4, 20000.0))
    engine.handle(order(MNQ, side=BUY, stop_price=20020.0, size=4, order_id=33))
    engine.handle(order(MNQ, side=BUY, type=OrderType.TRAILING_STOP, size=3, order_id=34))
    engine.handle(order(MNQ, side=BUY, stop_price=20040.0, size=1, order_id=35))
    engine.handle(position(MNQ, -2, 20000.0))
    assert sorted(resizes(port)) == [(33, 2), (34, 2)]


def test_a_growing_position_changes_no_stop() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=1, order_id=36))
    engine.handle(position(MNQ, 2, 20000.0))
    assert port.commands == []


def test_once_flat_the_stop_is_cancelled_not_resized() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=37))
    engine.handle(position(MNQ, 0, 0.0))
    assert [(type(c), c.order_id) for c in port.commands] == [(CancelOrder, 37)]
