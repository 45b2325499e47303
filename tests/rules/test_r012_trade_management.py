"""RULE-012 trade_management: stop to breakeven after N ticks, then trail. Only ever tightens.

MNQ tick 0.25: 10 ticks = 2.5 points. Long 1 MNQ at 20000 throughout unless said otherwise.
"""

from __future__ import annotations

from typing import Any

from core.domain.commands import ModifyStop, PlaceStop
from core.domain.events import OrderSide, OrderStatus, OrderType
from core.engine.engine import Engine
from core.engine.rules import build_rules
from core.engine.rules.r012_trade_management import TradeManagementRule
from tests.builders import (
    ACCOUNT,
    MES,
    MNQ,
    config,
    default_config,
    make_engine,
    order,
    position,
    quote,
)
from tests.rules.support import lock_of

RULE = "RULE-012"
ENTRY = 20000.0
STOP_ID = 31


def engine_with(**table: Any) -> tuple[Engine, Any, Any]:
    engine, clock, port = make_engine(config({"trade_management": table}))
    return engine, clock, port


def long_mnq(engine: Engine, stop_at: float | None = None) -> None:
    engine.handle(position(MNQ, 1, ENTRY))
    if stop_at is not None:
        working_stop(engine, stop_at)


def working_stop(engine: Engine, price: float, *, contract: str = MNQ, side: int = OrderSide.SELL) -> None:
    """The gateway confirms (or shows) our protective stop at ``price``."""
    engine.handle(order(contract, side=side, stop_price=price, order_id=STOP_ID))


def moves(port: Any) -> list[tuple[type, float]]:
    return [(type(c), c.stop_price) for c in port.commands]


def test_the_rule_is_off_by_default() -> None:
    assert default_config().rules.trade_management.enabled is False
    assert config().rules.trade_management.enabled is False
    assert not any(r.rule_id == RULE for r in build_rules(default_config().rules))
    engine, _, port = make_engine(default_config())
    long_mnq(engine)
    engine.handle(quote(MNQ, last=ENTRY + 50))
    assert [c for c in port.commands if c.rule_id == RULE] == []


def test_one_tick_short_of_the_trigger_nothing_moves() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, last=ENTRY + 9 * 0.25))
    assert port.commands == []


def test_at_the_trigger_a_missing_stop_is_placed_at_breakeven() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine)
    engine.handle(quote(MNQ, last=ENTRY + 10 * 0.25))
    [command] = port.commands
    assert isinstance(command, PlaceStop)
    assert (command.account_id, command.rule_id, command.contract_id) == (ACCOUNT, RULE, MNQ)
    assert (command.side, command.size, command.stop_price) == (OrderSide.SELL, 1, ENTRY)
    assert "breakeven" in command.reason
    assert lock_of(engine, RULE) is None


def test_at_the_trigger_an_existing_stop_is_moved_to_breakeven() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    [command] = port.commands
    assert isinstance(command, ModifyStop)
    assert (command.order_id, command.contract_id, command.stop_price) == (STOP_ID, MNQ, ENTRY)
    assert "19990 → 20000" in command.reason


def test_a_short_gets_a_buy_stop_above_the_market() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    engine.handle(position(MES, -2, 5000.0))
    engine.handle(quote(MES, last=4997.75))  # 9 ticks
    assert port.commands == []
    engine.handle(quote(MES, last=4997.5))  # 10 ticks
    [command] = port.commands
    assert isinstance(command, PlaceStop)
    assert (command.side, command.size, command.stop_price) == (OrderSide.BUY, 2, 5000.0)


def test_the_breakeven_offset_locks_in_ticks() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10, breakeven_offset_ticks=2)
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    assert moves(port) == [(ModifyStop, ENTRY + 0.5)]


def test_a_short_breakeven_offset_is_below_the_entry() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=4, breakeven_offset_ticks=1)
    engine.handle(position(MES, -1, 5000.0))
    engine.handle(quote(MES, last=4999.0))
    assert moves(port) == [(PlaceStop, 4999.75)]


def test_a_stop_already_tighter_than_breakeven_is_left_alone() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine, stop_at=ENTRY + 1.0)
    engine.handle(quote(MNQ, last=ENTRY + 5.0))
    assert port.commands == []


def test_a_stop_already_at_breakeven_is_not_churned() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine, stop_at=ENTRY)
    for last in (ENTRY + 2.5, ENTRY + 3.0, ENTRY + 4.0):
        engine.handle(quote(MNQ, last=last))
    assert port.commands == []


def test_one_tick_tighter_is_enough_to_move() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine, stop_at=ENTRY - 0.25)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    assert moves(port) == [(ModifyStop, ENTRY)]


def test_never_a_stop_through_the_market() -> None:
    # An offset beyond the trigger would put the stop above a long's market: refused.
    engine, _, port = engine_with(breakeven_trigger_ticks=10, breakeven_offset_ticks=12)
    long_mnq(engine)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))  # wanted 20003 > market 20002.5
    assert port.commands == []


def test_never_a_stop_at_the_market() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10, breakeven_offset_ticks=10)
    long_mnq(engine)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))  # wanted == market: it would fill at once
    assert port.commands == []
    engine.handle(quote(MNQ, last=ENTRY + 2.75))  # now a tick below the market: fine
    assert moves(port) == [(PlaceStop, ENTRY + 2.5)]


def test_trailing_starts_at_its_activation_and_keeps_its_distance() -> None:
    engine, _, port = engine_with(
        breakeven=False, trailing=True, trail_activation_ticks=20, trail_distance_ticks=10
    )
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, last=ENTRY + 19 * 0.25))
    assert port.commands == []
    engine.handle(quote(MNQ, last=ENTRY + 5.0))  # 20 ticks: trail 10 ticks behind
    [command] = port.commands
    assert isinstance(command, ModifyStop) and command.stop_price == ENTRY + 2.5
    assert "trailing" in command.reason


def test_trailing_only_tightens_and_never_loosens_when_the_price_falls_back() -> None:
    engine, _, port = engine_with(
        breakeven_trigger_ticks=10, trailing=True, trail_activation_ticks=20, trail_distance_ticks=10
    )
    long_mnq(engine)
    engine.handle(quote(MNQ, last=ENTRY + 2.5))  # 10 ticks: breakeven
    assert moves(port) == [(PlaceStop, ENTRY)]
    working_stop(engine, ENTRY)
    engine.handle(quote(MNQ, last=ENTRY + 4.75))  # 19 ticks: breakeven already there
    engine.handle(quote(MNQ, last=ENTRY + 5.0))  # 20 ticks: trail to +2.5
    working_stop(engine, ENTRY + 2.5)
    engine.handle(quote(MNQ, last=ENTRY + 6.0))  # trail to +3.5
    working_stop(engine, ENTRY + 3.5)
    port_before = list(port.commands)
    for last in (ENTRY + 5.5, ENTRY + 4.0, ENTRY + 3.75, ENTRY + 5.75):  # falls back, stalls
        engine.handle(quote(MNQ, last=last))
    assert port.commands == port_before  # no loosening, no churn
    assert moves(port) == [(PlaceStop, ENTRY), (ModifyStop, ENTRY + 2.5), (ModifyStop, ENTRY + 3.5)]
    engine.handle(quote(MNQ, last=ENTRY + 7.0))  # a new high: trail on
    assert moves(port)[-1] == (ModifyStop, ENTRY + 4.5)


def test_a_short_trails_downwards() -> None:
    engine, _, port = engine_with(
        breakeven=False, trailing=True, trail_activation_ticks=8, trail_distance_ticks=4
    )
    engine.handle(position(MES, -1, 5000.0))
    working_stop(engine, 5005.0, contract=MES, side=OrderSide.BUY)
    engine.handle(quote(MES, last=4998.0))  # 8 ticks: trail 4 ticks above the market
    working_stop(engine, 4999.0, contract=MES, side=OrderSide.BUY)
    engine.handle(quote(MES, last=4998.75))  # bounces up: never loosen
    assert moves(port) == [(ModifyStop, 4999.0)]


def test_a_mid_price_trail_is_rounded_to_the_tick() -> None:
    engine, _, port = engine_with(
        breakeven=False, trailing=True, trail_activation_ticks=20, trail_distance_ticks=10
    )
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, bid=ENTRY + 6.0, ask=ENTRY + 6.25))  # mid 20006.125, no last yet
    [command] = port.commands
    assert isinstance(command, ModifyStop)
    assert command.stop_price % 0.25 == 0
    assert ENTRY + 3.5 <= command.stop_price < ENTRY + 6.125


def test_no_price_no_move() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=1)
    long_mnq(engine)
    engine.handle(quote(MNQ, bid=ENTRY + 10.0))  # a bid alone is not a price
    assert port.commands == []


def test_a_losing_position_is_left_alone() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10, trailing=True)
    long_mnq(engine, stop_at=19990.0)
    engine.handle(quote(MNQ, last=ENTRY - 5.0))
    assert port.commands == []


def test_a_trailing_stop_order_without_a_price_trails_by_itself() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine)
    engine.handle(order(MNQ, side=OrderSide.SELL, type=OrderType.TRAILING_STOP))
    engine.handle(quote(MNQ, last=ENTRY + 5.0))
    assert port.commands == []


def test_the_market_through_the_stop_places_no_second_stop() -> None:
    # The stop is being filled; a new stop now would be left behind once the position is flat.
    engine, _, port = engine_with(breakeven_trigger_ticks=10, trailing=True, trail_activation_ticks=20)
    long_mnq(engine, stop_at=ENTRY + 3.5)
    engine.handle(quote(MNQ, last=ENTRY + 3.0))  # below the sell stop: it triggers
    engine.handle(quote(MNQ, last=ENTRY + 3.5))  # at the stop
    assert port.commands == []


def test_a_waiting_bracket_stop_is_not_doubled() -> None:
    # A status-8 bracket child has no price yet and activates with its parent's fill.
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine)
    engine.handle(order(MNQ, side=OrderSide.SELL, status=OrderStatus.SUSPENDED))
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    assert port.commands == []


def test_the_tightest_of_several_stops_is_the_one_moved() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine)
    engine.handle(order(MNQ, side=OrderSide.SELL, stop_price=19950.0, order_id=40))
    engine.handle(order(MNQ, side=OrderSide.SELL, stop_price=19990.0, order_id=41))
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    [command] = port.commands
    assert isinstance(command, ModifyStop)
    assert (command.order_id, command.stop_price) == (41, ENTRY)


def test_a_take_profit_limit_is_not_a_stop_to_move() -> None:
    engine, _, port = engine_with(breakeven_trigger_ticks=10)
    long_mnq(engine)
    engine.handle(order(MNQ, side=OrderSide.SELL, type=OrderType.LIMIT, limit_price=ENTRY + 10))
    engine.handle(quote(MNQ, last=ENTRY + 2.5))
    assert moves(port) == [(PlaceStop, ENTRY)]


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(breakeven_trigger_ticks=10)
    rule = TradeManagementRule(engine.config.rules.trade_management)
    assert rule.automation is True
    engine.mirror.apply_position(position(MNQ, 1, ENTRY), clock.now())
    engine.quotes.apply(quote(MNQ, last=ENTRY + 2.5))
    [action] = rule.evaluate(engine.context(ACCOUNT, clock.now()), quote(MNQ, last=ENTRY + 2.5))
    assert action.lock is None and action.symbol_lock is None
    assert [type(c) for c in action.commands] == [PlaceStop]
