"""RULE-010 auth_loss_guard: canTrade false → flatten, cancel, lock until canTrade is true again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.commands import CancelOrder, CloseContract, Flatten
from core.domain.events import AccountEvent
from core.domain.parse import parse_account
from core.engine.engine import Engine
from core.engine.rules.r010_auth_loss_guard import AuthLossGuardRule
from core.modules.lockouts import LockKind
from tests.builders import (
    ACCOUNT,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    account,
    config,
    fixture_json,
    make_engine,
    order,
    position,
)
from tests.rules.support import lock_of, sent

RULE = "RULE-010"


def engine_with() -> tuple[Engine, Any, Any]:
    return make_engine(config({"auth_loss_guard": {}}))


def test_can_trade_false_flattens_and_locks_with_no_end() -> None:
    engine, clock, port = engine_with()
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, -2, 5000.0, position_id=2))
    working = order(MNQ, side=1, stop_price=19900.0)
    engine.handle(working)
    engine.handle(account(False))
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert command.account_id == ACCOUNT
    assert set(command.contract_ids) == {MNQ, MES}
    assert command.order_ids == (working.order_id,)
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.kind is LockKind.HARD
    assert lock.until is None
    assert lock.locked_at == clock.now()


def test_the_lock_does_not_expire_with_time() -> None:
    engine, clock, _ = engine_with()
    engine.handle(account(False))
    clock.advance(days=10)
    engine.tick()
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None


def test_can_trade_missing_changes_nothing() -> None:
    engine, _, port = engine_with()
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(AccountEvent(account_id=ACCOUNT, balance=49000.0))  # no canTrade key
    assert port.commands == []
    assert lock_of(engine, RULE) is None


def test_can_trade_missing_does_not_lift_the_lock() -> None:
    engine, _, _ = engine_with()
    engine.handle(account(False))
    engine.handle(account(None))
    assert lock_of(engine, RULE) is not None


def test_can_trade_true_lifts_the_lock() -> None:
    engine, clock, port = engine_with()
    engine.handle(account(False))
    engine.handle(account(True))
    assert lock_of(engine, RULE) is None
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is None
    port.clear()
    clock.advance(seconds=30)
    engine.handle(position(MNQ, 1, 20000.0))  # trading may start again
    assert port.commands == []


def test_can_trade_true_without_a_lock_does_nothing() -> None:
    engine, _, port = engine_with()
    engine.handle(account(True))
    assert port.commands == []
    assert engine.lockouts.locks(ACCOUNT) == []


def test_while_locked_new_positions_are_closed_and_new_orders_cancelled() -> None:
    engine, clock, port = engine_with()
    engine.handle(account(False))
    port.clear()
    clock.advance(timedelta(minutes=5).total_seconds())
    engine.handle(position(MNQ, 1, 20000.0))
    entry = order(MES, side=0, type=1, limit_price=4990.0)
    engine.handle(entry)
    assert [(type(c), c.rule_id) for c in port.commands] == [
        (CloseContract, RULE),
        (CancelOrder, RULE),
    ]


def test_a_repeated_false_does_not_enforce_again() -> None:
    engine, _, port = engine_with()
    engine.handle(account(False))
    engine.handle(account(False))
    assert len(sent(port, RULE)) == 1


def test_only_the_account_that_lost_trading_is_locked() -> None:
    engine, _, _ = engine_with()
    engine.handle(account(False, account_id=OTHER_ACCOUNT))
    assert lock_of(engine, RULE, OTHER_ACCOUNT) is not None
    assert lock_of(engine, RULE) is None


def test_live_account_payloads_that_can_trade_change_nothing() -> None:
    engine, _, port = engine_with()
    for payload in fixture_json("accounts_search.json"):
        engine.handle(parse_account(payload))
    assert port.commands == []
    assert engine.lockouts.all_locks() == []


def test_a_live_account_push_turning_can_trade_off_locks() -> None:
    engine, _, port = engine_with()
    [push] = [e for e in fixture_json("stream_events.json") if e["target"] == "GatewayUserAccount"]
    live = dict(push["arguments"][0]["data"], canTrade=False)
    engine.handle(parse_account(live))
    assert len(sent(port, RULE)) == 1
    assert lock_of(engine, RULE, live["id"]) is not None


def test_evaluated_directly() -> None:
    engine, clock, _ = engine_with()
    rule = AuthLossGuardRule(engine.config.rules.auth_loss_guard)
    ctx = engine.context(ACCOUNT, clock.now())
    [breach] = rule.evaluate(ctx, account(False))
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.HARD, None)
    assert rule.evaluate(ctx, account(None)) == []
    assert rule.evaluate(ctx, account(True)) == []
    assert rule.lifts(ctx, account(True)) is True
    assert rule.lifts(ctx, account(None)) is False
    assert rule.lifts(ctx, account(False)) is False
