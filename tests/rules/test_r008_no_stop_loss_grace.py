"""RULE-008 no_stop_loss_grace: contracts without a protective stop after the grace → close them.

SPEC: a stop is a working Stop (4), StopLimit (3) or TrailingStop (5) on the closing side (sell
for a long), at any price: one locked in profit protects too, and a price is never needed to
decide. Each contract's grace runs from the fill that opened it; once grace_seconds (≥) have
passed and the stops (covering the oldest contracts first) leave it bare, it is closed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.domain.clock import ManualClock
from core.domain.commands import CloseContract, PartialClose
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
    assert all(isinstance(c, CloseContract) and c.rule_id == RULE for c in port.commands), port.commands
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
    assert command.reason == "MNQ position has no stop loss after the 30-second grace"
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


def test_a_closing_stop_above_a_longs_entry_and_market_still_protects() -> None:
    # At any price: a stop trade management moved into profit (or placed above the market,
    # where it fills at once) is the trader's protection, not a missing one.
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=20010.0))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_a_shorts_buy_stop_below_entry_and_market_still_protects() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MES, -1, 5000.0))
    engine.handle(order(MES, side=BUY, stop_price=4990.0))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_no_price_is_needed_to_decide() -> None:
    # A restart before the first quote, or a market feed that dropped: nothing is known of the
    # market, and the stop above entry still protects.
    engine, clock, port = engine_with(30)
    engine.handle(quote(MNQ, last=20060.0))
    engine.quotes.clear()  # the market feed was lost
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=20040.0))
    after_grace(engine, clock, 120)
    assert engine.quotes.mark(MNQ) is None
    assert port.commands == []


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


def test_a_suspended_bracket_stop_is_working_and_protects() -> None:
    # Status 8 (Suspended) is a working status on the live gateway: the bracket child is the
    # trader's stop, waiting for the gateway to give it its price.
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, status=OrderStatus.SUSPENDED, stop_price=None))
    after_grace(engine, clock, 120)
    assert port.commands == []


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


# --- per-contract grace and coverage -------------------------------------------------------------


def test_grace_is_reached_at_exactly_grace_seconds() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0, created_at=T0))
    clock.set(T0 + timedelta(seconds=29, microseconds=999_999))
    engine.tick()
    assert port.commands == []
    clock.set(T0 + timedelta(seconds=30))
    engine.tick()
    assert closed(port) == [MNQ]


def test_a_stop_for_part_of_the_size_leaves_the_rest_to_be_closed() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 3, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=1))
    after_grace(engine, clock, 30)
    [command] = port.commands
    assert isinstance(command, PartialClose)
    assert (command.rule_id, command.contract_id, command.size) == (RULE, MNQ, 2)
    assert command.reason == "2 of 3 MNQ contracts have no stop loss after the 30-second grace"


def test_stops_together_covering_the_whole_size_protect() -> None:
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 3, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=1))
    engine.handle(order(MNQ, side=SELL, type=OrderType.TRAILING_STOP, size=2))
    after_grace(engine, clock, 120)
    assert port.commands == []


def test_each_contract_has_its_own_grace_from_the_fill_that_opened_it() -> None:
    # 1 contract at T0 with a stop for 1; 2 more at T0+20 s. Stops cover the oldest first, so
    # the added two are bare: their grace ends at T0+50 s, not at the position's T0+30 s.
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(order(MNQ, side=SELL, stop_price=19980.0, size=1))
    clock.set(T0 + timedelta(seconds=20))
    engine.handle(position(MNQ, 3, 20010.0))
    after_grace(engine, clock, 49)
    assert port.commands == []
    after_grace(engine, clock, 50)
    [command] = port.commands
    assert isinstance(command, PartialClose) and command.size == 2


def test_a_reduction_takes_the_oldest_contracts_first() -> None:
    # 2 at T0, 2 more at T0+25 s, then 2 closed at T0+26 s: the two left are the newest, so
    # their grace runs to T0+55 s.
    engine, clock, port = engine_with(30)
    engine.handle(position(MNQ, 2, 20000.0))
    clock.set(T0 + timedelta(seconds=25))
    engine.handle(position(MNQ, 4, 20000.0))
    clock.set(T0 + timedelta(seconds=26))
    engine.handle(position(MNQ, 2, 20000.0))
    after_grace(engine, clock, 54)
    assert port.commands == []
    after_grace(engine, clock, 55)
    assert closed(port) == [MNQ]
