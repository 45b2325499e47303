"""RULE-008 no_stop_loss_grace: a position without a protective stop after the grace → close it.

A stop protects when it is a Stop (4), StopLimit (3) or TrailingStop (5), working, on the
closing side (sell for a long), priced beyond the entry (or locked in between entry and market).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.domain.clock import ManualClock
from core.domain.commands import CloseContract
from core.domain.events import ClockTick, OrderSide, OrderStatus, OrderType
from core.engine.engine import Engine
from core.engine.rules.r008_no_stop_loss_grace import NoStopLossGraceRule
from tests.builders import ACCOUNT, MES, MNQ, T0, config, make_engine, order, position, quote
from tests.rules.support import lock_of

RULE = "RULE-008"
SELL, BUY = OrderSide.SELL, OrderSide.BUY


def engine_with(grace: int = 30) -> tuple[Engine, ManualClock, Any]:
    return make_engine(config({"no_stop_loss_grace": {"grace_seconds": grace}}))


def after_grace(engine: Engine, clock: ManualClock, seconds: float = 30) -> None:
    clock.set(T0 + timedelta(seconds=seconds))
    engine.tick()


def closed(port: Any) -> list[str]:
    assert all(isinstance(c, CloseContract) and c.rule_id == RULE for c in port.commands)
    return [c.contract_id for c in port.commands]


def test_no_close_before_the_grace_is_over() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    after_grace(engine, clock, 29)
    assert port.commands == []


def test_an_unprotected_position_is_closed_when_the_grace_is_over() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    after_grace(engine, clock, 30)  # the clock tick drives it
    assert closed(port) == [MNQ]
    command = port.commands[0]
    assert command.account_id == ACCOUNT
    assert command.reason == "MNQ position has no stop loss after 30 s"
    assert lock_of(engine, RULE) is None  # trade-by-trade: no lock


def test_without_a_clock_tick_nothing_is_judged() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    clock.advance(600)  # time passes but no tick and no event
    assert port.commands == []
    engine.tick()
    assert closed(port) == [MNQ]


@pytest.mark.parametrize("kind", [OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP])
def test_a_sell_stop_below_a_longs_entry_protects_it(kind: OrderType) -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, type=kind, stop_price=19980.0, limit_price=19979.0))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_buy_stop_above_a_shorts_entry_protects_it() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MES, -2, 5000.0))
    engine.handle(order(MES, side=BUY, stop_price=5010.0, size=2))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_stop_at_breakeven_protects() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=20000.0))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_stop_locked_in_profit_between_entry_and_market_protects() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20050.0))
    engine.handle(order(MNQ, side=SELL, stop_price=20020.0))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_stop_on_the_opening_side_does_not_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=BUY, stop_price=20020.0))  # a buy stop would add to a long
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_a_closing_stop_on_the_wrong_side_of_entry_and_market_does_not_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=20010.0))  # above entry and market
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_a_shorts_buy_stop_below_entry_and_market_does_not_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MES, -1, 5000.0))
    engine.handle(order(MES, side=BUY, stop_price=4990.0))
    after_grace(engine, clock, 30)
    assert closed(port) == [MES]


def test_a_take_profit_limit_order_is_not_a_stop() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, type=OrderType.LIMIT, limit_price=20050.0))
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_a_trailing_stop_without_a_price_protects() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, type=OrderType.TRAILING_STOP, stop_price=None))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_suspended_bracket_stop_with_no_price_does_not_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, status=OrderStatus.SUSPENDED, stop_price=None))
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_a_suspended_trailing_bracket_child_does_not_protect() -> None:
    # A status-8 child cannot trigger until its parent fills, whatever its type.
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(
        order(MNQ, side=SELL, type=OrderType.TRAILING_STOP, status=OrderStatus.SUSPENDED)
    )
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_a_bracket_stop_that_becomes_working_with_a_price_protects() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    child = order(MNQ, side=SELL, status=OrderStatus.SUSPENDED, order_id=11)
    engine.handle(child)
    engine.handle(order(MNQ, side=SELL, status=OrderStatus.OPEN, stop_price=19975.0, order_id=11))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_stop_for_another_contract_does_not_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MES, side=SELL, stop_price=4900.0))
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_cancelling_the_stop_after_the_grace_closes_the_position_at_once() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, order_id=21))
    after_grace(engine, clock, 60)
    assert port.commands == []
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, order_id=21, status=OrderStatus.CANCELLED))
    assert closed(port) == [MNQ]


def test_only_the_unprotected_positions_are_closed() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(order(MES, side=SELL, stop_price=4990.0))
    after_grace(engine, clock, 30)
    assert closed(port) == [MNQ]


def test_the_grace_counts_from_the_gateways_creation_time() -> None:
    engine, _, port = engine_with(30)
    # Seen for the first time (after a restart), but opened 45 s ago on the gateway.
    engine.handle(position(MNQ, 1, 20000.0, created_at=T0 - timedelta(seconds=45)))
    assert closed(port) == [MNQ]


def test_a_position_closed_within_the_grace_is_forgotten() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    clock.advance(10)
    engine.handle(position(MNQ, 0, 0.0))
    after_grace(engine, clock, 60)
    assert port.commands == []


def test_evaluated_directly_on_a_clock_tick() -> None:
    engine, clock, _ = engine_with(30)
    rule = NoStopLossGraceRule(engine.config.rules.no_stop_loss_grace)
    engine.mirror.apply_position(position(MNQ, 2, 20000.0), T0)
    ctx = engine.context(ACCOUNT, T0 + timedelta(seconds=29))
    assert rule.evaluate(ctx, ClockTick(ctx.now)) == []
    ctx = engine.context(ACCOUNT, T0 + timedelta(seconds=30))
    [breach] = rule.evaluate(ctx, ClockTick(ctx.now))
    assert [(type(c), c.contract_id) for c in breach.commands] == [(CloseContract, MNQ)]  # type: ignore[union-attr]
    assert breach.lock is None
