"""RULE-017 loss_streak: N losing exits in a row → a cooldown; a winning or breakeven exit resets
the streak; the streak survives a restart; the daily reset starts it again (unless told not to)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from core.domain.clock import ManualClock
from core.modules.lockouts import LockKind
from tests.builders import T0, config, make_engine, open_store, trade
from tests.rules.support import ct, lock_of

RULE = "RULE-017"


def engine_with(store: Any = None, clock: Any = None, **table: Any) -> Any:
    return make_engine(config({"loss_streak": {"losses": 3, "cooldown_seconds": 600, **table}}),
                       store=store, clock=clock)


def exit_(engine: Any, clock: ManualClock, pnl: str, order_id: int, minutes: float) -> None:
    clock.set(T0 + timedelta(minutes=minutes))
    engine.handle(trade(pnl, fees="0", at=clock.now(), order_id=order_id))


def test_two_losses_in_a_row_are_fine_the_third_cools_down() -> None:
    engine, clock, _ = engine_with()
    exit_(engine, clock, "-10", 1, 0)
    exit_(engine, clock, "-10", 2, 1)
    assert lock_of(engine, RULE) is None
    exit_(engine, clock, "-10", 3, 2)
    lock = lock_of(engine, RULE)
    assert lock is not None and lock.kind is LockKind.COOLDOWN
    assert lock.until == clock.now() + timedelta(seconds=600)
    assert lock.reason == "10-minute cooldown: 3 losing exits in a row"


def test_a_breakeven_exit_resets_the_streak() -> None:
    engine, clock, _ = engine_with()
    exit_(engine, clock, "-10", 1, 0)
    exit_(engine, clock, "-10", 2, 1)
    exit_(engine, clock, "0", 3, 2)  # breakeven
    exit_(engine, clock, "-10", 4, 3)
    exit_(engine, clock, "-10", 5, 4)
    assert lock_of(engine, RULE) is None
    exit_(engine, clock, "-10", 6, 5)
    assert lock_of(engine, RULE) is not None


def test_a_winning_exit_resets_the_streak() -> None:
    engine, clock, _ = engine_with()
    for i, pnl in enumerate(["-5", "-5", "12.5", "-5", "-5"]):
        exit_(engine, clock, pnl, i + 1, i)
    assert lock_of(engine, RULE) is None


def test_fills_of_one_order_are_one_exit() -> None:
    engine, clock, _ = engine_with()
    exit_(engine, clock, "-10", 1, 0)
    exit_(engine, clock, "-10", 2, 1)
    exit_(engine, clock, "-10", 2, 1.5)  # the same order again: still two exits
    assert lock_of(engine, RULE) is None


def test_openings_do_not_count() -> None:
    engine, clock, _ = engine_with()
    exit_(engine, clock, "-10", 1, 0)
    exit_(engine, clock, "-10", 2, 1)
    clock.set(T0 + timedelta(minutes=2))
    engine.handle(trade(None, at=clock.now(), order_id=3))  # an entry between exits
    assert lock_of(engine, RULE) is None


def test_the_streak_survives_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    engine, clock, _ = engine_with(store=store)
    exit_(engine, clock, "-10", 1, 0)
    exit_(engine, clock, "-10", 2, 1)
    engine.flush()
    store.close()
    clock2 = ManualClock(T0 + timedelta(minutes=5))
    again = open_store(tmp_path / "state.db")
    engine, clock2, _ = engine_with(store=again, clock=clock2)
    engine.restore()
    exit_(engine, clock2, "-10", 3, 6)
    assert lock_of(engine, RULE) is not None
    again.close()


def test_the_daily_reset_starts_a_new_streak() -> None:
    engine, clock, _ = engine_with()
    reset = ct(2026, 8, 19, 17)
    for i, minutes in enumerate((-3, -2)):
        clock.set(reset + timedelta(minutes=minutes))
        engine.handle(trade("-10", fees="0", at=clock.now(), order_id=i + 1))
    clock.set(reset + timedelta(minutes=1))
    engine.tick()
    engine.handle(trade("-10", fees="0", at=clock.now(), order_id=3))
    assert lock_of(engine, RULE) is None


def test_a_streak_may_run_across_the_reset_when_told_to() -> None:
    engine, clock, _ = engine_with(reset_daily=False)
    reset = ct(2026, 8, 19, 17)
    for i, minutes in enumerate((-3, -2)):
        clock.set(reset + timedelta(minutes=minutes))
        engine.handle(trade("-10", fees="0", at=clock.now(), order_id=i + 1))
    clock.set(reset + timedelta(minutes=1))
    engine.tick()
    engine.handle(trade("-10", fees="0", at=clock.now(), order_id=3))
    assert lock_of(engine, RULE) is not None
