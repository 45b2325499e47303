"""RULE-007 cooldown_after_loss: one closing trade's net loss reaches a tier → that tier's cooldown.

Default tiers: lose $100 → 300 s, $200 → 900 s, $300 → 1800 s.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.commands import CancelOrder, Flatten, PartialClose
from core.engine.engine import Engine
from core.engine.rules.r007_cooldown_after_loss import CooldownAfterLossRule
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, MES, MNQ, T0, config, make_engine, order, position, trade
from tests.rules.support import lock_of, sent

RULE = "RULE-007"


def engine_with(**table: Any) -> tuple[Engine, Any, Any]:
    return make_engine(config({"cooldown_after_loss": table}))


def cooldown_seconds(engine: Engine) -> float | None:
    lock = lock_of(engine, RULE)
    if lock is None:
        return None
    assert lock.kind is LockKind.COOLDOWN
    assert lock.until is not None
    return (lock.until - lock.locked_at).total_seconds()


def test_a_loss_between_tiers_gets_the_highest_tier_reached() -> None:
    engine, _, port = engine_with()
    engine.handle(trade("-250", fees="0", at=T0))
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.kind is LockKind.COOLDOWN
    assert lock.until == T0 + timedelta(seconds=900)  # the $200 tier
    assert lock.reason == "15-minute cooldown: one trade lost $250.00"
    assert port.commands == []  # flatten is off by default


def test_a_loss_exactly_at_a_tier_counts_for_that_tier() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-200", fees="0", at=T0))
    assert cooldown_seconds(engine) == 900


def test_a_cent_short_of_a_tier_gets_the_tier_below() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-199.99", fees="0", at=T0))
    assert cooldown_seconds(engine) == 300


def test_a_cent_short_of_the_first_tier_is_no_breach() -> None:
    engine, _, port = engine_with()
    engine.handle(trade("-99.99", fees="0", at=T0))
    assert lock_of(engine, RULE) is None
    assert port.commands == []


def test_a_loss_beyond_the_last_tier_gets_the_last_tier() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-1200", fees="0", at=T0))
    assert cooldown_seconds(engine) == 1800


def test_fees_count_in_the_trades_loss() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-99.64", fees="0.36", at=T0))  # net −100.00
    assert cooldown_seconds(engine) == 300


def test_fees_can_push_a_loss_over_a_tier() -> None:
    engine, clock, _ = engine_with()
    engine.handle(trade("-99.63", fees="0.36", at=T0))  # net −99.99
    assert lock_of(engine, RULE) is None
    clock.advance(1)
    engine.handle(trade("-199.70", fees="0.30", at=clock.now()))  # gross −199.70, net −200
    assert cooldown_seconds(engine) == 900


def test_one_trade_is_judged_alone_losses_do_not_add_up() -> None:
    engine, clock, _ = engine_with()
    for _ in range(5):
        clock.advance(1)
        engine.handle(trade("-90", fees="0", at=clock.now()))
    assert lock_of(engine, RULE) is None


def test_a_winning_trade_and_an_opening_fill_start_nothing() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("500", fees="0", at=T0))
    engine.handle(trade(None, fees="150", at=T0))  # an entry (huge fee, but no P&L)
    assert lock_of(engine, RULE) is None


def test_a_voided_losing_trade_starts_nothing() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-500", fees="0", at=T0, voided=True))
    assert lock_of(engine, RULE) is None


def test_custom_tiers_in_any_order() -> None:
    tiers = [{"loss": 50, "seconds": 120}, {"loss": 25, "seconds": 60}]
    engine, _, _ = engine_with(tiers=tiers)
    engine.handle(trade("-30", fees="0", at=T0))
    assert cooldown_seconds(engine) == 60


def test_flatten_option_closes_everything_too() -> None:
    engine, _, port = engine_with(flatten=True)
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MES, -1, 5000.0, position_id=2))
    target = order(MNQ, side=1, type=1, limit_price=20100.0)
    engine.handle(target)
    engine.handle(trade("-100", fees="0", at=T0))
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert set(command.contract_ids) == {MNQ, MES}
    assert command.order_ids == (target.order_id,)
    assert cooldown_seconds(engine) == 300


def test_without_flatten_existing_exposure_is_left_alone() -> None:
    engine, _, port = engine_with(flatten=False)
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(trade("-150", fees="0", at=T0))
    assert port.commands == []
    assert lock_of(engine, RULE) is not None


def test_the_cooldown_runs_from_the_losing_trade_not_from_its_arrival() -> None:
    engine, clock, _ = engine_with()
    engine.handle(trade("-100", fees="0", at=T0 - timedelta(seconds=100)))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=200)
    assert lock.until > clock.now()


def test_a_late_loss_whose_cooldown_is_over_starts_nothing() -> None:
    engine, _, _ = engine_with()
    engine.handle(trade("-100", fees="0", at=T0 - timedelta(seconds=300)))  # 300 s ago: over
    assert lock_of(engine, RULE) is None


def test_a_bigger_loss_during_the_cooldown_lengthens_it() -> None:
    engine, clock, _ = engine_with()
    engine.handle(trade("-120", fees="0", at=T0))
    clock.advance(60)
    engine.handle(trade("-320", fees="0", at=clock.now()))
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=60 + 1800)


def test_the_cooldown_expires_by_itself() -> None:
    engine, clock, _ = engine_with()
    engine.handle(trade("-100", fees="0", at=T0))
    clock.set(T0 + timedelta(seconds=299))
    engine.tick()
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None
    clock.set(T0 + timedelta(seconds=300))
    engine.tick()
    assert lock_of(engine, RULE) is None


def test_adding_to_a_position_during_the_cooldown_is_cut_back() -> None:
    engine, clock, port = engine_with()
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(trade("-100", fees="0", at=T0))
    clock.advance(5)
    engine.handle(position(MNQ, 3, 20000.0))
    assert [(type(c), c.rule_id, getattr(c, "size", None)) for c in port.commands] == [
        (PartialClose, RULE, 1)
    ]


def test_a_new_entry_order_during_the_cooldown_is_cancelled() -> None:
    engine, clock, port = engine_with()
    engine.handle(trade("-100", fees="0", at=T0))
    clock.advance(5)
    entry = order(MNQ, side=0, type=2, created_at=clock.now())
    engine.handle(entry)
    assert [(type(c), c.rule_id) for c in port.commands] == [(CancelOrder, RULE)]


def test_evaluated_directly_through_the_context() -> None:
    engine, clock, _ = engine_with()
    rule = CooldownAfterLossRule(engine.config.rules.cooldown_after_loss)
    ctx = engine.context(ACCOUNT, clock.now())
    losing = trade("-300", fees="0", at=T0)
    engine.pnl.apply(losing)  # the rule reads the order's total from the P&L tracker
    [breach] = rule.evaluate(ctx, losing)
    assert breach.commands == ()
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.COOLDOWN, T0 + timedelta(seconds=1800))
    small = trade("-99.99", fees="0", at=T0)
    engine.pnl.apply(small)
    assert rule.evaluate(ctx, small) == []
