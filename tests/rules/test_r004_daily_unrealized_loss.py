"""RULE-004 daily_unrealized_loss: open P&L ≤ −limit → close that position (account scope: all).

MNQ: tick 0.25 = $0.50, so $2 a point. ES: $50 a point. MES: $5 a point.
"""

from __future__ import annotations

from typing import Any

from core.domain.commands import CloseContract
from core.domain.events import MarketTradeEvent
from core.engine.engine import Engine
from core.engine.rules.r004_daily_unrealized_loss import DailyUnrealizedLossRule
from tests.builders import (
    ACCOUNT,
    ES,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    config,
    make_engine,
    position,
    quote,
)
from tests.rules.support import lock_of, sent

RULE = "RULE-004"


def engine_with(limit: float = 300, scope: str = "position") -> tuple[Engine, Any, Any]:
    return make_engine(config({"daily_unrealized_loss": {"limit": limit, "scope": scope}}))


def closed(port: Any) -> list[str]:
    assert all(isinstance(c, CloseContract) for c in port.commands)
    return [c.contract_id for c in port.commands]


def test_open_loss_exactly_at_the_limit_closes_the_position() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19850.0))  # −150 points × $2 = −$300.00
    [command] = sent(port, RULE)
    assert isinstance(command, CloseContract)
    assert (command.account_id, command.contract_id) == (ACCOUNT, MNQ)
    assert "-$300.00" in command.reason and "MNQ" in command.reason


def test_one_tick_less_than_the_limit_does_not_close() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19850.25))  # −$299.50
    assert port.commands == []


def test_a_cent_less_than_the_limit_does_not_close() -> None:
    # ES at $12.50 a tick cannot land on −299.99; use a limit that makes one tick the cent.
    engine, _, port = engine_with(300.01)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19850.0))  # −300.00 > −300.01
    assert port.commands == []


def test_size_multiplies_the_loss() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 3, 20000.0))
    engine.handle(quote(MNQ, last=19950.0))  # −50 points × $2 × 3 = −$300
    assert closed(port) == [MNQ]


def test_a_short_loses_when_the_price_rises() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(ES, -1, 5000.0))
    engine.handle(quote(ES, last=5005.75))  # 23 ticks × $12.50 = −$287.50
    assert port.commands == []
    engine.handle(quote(ES, last=5006.0))  # 24 ticks = −$300
    assert closed(port) == [ES]


def test_an_open_profit_is_never_a_loss_breach() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20500.0))
    assert port.commands == []


def test_no_decision_without_a_price() -> None:
    engine, _, port = engine_with(1)  # any loss at all would breach
    engine.handle(position(MNQ, 1, 20000.0))  # no quote yet for MNQ
    assert port.commands == []
    assert engine.quotes.mark(MNQ) is None


def test_a_bid_alone_is_not_a_price() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, bid=19000.0))
    assert port.commands == []


def test_a_position_opened_into_a_known_price_is_judged_at_once() -> None:
    engine, _, port = engine_with(300)
    engine.handle(quote(MNQ, last=19850.0))
    engine.handle(position(MNQ, 1, 20000.0))  # filled badly: already −$300
    assert closed(port) == [MNQ]


def test_the_mark_is_the_last_price_not_the_mid() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19900.0, bid=19849.75, ask=19850.25))  # mid says −300
    assert port.commands == []  # last says −200
    engine.handle(quote(MNQ, last=19850.0, bid=19950.0, ask=19950.5))  # mid says −99
    assert closed(port) == [MNQ]


def test_a_partial_quote_without_last_keeps_the_previous_last() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19900.0))
    engine.handle(quote(MNQ, bid=19800.0, ask=19800.5))  # mid −$399.5, but last is kept
    assert port.commands == []
    assert engine.quotes.mark(MNQ) == 19900.0
    engine.handle(quote(MNQ, last=19850.0))
    assert closed(port) == [MNQ]


def test_the_bid_ask_mid_is_used_before_any_last_price() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, bid=19850.0, ask=19850.5))  # mid 19850.25: −$299.50
    assert port.commands == []
    engine.handle(quote(MNQ, bid=19849.75))  # merged with the known ask: mid 19850.125
    assert port.commands == []  # −$299.75
    engine.handle(quote(MNQ, ask=19850.25))  # mid 19850.00: −$300
    assert closed(port) == [MNQ]


def test_a_market_print_is_a_last_price() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(MarketTradeEvent(contract_id=MNQ, price=19850.0, volume=1))
    assert closed(port) == [MNQ]


def test_position_scope_judges_each_position_alone() -> None:
    engine, _, port = engine_with(300, scope="position")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MNQ, last=19900.0))  # −$200
    engine.handle(quote(MES, last=4980.0))  # −$100: −$300 together, but not per position
    assert port.commands == []


def test_position_scope_closes_only_the_losing_position() -> None:
    engine, _, port = engine_with(300, scope="position")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MES, last=5000.0))
    engine.handle(quote(MNQ, last=19800.0))  # −$400 on MNQ
    assert closed(port) == [MNQ]


def test_account_scope_sums_the_positions_and_closes_them_all() -> None:
    engine, _, port = engine_with(300, scope="account")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MNQ, last=19900.0))  # −$200
    assert port.commands == []  # MES still unpriced: no decision
    engine.handle(quote(MES, last=4980.25))  # −$98.75: −$298.75 together
    assert port.commands == []
    engine.handle(quote(MES, last=4980.0))  # −$100: −$300 together
    assert sorted(closed(port)) == sorted([MNQ, MES])
    assert "account open loss -$300.00" in port.commands[0].reason


def test_account_scope_lets_a_winner_offset_a_loser() -> None:
    engine, _, port = engine_with(300, scope="account")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MES, last=5020.0))  # +$100
    engine.handle(quote(MNQ, last=19850.0))  # −$300: −$200 together
    assert port.commands == []


def test_account_scope_takes_no_decision_while_any_position_is_unpriced() -> None:
    engine, _, port = engine_with(300, scope="account")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.handle(quote(MNQ, last=19000.0))  # −$2000 on MNQ alone
    assert port.commands == []


def test_another_accounts_position_is_not_closed() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0, account_id=OTHER_ACCOUNT))
    engine.handle(position(MNQ, 1, 19850.0))
    engine.handle(quote(MNQ, last=19850.0))  # OTHER_ACCOUNT −$300; ours flat at 0
    [command] = port.commands
    assert command.account_id == OTHER_ACCOUNT  # every account is protected by default


def test_a_trade_by_trade_rule_sets_no_lock() -> None:
    engine, _, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19000.0))
    assert closed(port) == [MNQ]
    assert lock_of(engine, RULE) is None


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(300)
    rule = DailyUnrealizedLossRule(engine.config.rules.daily_unrealized_loss)
    ctx = engine.context(ACCOUNT, clock.now())
    opened = position(MNQ, 1, 20000.0)
    engine.mirror.apply_position(opened, clock.now())
    assert rule.evaluate(ctx, opened) == []  # unpriced
    engine.quotes.apply(quote(MNQ, last=19850.0))
    assert ctx.open_pnl(ctx.account.positions[MNQ]) == -300.0
    [breach] = rule.evaluate(ctx, quote(MNQ, last=19850.0))
    assert breach.lock is None
    assert [type(c) for c in breach.commands] == [CloseContract]
