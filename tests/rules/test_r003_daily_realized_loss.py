"""RULE-003 daily_realized_loss: net realized P&L (pnl − fees) ≤ −limit → flatten, lock until reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.commands import Flatten
from core.engine.engine import Engine
from core.engine.rules.r003_daily_realized_loss import DailyRealizedLossRule
from core.modules.lockouts import LockKind
from tests.builders import (
    ACCOUNT,
    MES,
    MNQ,
    OTHER_ACCOUNT,
    T0,
    config,
    make_engine,
    order,
    position,
    trade,
)
from tests.rules.support import ct, lock_of, sent

RULE = "RULE-003"
# T0 is Wednesday 2026-08-19 10:00 CDT: the trading day ends at 17:00 CDT that afternoon.
WEDNESDAY_RESET = ct(2026, 8, 19, 17)


def engine_with(limit: float = 300, **extra: Any) -> tuple[Engine, Any, Any]:
    return make_engine(config({"daily_realized_loss": {"limit": limit, **extra}}))


def test_net_loss_exactly_at_the_limit_breaches() -> None:
    engine, _, port = engine_with(300)
    engine.handle(trade("-299.64", fees="0.36", at=T0))  # net −300.00
    assert len(sent(port, RULE)) == 1
    assert isinstance(port.commands[0], Flatten)


def test_one_cent_short_of_the_limit_does_not_breach() -> None:
    engine, _, port = engine_with(300)
    engine.handle(trade("-299.63", fees="0.36", at=T0))  # net −299.99
    assert port.commands == []
    assert lock_of(engine, RULE) is None


def test_breach_flattens_every_position_and_order_and_locks_until_the_next_reset() -> None:
    engine, clock, port = engine_with(300)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MES, -2, 5000.0, position_id=2))
    stop = order(MNQ, side=1, stop_price=19990.0)
    engine.handle(stop)
    engine.handle(trade("-400", at=T0))
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert command.account_id == ACCOUNT
    assert set(command.contract_ids) == {MNQ, MES}
    assert command.order_ids == (stop.order_id,)
    assert "-$400.36" in command.reason and "-$300.00" in command.reason
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.kind is LockKind.HARD
    assert lock.until == WEDNESDAY_RESET
    assert lock.locked_at == clock.now()


def test_fees_make_the_loss_deeper() -> None:
    engine, _, port = engine_with(100)
    engine.handle(trade("-99.00", fees="0.50", at=T0))  # net −99.50
    assert port.commands == []
    engine.handle(trade(None, fees="0.50", at=T0 + timedelta(seconds=5)))  # opening fill's fee
    assert len(sent(port, RULE)) == 1  # −100.00


def test_losses_add_up_across_trades_and_profits_offset_them() -> None:
    engine, clock, port = engine_with(300)
    engine.handle(trade("-200", fees="1", at=T0))
    clock.advance(60)
    engine.handle(trade("150", fees="1", at=clock.now()))
    clock.advance(60)
    engine.handle(trade("-246", fees="1", at=clock.now()))  # −201 + 149 − 247 = −299
    assert port.commands == []
    clock.advance(60)
    engine.handle(trade("-0.50", fees="0.50", at=clock.now()))  # −300.00
    assert len(sent(port, RULE)) == 1


def test_the_same_trade_delivered_twice_counts_once() -> None:
    engine, _, port = engine_with(300)
    first = trade("-200", fees="0", at=T0, trade_id=77)
    engine.handle(first)
    engine.handle(first)  # once from the stream, once from Trade/search
    assert port.commands == []
    assert engine.pnl.realized(ACCOUNT, engine.calendar.trading_day(T0)) == -200


def test_a_voided_trade_does_not_count() -> None:
    engine, _, port = engine_with(300)
    engine.handle(trade("-200", fees="0", at=T0, trade_id=1))
    engine.handle(trade("-200", fees="0", at=T0, trade_id=1, voided=True))  # voided later
    engine.handle(trade("-150", fees="0", at=T0 + timedelta(seconds=1)))
    assert port.commands == []


def test_yesterdays_losses_do_not_count_after_the_17_00_reset() -> None:
    engine, clock, port = engine_with(300)
    clock.set(ct(2026, 8, 19, 16, 59))
    engine.handle(trade("-200", fees="0", at=clock.now()))
    clock.set(ct(2026, 8, 19, 17, 0))  # a new trading day (Thursday's) starts
    engine.handle(trade("-200", fees="0", at=clock.now()))
    assert port.commands == []


def test_a_breach_after_17_00_locks_until_the_following_days_reset() -> None:
    engine, clock, _ = engine_with(300)
    clock.set(ct(2026, 8, 19, 18, 30))  # Wednesday evening belongs to Thursday's trading day
    engine.handle(trade("-350", fees="0", at=clock.now()))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == ct(2026, 8, 20, 17)


def test_a_friday_breach_locks_until_friday_17_00() -> None:
    # Trading days run reset to reset; the weekend is the session break, not a longer lock.
    engine, clock, _ = engine_with(300)
    clock.set(ct(2026, 8, 21, 9, 0))
    engine.handle(trade("-350", fees="0", at=clock.now()))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == ct(2026, 8, 21, 17)


def test_the_lock_ends_at_the_reset() -> None:
    engine, clock, _ = engine_with(300)
    engine.handle(trade("-350", fees="0", at=T0))
    clock.set(WEDNESDAY_RESET - timedelta(seconds=1))
    engine.tick()
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None
    clock.set(WEDNESDAY_RESET)
    engine.tick()
    assert lock_of(engine, RULE) is None
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is None


def test_other_accounts_losses_do_not_count() -> None:
    engine, _, port = engine_with(300)
    engine.handle(trade("-250", fees="0", at=T0, account_id=OTHER_ACCOUNT))
    engine.handle(trade("-250", fees="0", at=T0))
    assert port.commands == []


def test_a_position_opened_during_the_lock_is_closed_at_once() -> None:
    engine, clock, port = engine_with(300)
    engine.handle(trade("-350", fees="0", at=T0))
    port.clear()
    clock.advance(60)
    engine.handle(position(MNQ, 1, 20000.0))
    assert [(c.rule_id, getattr(c, "contract_id", None)) for c in port.commands] == [(RULE, MNQ)]


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with(300)
    rule = DailyRealizedLossRule(engine.config.rules.daily_realized_loss)
    loss = trade("-300", fees="0", at=T0)
    engine.pnl.apply(loss)
    [breach] = rule.evaluate(engine.context(ACCOUNT, clock.now()), loss)
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.HARD, WEDNESDAY_RESET)
    assert breach.symbol_lock is None
