"""What every rule shares: the context it reads, the enforcement helpers, the rule registry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.config.rules import MaxContracts, RulesConfig
from core.domain.commands import CancelOrder, CloseContract, Flatten, PartialClose
from core.domain.words import money
from core.engine.rules import ALL_RULES, build_rules
from core.engine.rules.base import Rule
from core.engine.rules.r001_max_contracts import MaxContractsRule
from tests.builders import (
    ACCOUNT,
    CL,
    ES,
    MES,
    MNQ,
    NQ,
    T0,
    config,
    make_engine,
    order,
    position,
    quote,
    trade,
)
from tests.rules.support import ct


def a_rule() -> MaxContractsRule:
    return MaxContractsRule(MaxContracts(enabled=True))


@pytest.mark.parametrize(
    ("contract", "entry", "mark", "size", "expected"),
    [
        (MNQ, 20000.0, 20000.25, 1, 0.50),  # MNQ: $0.50 a tick
        (MES, 5000.0, 5000.25, 1, 1.25),  # MES: $1.25 a tick
        (ES, 5000.0, 5000.25, 1, 12.50),  # ES (contract id root EP): $12.50 a tick
        (NQ, 20000.0, 20000.25, 1, 5.00),  # NQ (contract id root ENQ): $5 a tick
        (CL, 70.0, 70.01, 1, 10.00),  # CL: 0.01 = $10
        (MES, 5000.0, 4990.0, 3, -150.0),  # 40 ticks × $1.25 × 3 long
        (MES, 5000.0, 4990.0, -3, 150.0),  # the same move for a short
    ],
)
def test_open_pnl_uses_the_contracts_tick_economics(
    contract: str, entry: float, mark: float, size: int, expected: float
) -> None:
    engine, clock, _ = make_engine()
    engine.mirror.apply_position(position(contract, size, entry), clock.now())
    engine.quotes.apply(quote(contract, last=mark))
    ctx = engine.context(ACCOUNT, clock.now())
    assert ctx.open_pnl(ctx.account.positions[contract]) == pytest.approx(expected)


def test_open_pnl_is_unknown_without_a_price() -> None:
    engine, clock, _ = make_engine()
    engine.mirror.apply_position(position(MNQ, 1, 20000.0), clock.now())
    ctx = engine.context(ACCOUNT, clock.now())
    assert ctx.open_pnl(ctx.account.positions[MNQ]) is None


def test_open_pnl_is_unknown_without_the_contracts_tick_value() -> None:
    engine, clock, _ = make_engine(with_contracts=False)
    engine.mirror.apply_position(position(MNQ, 1, 20000.0), clock.now())
    engine.quotes.apply(quote(MNQ, last=19000.0))
    ctx = engine.context(ACCOUNT, clock.now())
    assert ctx.open_pnl(ctx.account.positions[MNQ]) is None


def test_realized_today_is_the_trading_days_net() -> None:
    engine, clock, _ = make_engine()
    clock.set(ct(2026, 8, 19, 16, 0))
    engine.pnl.apply(trade("-100", fees="1", at=ct(2026, 8, 19, 9, 0)))
    engine.pnl.apply(trade("40", fees="1", at=ct(2026, 8, 19, 15, 0)))
    engine.pnl.apply(trade("-500", fees="1", at=ct(2026, 8, 18, 16, 0)))  # yesterday's day
    ctx = engine.context(ACCOUNT, clock.now())
    assert ctx.realized_today() == Decimal("-62")
    assert str(ctx.trading_day) == "2026-08-19"
    ctx = engine.context(ACCOUNT, ct(2026, 8, 19, 17, 0))  # the reset: a new day
    assert ctx.realized_today() == 0
    assert str(ctx.trading_day) == "2026-08-20"


def test_symbol_is_the_traders_root() -> None:
    engine, clock, _ = make_engine()
    ctx = engine.context(ACCOUNT, clock.now())
    assert (ctx.symbol(ES), ctx.symbol(NQ), ctx.symbol(MES)) == ("ES", "NQ", "MES")


def test_reduce_by_less_than_the_position_is_a_partial_close() -> None:
    engine, clock, _ = make_engine()
    engine.mirror.apply_position(position(MNQ, -4, 20000.0), clock.now())
    ctx = engine.context(ACCOUNT, clock.now())
    command = a_rule().reduce(ctx, MNQ, 3, "why")
    assert command == PartialClose(
        account_id=ACCOUNT, rule_id="RULE-001", reason="why", contract_id=MNQ, size=3
    )


@pytest.mark.parametrize("size", [4, 5])
def test_reduce_by_the_whole_position_or_more_is_a_close(size: int) -> None:
    engine, clock, _ = make_engine()
    engine.mirror.apply_position(position(MNQ, 4, 20000.0), clock.now())
    ctx = engine.context(ACCOUNT, clock.now())
    assert a_rule().reduce(ctx, MNQ, size, "why") == CloseContract(
        account_id=ACCOUNT, rule_id="RULE-001", reason="why", contract_id=MNQ
    )


def test_flatten_names_every_known_position_and_order() -> None:
    engine, clock, _ = make_engine()
    engine.mirror.apply_position(position(MNQ, 1, 20000.0), clock.now())
    engine.mirror.apply_position(position(ES, -1, 5000.0), clock.now())
    stop = order(MNQ, side=1, stop_price=19990.0)
    engine.mirror.apply_order(stop)
    ctx = engine.context(ACCOUNT, clock.now())
    command = a_rule().flatten(ctx, "why")
    assert isinstance(command, Flatten)
    assert set(command.contract_ids) == {MNQ, ES}
    assert command.order_ids == (stop.order_id,)


def test_cancel_names_the_order_and_its_contract() -> None:
    engine, clock, _ = make_engine()
    ctx = engine.context(ACCOUNT, clock.now())
    working = order(MES, side=0, type=1, limit_price=4990.0)
    assert a_rule().cancel(ctx, working, "why") == CancelOrder(
        account_id=ACCOUNT,
        rule_id="RULE-001",
        reason="why",
        order_id=working.order_id,
        contract_id=MES,
    )


def test_a_bare_rule_must_implement_evaluate_and_lifts_nothing() -> None:
    engine, clock, _ = make_engine()
    ctx = engine.context(ACCOUNT, clock.now())
    bare: Rule[MaxContracts] = Rule(MaxContracts(enabled=True))
    with pytest.raises(NotImplementedError):
        bare.evaluate(ctx, None)
    assert bare.lifts(ctx, None) is False


@pytest.mark.parametrize(
    ("value", "text"),
    [(-123.5, "-$123.50"), (1234.5, "$1,234.50"), (0, "$0.00"), (Decimal("-300"), "-$300.00")],
)
def test_money_reads_like_a_trader_writes_it(value: float | Decimal, text: str) -> None:
    assert money(value) == text


def test_the_rules_run_in_table_order_with_their_config_tables() -> None:
    assert [r.rule_id for r in ALL_RULES] == [f"RULE-{n:03d}" for n in range(1, 18)]
    assert [r.key for r in ALL_RULES] == list(RulesConfig.model_fields)


def test_only_enabled_rules_are_built() -> None:
    rules = build_rules(
        config({"symbol_blocks": {}, "max_contracts": {}, "auth_loss_guard": {"enabled": False}}).rules
    )
    assert [r.rule_id for r in rules] == ["RULE-001", "RULE-011"]
    assert build_rules(config().rules) == []


def test_the_context_is_reused_with_the_new_time() -> None:
    engine, _, _ = make_engine()
    first = engine.context(ACCOUNT, T0)
    later = engine.context(ACCOUNT, ct(2026, 8, 19, 12, 0))
    assert first is later and later.now == ct(2026, 8, 19, 12, 0)
