"""SPEC, lockout gate: never cancelled by any gate are the app's own closing orders and an order
that can only reduce a position still open (closing side, size ≤ the position's), such as a
protective stop placed during a cooldown. Once flat, such orders are cancelled too."""

from __future__ import annotations

from core.domain.commands import CancelOrder
from core.domain.events import OrderSide, OrderStatus, OrderType
from tests.builders import ES, MNQ, T0, config, make_engine, order, position, trade

SELL, BUY = OrderSide.SELL, OrderSide.BUY


def hard_locked() -> tuple:  # type: ignore[type-arg]
    engine, clock, port = make_engine(config({"daily_realized_loss": {"limit": 100}}))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(trade("-150", fees="0", at=T0))
    port.clear()
    return engine, clock, port


def cooled_down() -> tuple:  # type: ignore[type-arg]
    engine, clock, port = make_engine(config({"cooldown_after_loss": {}}))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(trade("-150", fees="0", at=T0))
    port.clear()
    return engine, clock, port


def cancels(port: object) -> list[int]:
    return [c.order_id for c in port.commands if isinstance(c, CancelOrder)]  # type: ignore[attr-defined]


def test_a_stop_protecting_an_open_position_survives_a_hard_lock() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=11))
    assert cancels(port) == []


def test_a_target_limit_that_can_only_reduce_survives_a_hard_lock() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=SELL, type=OrderType.LIMIT, limit_price=20050.0, size=1, order_id=12))
    assert cancels(port) == []


def test_an_order_on_the_adding_side_is_cancelled_under_a_hard_lock() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=BUY, type=OrderType.LIMIT, limit_price=19900.0, order_id=13))
    assert cancels(port) == [13]


def test_a_closing_side_order_bigger_than_the_position_is_cancelled() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=3, order_id=14))  # would flip
    assert cancels(port) == [14]


def test_a_protective_stop_placed_in_a_cooldown_stays() -> None:
    engine, _, port = cooled_down()
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=15))
    assert cancels(port) == []


def test_a_symbol_lock_never_cancels_a_reducing_order_in_its_symbol() -> None:
    engine, _, port = make_engine(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(position(ES, 1, 6400.0))
    port.clear()
    close_order = order(ES, side=SELL, type=OrderType.MARKET, size=1, order_id=16)
    engine.handle(close_order)  # the app's own close, on its way
    assert cancels(port) == []


def test_once_flat_the_kept_orders_are_cancelled_under_a_hard_lock() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=17))
    engine.handle(order(MNQ, side=SELL, type=OrderType.LIMIT, limit_price=20050.0, size=2, order_id=18))
    assert cancels(port) == []
    engine.handle(position(MNQ, 0, 0.0))
    assert sorted(cancels(port)) == [17, 18]


def test_once_flat_a_stop_kept_in_a_cooldown_is_cancelled() -> None:
    engine, _, port = cooled_down()
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=2, order_id=19))
    engine.handle(position(MNQ, 0, 0.0))
    assert cancels(port) == [19]


def test_a_filled_market_close_still_shown_working_is_not_cancelled_once_flat() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=SELL, type=OrderType.MARKET, size=2, order_id=20))
    engine.handle(position(MNQ, 0, 0.0))  # the close filled; its own update comes next
    assert 20 not in cancels(port)
    engine.handle(order(MNQ, side=SELL, type=OrderType.MARKET, size=2, order_id=20,
                        status=OrderStatus.FILLED))
    assert 20 not in cancels(port)
