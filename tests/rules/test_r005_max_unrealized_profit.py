"""RULE-005 max_unrealized_profit: open P&L ≥ target → take it (close that position, or all).

MES: tick 0.25 = $1.25, so $5 a point. MNQ: $2 a point. ES: $50 a point.
"""

from __future__ import annotations

from typing import Any

from core.domain.commands import CloseContract
from core.domain.events import MarketTradeEvent
from core.engine.engine import Engine
from core.engine.rules.r005_max_unrealized_profit import MaxUnrealizedProfitRule
from tests.builders import ACCOUNT, ES, MES, MNQ, config, make_engine, position, quote
from tests.rules.support import lock_of, sent

RULE = "RULE-005"


def engine_with(target: float = 250, scope: str = "position") -> tuple[Engine, Any, Any]:
    return make_engine(config({"max_unrealized_profit": {"target": target, "scope": scope}}))


def closed(port: Any) -> list[str]:
    assert all(isinstance(c, CloseContract) for c in port.commands)
    return [c.contract_id for c in port.commands]


def test_open_profit_exactly_at_the_target_closes_the_position() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, last=5050.0))  # +50 points × $5 = +$250.00
    [command] = sent(port, RULE)
    assert isinstance(command, CloseContract)
    assert (command.account_id, command.contract_id) == (ACCOUNT, MES)
    assert "$250.00" in command.reason
    assert lock_of(engine, RULE) is None  # trade-by-trade: no lock


def test_one_tick_short_of_the_target_does_not_close() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, last=5049.75))  # +$248.75
    assert port.commands == []


def test_above_the_target_closes_too() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, last=5100.0))
    assert closed(port) == [MES]


def test_a_short_profits_when_the_price_falls() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(ES, -1, 5000.0))
    engine.handle(quote(ES, last=4995.25))  # 19 ticks × $12.50 = +$237.50
    assert port.commands == []
    engine.handle(quote(ES, last=4995.0))  # 20 ticks = +$250
    assert closed(port) == [ES]


def test_a_loss_never_reaches_a_profit_target() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, -2, 5000.0))
    engine.handle(quote(MES, last=5200.0))
    assert port.commands == []


def test_no_decision_without_a_price() -> None:
    engine, _, port = engine_with(1)
    engine.handle(position(MES, 1, 1000.0))
    assert port.commands == []


def test_the_mark_is_the_last_price_not_the_mid() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, last=5040.0, bid=5060.0, ask=5060.25))  # last +$200, mid +$300
    assert port.commands == []


def test_a_partial_quote_without_last_keeps_the_previous_last() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, last=5040.0))
    engine.handle(quote(MES, bid=5080.0, ask=5080.25))
    assert port.commands == []
    engine.handle(quote(MES, last=5050.0))
    assert closed(port) == [MES]


def test_the_bid_ask_mid_is_used_before_any_last_price() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(quote(MES, bid=5049.75, ask=5050.0))  # mid 5049.875: +$249.375
    assert port.commands == []
    engine.handle(quote(MES, bid=5050.0, ask=5050.0))  # mid 5050: +$250
    assert closed(port) == [MES]


def test_a_market_print_drives_the_rule() -> None:
    engine, _, port = engine_with(250)
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(MarketTradeEvent(contract_id=MES, price=5050.0, volume=2))
    assert closed(port) == [MES]


def test_position_scope_does_not_add_positions_up() -> None:
    engine, _, port = engine_with(250, scope="position")
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(position(MNQ, 1, 20000.0, position_id=2))
    engine.handle(quote(MES, last=5030.0))  # +$150
    engine.handle(quote(MNQ, last=20050.0))  # +$100
    assert port.commands == []


def test_account_scope_closes_everything_when_the_sum_reaches_the_target() -> None:
    engine, _, port = engine_with(250, scope="account")
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(position(MNQ, 1, 20000.0, position_id=2))
    engine.handle(quote(MES, last=5030.0))  # +$150, MNQ unpriced: no decision
    assert port.commands == []
    engine.handle(quote(MNQ, last=20049.75))  # +$99.50: +$249.50 together
    assert port.commands == []
    engine.handle(quote(MNQ, last=20050.0))  # +$100: +$250 together
    assert sorted(closed(port)) == sorted([MES, MNQ])
    assert "account open profit $250.00" in port.commands[0].reason


def test_account_scope_a_loser_offsets_a_winner() -> None:
    engine, _, port = engine_with(250, scope="account")
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(position(MNQ, 1, 20000.0, position_id=2))
    engine.handle(quote(MNQ, last=19950.0))  # −$100
    engine.handle(quote(MES, last=5060.0))  # +$300: +$200 together
    assert port.commands == []


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(250)
    rule = MaxUnrealizedProfitRule(engine.config.rules.max_unrealized_profit)
    ctx = engine.context(ACCOUNT, clock.now())
    opened = position(MES, 2, 5000.0)
    engine.mirror.apply_position(opened, clock.now())
    engine.quotes.apply(quote(MES, last=5024.75))  # 99 ticks × $1.25 × 2 = $247.50
    assert rule.evaluate(ctx, opened) == []
    engine.quotes.apply(quote(MES, last=5025.0))  # $250
    [breach] = rule.evaluate(ctx, opened)
    assert [c.contract_id for c in breach.commands] == [MES]  # type: ignore[union-attr]
    assert breach.lock is None
