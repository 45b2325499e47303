"""RULE-007 judges a closing order, not a half-turn: its fills are summed by ``orderId`` and
judged again at each fill, so a higher tier reached by a later fill extends the cooldown."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.engine.notices import LockSet
from tests.builders import T0, config, make_engine, trade
from tests.rules.support import lock_of

RULE = "RULE-007"
TIERS = [{"loss": 100, "seconds": 300}, {"loss": 200, "seconds": 900}, {"loss": 300, "seconds": 1800}]


def engine_with(**table: Any) -> Any:
    return make_engine(config({"cooldown_after_loss": {"tiers": TIERS, **table}}))


def fill(engine: Any, pnl: str, at: Any, order_id: int | None, **kw: Any) -> None:
    engine.handle(trade(pnl, fees="0", at=at, order_id=order_id, **kw))


def test_a_three_lot_closed_by_one_order_is_judged_on_its_total() -> None:
    # Three fills of −$90: no fill alone reaches the $100 tier; the order lost $270.
    engine, clock, _ = engine_with()
    for i in range(3):
        fill(engine, "-90", T0 + timedelta(milliseconds=100 * i), order_id=555)
    lock = lock_of(engine, RULE)
    assert lock is not None
    assert lock.until == T0 + timedelta(seconds=900)
    assert lock.reason == "15-minute cooldown: one order (3 fills) lost $270.00"


def test_a_fill_reaching_a_higher_tier_extends_the_cooldown() -> None:
    engine, clock, _ = engine_with()
    set_locks: list[LockSet] = []
    engine.bus.subscribe(set_locks.append, LockSet)
    fill(engine, "-150", T0, order_id=7)
    assert lock_of(engine, RULE).until == T0 + timedelta(seconds=300)  # type: ignore[union-attr]
    clock.set(T0 + timedelta(seconds=1))
    fill(engine, "-60", clock.now(), order_id=7)  # still the $200 tier: −$210
    assert lock_of(engine, RULE).until == T0 + timedelta(seconds=900)  # type: ignore[union-attr]
    clock.set(T0 + timedelta(seconds=2))
    fill(engine, "-5", clock.now(), order_id=7)  # −$215: the same tier, so nothing new
    assert lock_of(engine, RULE).until == T0 + timedelta(seconds=900)  # type: ignore[union-attr]
    clock.set(T0 + timedelta(seconds=3))
    fill(engine, "-100", clock.now(), order_id=7)  # −$315: the $300 tier
    assert lock_of(engine, RULE).until == T0 + timedelta(seconds=1800)  # type: ignore[union-attr]
    assert len(set_locks) == 3


def test_two_orders_are_judged_apart() -> None:
    engine, clock, _ = engine_with()
    fill(engine, "-90", T0, order_id=1)
    fill(engine, "-90", T0 + timedelta(seconds=1), order_id=2)
    assert lock_of(engine, RULE) is None


def test_a_fill_without_an_order_id_stands_alone() -> None:
    engine, clock, _ = engine_with()
    fill(engine, "-90", T0, order_id=None)
    fill(engine, "-90", T0, order_id=None)
    assert lock_of(engine, RULE) is None


def test_a_winning_fill_in_the_same_order_offsets_its_losses() -> None:
    engine, clock, _ = engine_with()
    fill(engine, "-120", T0, order_id=9, side=0)
    # The same order's second fill wins $30: the order lost $90 in the end, but the cooldown
    # for the $100 tier was already reached at the first fill and stays.
    fill(engine, "30", T0, order_id=9, side=0)
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.until == T0 + timedelta(seconds=300)


def test_costs_count_in_the_orders_loss() -> None:
    engine, clock, _ = engine_with()
    engine.handle(trade("-99", fees="0.50", at=T0, order_id=3))
    engine.handle(trade("0", fees="0.50", at=T0, order_id=3))  # −$100.00 with costs
    assert lock_of(engine, RULE) is not None
