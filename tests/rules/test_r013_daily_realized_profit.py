"""RULE-013 daily_realized_profit: net realized P&L ≥ target → flatten, done for the day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.commands import Flatten
from core.engine.engine import Engine
from core.engine.rules.r013_daily_realized_profit import DailyRealizedProfitRule
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, MES, MNQ, T0, config, make_engine, order, position, trade
from tests.rules.support import ct, lock_of, sent

RULE = "RULE-013"
WEDNESDAY_RESET = ct(2026, 8, 19, 17)  # T0 is Wednesday 10:00 CDT


def engine_with(target: float = 500) -> tuple[Engine, Any, Any]:
    return make_engine(config({"daily_realized_profit": {"target": target}}))


def test_net_profit_exactly_at_the_target_breaches() -> None:
    engine, _, port = engine_with(500)
    engine.handle(trade("500.36", fees="0.36", at=T0))  # net +500.00
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert "$500.00" in command.reason


def test_one_cent_short_of_the_target_does_not_breach() -> None:
    engine, _, port = engine_with(500)
    engine.handle(trade("500.35", fees="0.36", at=T0))  # net +499.99
    assert port.commands == []
    assert lock_of(engine, RULE) is None


def test_fees_are_taken_off_the_profit() -> None:
    engine, _, port = engine_with(500)
    engine.handle(trade("500", fees="0.36", at=T0))  # gross reached, net 499.64 not
    assert port.commands == []


def test_profit_adds_up_across_trades_net_of_fees() -> None:
    engine, clock, port = engine_with(500)
    engine.handle(trade(None, fees="1.00", at=T0))  # an opening fill: only its fee counts
    clock.advance(30)
    engine.handle(trade("300", fees="1.00", at=clock.now()))
    clock.advance(30)
    engine.handle(trade("-50", fees="1.00", at=clock.now()))
    clock.advance(30)
    engine.handle(trade("253.99", fees="1.00", at=clock.now()))  # −1 + 299 − 51 + 252.99 = 499.99
    assert port.commands == []
    clock.advance(30)
    engine.handle(trade("1.01", fees="1.00", at=clock.now()))  # +0.01 → 500.00
    assert len(sent(port, RULE)) == 1


def test_breach_flattens_and_hard_locks_until_the_next_17_00_reset() -> None:
    engine, clock, port = engine_with(500)
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    target = order(MNQ, side=1, type=1, limit_price=20100.0)
    engine.handle(target)
    engine.handle(trade("600", fees="0", at=T0))
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert command.account_id == ACCOUNT
    assert set(command.contract_ids) == {MNQ, MES}
    assert command.order_ids == (target.order_id,)
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.kind is LockKind.HARD
    assert lock.until == WEDNESDAY_RESET
    assert lock.locked_at == clock.now()


def test_a_breach_in_the_evening_session_locks_until_the_next_days_reset() -> None:
    engine, clock, _ = engine_with(500)
    clock.set(ct(2026, 8, 19, 20, 0))  # Wednesday 20:00 CT: Thursday's trading day
    engine.handle(trade("500", fees="0", at=clock.now()))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == ct(2026, 8, 20, 17)


def test_a_new_trading_day_starts_from_zero() -> None:
    engine, clock, port = engine_with(500)
    clock.set(ct(2026, 8, 19, 16, 0))
    engine.handle(trade("400", fees="0", at=clock.now()))
    clock.set(ct(2026, 8, 19, 17, 5))
    engine.handle(trade("400", fees="0", at=clock.now()))
    assert port.commands == []


def test_the_same_trade_twice_counts_once() -> None:
    engine, _, port = engine_with(500)
    win = trade("300", fees="0", at=T0, trade_id=42)
    engine.handle(win)
    engine.handle(win)
    assert port.commands == []


def test_the_lock_lifts_at_the_reset_and_trading_may_start_again() -> None:
    engine, clock, port = engine_with(500)
    engine.handle(trade("500", fees="0", at=T0))
    clock.set(WEDNESDAY_RESET + timedelta(seconds=1))
    engine.tick()
    assert lock_of(engine, RULE) is None
    port.clear()
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(500)
    rule = DailyRealizedProfitRule(engine.config.rules.daily_realized_profit)
    ctx = engine.context(ACCOUNT, clock.now())
    small = trade("499.99", fees="0", at=T0)
    engine.pnl.apply(small)
    assert rule.evaluate(ctx, small) == []
    more = trade("0.01", fees="0", at=T0)
    engine.pnl.apply(more)
    [breach] = rule.evaluate(ctx, more)
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.HARD, WEDNESDAY_RESET)
