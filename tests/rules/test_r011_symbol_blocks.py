"""RULE-011 symbol_blocks: nothing may live in a blocked symbol root (exact root: ES is not MES)."""

from __future__ import annotations

from typing import Any

from core.domain.commands import CancelOrder, CloseContract
from core.domain.events import OrderStatus
from core.engine.engine import Engine
from core.engine.rules.r011_symbol_blocks import SymbolBlocksRule
from core.modules.contracts import Contract
from tests.builders import (
    ACCOUNT,
    ES,
    MES,
    MNQ,
    NQ,
    OTHER_ACCOUNT,
    T0,
    config,
    make_engine,
    order,
    position,
)
from tests.rules.support import lock_of

RULE = "RULE-011"


def engine_blocking(*symbols: str) -> tuple[Engine, Any, Any]:
    return make_engine(config({"symbol_blocks": {"symbols": list(symbols)}}))


def summary(port: Any) -> list[tuple[type, str, int | None]]:
    return [(type(c), c.contract_id, getattr(c, "order_id", None)) for c in port.commands]


def symbol_locks(engine: Engine, account_id: int = ACCOUNT) -> list[str]:
    return [lock.symbol for lock in engine.lockouts.symbol_locks(account_id)]


def test_a_position_in_a_blocked_symbol_is_closed_and_the_symbol_locked() -> None:
    engine, clock, port = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0))
    assert summary(port) == [(CloseContract, ES, None)]
    command = port.commands[0]
    assert (command.rule_id, command.account_id) == (RULE, ACCOUNT)
    assert command.reason == "ES is a blocked symbol"
    [lock] = engine.lockouts.symbol_locks(ACCOUNT)
    assert (lock.symbol, lock.rule_id, lock.locked_at) == ("ES", RULE, clock.now())
    assert lock_of(engine, RULE) is None  # a symbol lock, not an account lock
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is None


def test_blocking_es_does_not_block_mes() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(position(MES, 1, 5000.0))
    engine.handle(order(MES, side=1, stop_price=4990.0))
    assert port.commands == []
    assert symbol_locks(engine) == []


def test_blocking_mes_does_not_block_es() -> None:
    engine, _, port = engine_blocking("MES")
    engine.handle(position(ES, 1, 5000.0))
    assert port.commands == []


def test_blocking_nq_does_not_block_mnq_and_matches_its_contract_id_root() -> None:
    engine, _, port = engine_blocking("NQ")
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []
    engine.handle(position(NQ, 1, 20000.0, position_id=2))  # CON.F.US.ENQ.U26 is NQ
    assert summary(port) == [(CloseContract, NQ, None)]


def test_the_positions_working_orders_are_cancelled_with_it() -> None:
    engine, _, port = engine_blocking("ES")
    stop = order(ES, side=0, stop_price=5010.0)
    target = order(ES, side=0, type=1, limit_price=4990.0)
    other = order(MES, side=1, stop_price=4990.0)
    for o in (stop, target, other):
        engine.mirror.apply_order(o)  # already working (restored at startup)
    engine.handle(position(ES, -1, 5000.0))
    assert summary(port) == [
        (CloseContract, ES, None),
        (CancelOrder, ES, stop.order_id),
        (CancelOrder, ES, target.order_id),
    ]


def test_every_expiry_of_the_blocked_root_goes_not_only_the_events_contract() -> None:
    # Working before ES was blocked (the block was just switched on): December ES too.
    engine, _, port = engine_blocking("ES")
    december = "CON.F.US.EP.Z26"
    engine.contracts.put(Contract(december, "ESZ6", 0.25, 12.5), persist=False)
    spread_leg = order(december, side=0, type=1, limit_price=4900.0)
    engine.mirror.apply_order(spread_leg)
    engine.mirror.apply_position(position(december, -1, 5050.0, position_id=5), T0)
    engine.mirror.apply_position(position(MES, 1, 5000.0, position_id=6), T0)
    engine.handle(position(ES, 1, 5000.0))
    assert sorted(summary(port), key=str) == sorted(
        [
            (CloseContract, ES, None),
            (CloseContract, december, None),
            (CancelOrder, december, spread_leg.order_id),
        ],
        key=str,
    )


def test_an_expiry_not_yet_in_the_contract_cache_is_still_blocked() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(position("CON.F.US.EP.Z26", 1, 5000.0))  # ES U26 is known: EP means ES
    assert summary(port) == [(CloseContract, "CON.F.US.EP.Z26", None)]


def test_a_working_order_in_a_blocked_symbol_is_cancelled() -> None:
    engine, _, port = engine_blocking("ES")
    entry = order(ES, side=0, type=1, limit_price=4990.0)
    engine.handle(entry)
    assert summary(port) == [(CancelOrder, ES, entry.order_id)]
    assert port.commands[0].rule_id == RULE
    assert symbol_locks(engine) == ["ES"]


def test_a_suspended_bracket_child_in_a_blocked_symbol_is_cancelled() -> None:
    engine, _, port = engine_blocking("ES")
    child = order(ES, side=1, status=OrderStatus.SUSPENDED)
    engine.handle(child)
    assert summary(port) == [(CancelOrder, ES, child.order_id)]


def test_a_cancelled_or_filled_order_needs_nothing() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(order(ES, side=0, status=OrderStatus.CANCELLED))
    engine.handle(order(ES, side=0, status=OrderStatus.FILLED))
    assert port.commands == []
    assert symbol_locks(engine) == []


def test_the_close_confirmation_needs_nothing_more() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0))
    port.clear()
    engine.handle(position(ES, 0, 0.0))
    assert port.commands == []


def test_while_the_symbol_is_locked_new_exposure_in_it_is_closed() -> None:
    engine, clock, port = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(ES, 0, 0.0))
    port.clear()
    clock.advance(60)
    engine.handle(position(ES, 2, 5001.0))
    later = order(ES, side=0, type=1, limit_price=4990.0)
    engine.handle(later)
    assert summary(port) == [(CloseContract, ES, None), (CancelOrder, ES, later.order_id)]
    assert all(c.rule_id == RULE for c in port.commands)


def test_other_symbols_trade_normally_while_one_is_locked() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0))
    port.clear()
    engine.handle(position(MNQ, 3, 20000.0, position_id=2))
    engine.handle(order(MNQ, side=1, stop_price=19900.0))
    assert port.commands == []


def test_each_blocked_symbol_gets_its_own_lock() -> None:
    engine, _, _ = engine_blocking("ES", "NQ")
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(NQ, 1, 20000.0, position_id=2))
    assert sorted(symbol_locks(engine)) == ["ES", "NQ"]


def test_symbols_are_case_insensitive_in_the_config() -> None:
    engine, _, port = engine_blocking("es")
    engine.handle(position(ES, 1, 5000.0))
    assert summary(port) == [(CloseContract, ES, None)]


def test_the_lock_is_per_account() -> None:
    engine, _, _ = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0, account_id=OTHER_ACCOUNT))
    assert symbol_locks(engine, OTHER_ACCOUNT) == ["ES"]
    assert symbol_locks(engine) == []


def test_unblocking_the_symbol_lifts_its_lock() -> None:
    engine, _, port = engine_blocking("ES")
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(ES, 0, 0.0))
    engine.apply_config(config({"symbol_blocks": {"symbols": []}}))
    assert symbol_locks(engine) == []
    port.clear()
    engine.handle(position(ES, 1, 5000.0))
    assert port.commands == []


def test_an_empty_block_list_blocks_nothing() -> None:
    engine, _, port = engine_blocking()
    engine.handle(position(ES, 1, 5000.0))
    assert port.commands == []


def test_evaluated_directly() -> None:
    engine, clock, _ = engine_blocking("ES")
    rule = SymbolBlocksRule(engine.config.rules.symbol_blocks)
    opened = position(ES, 1, 5000.0)
    engine.mirror.apply_position(opened, clock.now())
    [breach] = rule.evaluate(engine.context(ACCOUNT, clock.now()), opened)
    assert breach.symbol_lock == "ES"
    assert breach.lock is None
    assert [type(c) for c in breach.commands] == [CloseContract]
