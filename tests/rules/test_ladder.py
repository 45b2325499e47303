"""The ladder before a money limit: warnings, an optional restrict step (at most N contracts, a
cooldown after every losing exit), then the limit's own flatten-and-lock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from core.domain.clock import ManualClock
from core.domain.commands import Flatten, PartialClose
from core.engine.notices import LimitWarning
from core.engine.rules.ladder import LADDER, ladder_steps
from tests.builders import (
    ACCOUNT,
    MES,
    MNQ,
    T0,
    config,
    make_engine,
    open_store,
    position,
    quote,
    trade,
)
from tests.rules.support import ct, lock_of

LOSS = {"daily_realized_loss": {"limit": 500, "restrict_at": 0.8, "restrict_max_contracts": 1,
                                "restrict_cooldown_seconds": 600}}


def loss(engine: Any, clock: ManualClock, pnl: str, order_id: int, minutes: float = 0) -> None:
    clock.set(T0 + timedelta(minutes=minutes))
    engine.handle(trade(pnl, fees="0", at=clock.now(), order_id=order_id))


def steps(engine: Any) -> dict[str, str]:
    ctx = engine.context(ACCOUNT, engine.clock.now())
    return {s.limit: s.step for s in ladder_steps(ctx, engine.config.rules_for(ACCOUNT))}


def test_just_short_of_the_restrict_step_nothing_is_restricted() -> None:
    engine, clock, port = make_engine(config(LOSS))
    engine.handle(position(MNQ, 3, 20_000.0))
    loss(engine, clock, "-399.99", 1)
    assert steps(engine)["daily_realized_loss"] == "warned"  # past the 50 % warning
    engine.handle(position(MNQ, 4, 20_000.0))
    assert port.commands == []


def test_at_the_restrict_step_the_account_is_cut_to_its_small_size() -> None:
    engine, clock, port = make_engine(config(LOSS))
    engine.handle(position(MNQ, 3, 20_000.0))
    loss(engine, clock, "-400", 1)  # exactly 80 % of $500
    assert steps(engine)["daily_realized_loss"] == "restricted"
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and (cut.rule_id, cut.size) == (LADDER, 2)
    cooldown = lock_of(engine, LADDER)
    assert cooldown is not None and cooldown.until == clock.now() + timedelta(seconds=600)


def test_every_losing_exit_while_restricted_starts_a_cooldown() -> None:
    engine, clock, port = make_engine(config(LOSS))
    loss(engine, clock, "-420", 1)
    first = lock_of(engine, LADDER)
    assert first is not None
    loss(engine, clock, "30", 2, minutes=20)  # a winning exit: no cooldown
    assert lock_of(engine, LADDER) == first
    loss(engine, clock, "-10", 3, minutes=21)
    again = lock_of(engine, LADDER)
    assert again is not None and again.until == clock.now() + timedelta(seconds=600)


def test_the_limit_itself_still_flattens_and_locks() -> None:
    engine, clock, port = make_engine(config({**LOSS, "daily_realized_loss": {**LOSS["daily_realized_loss"]}}))
    engine.handle(position(MNQ, 1, 20_000.0))
    loss(engine, clock, "-500", 1)
    assert Flatten in [type(c) for c in port.commands]
    assert engine.lockouts.get(ACCOUNT, "RULE-003") is not None


def test_the_restrict_step_holds_after_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    engine, clock, _ = make_engine(config(LOSS), store=store)
    loss(engine, clock, "-450", 1)
    engine.flush()
    store.close()
    again = open_store(tmp_path / "state.db")
    engine, clock, port = make_engine(config(LOSS), store=again, clock=ManualClock(T0 + timedelta(hours=1)))
    engine.restore()
    engine.handle(position(MES, 2, 5_000.0))
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and cut.size == 1
    again.close()


def test_the_daily_reset_ends_the_restrict_step() -> None:
    engine, clock, port = make_engine(config(LOSS))
    loss(engine, clock, "-450", 1)
    clock.set(ct(2026, 8, 19, 17, 1))
    engine.tick()
    port.clear()
    engine.handle(position(MES, 3, 5_000.0))
    assert port.commands == []
    assert steps(engine)["daily_realized_loss"] == "normal"


def test_open_loss_at_account_scope_warns_then_restricts() -> None:
    table = {"daily_unrealized_loss": {"limit": 400, "scope": "account", "warn_at": [0.5],
                                       "restrict_at": 0.75, "restrict_max_contracts": 1}}
    engine, clock, port = make_engine(config(table))
    warnings: list[LimitWarning] = []
    engine.bus.subscribe(warnings.append, LimitWarning)
    engine.handle(position(MNQ, 2, 20_000.0))
    engine.handle(quote(MNQ, last=19_950.5))  # −$198: 49.5 %
    assert warnings == []
    engine.handle(quote(MNQ, last=19_950.0))  # −$200: 50 %
    assert [w.threshold for w in warnings] == [0.5]
    engine.handle(quote(MNQ, last=19_925.0))  # −$300: 75 %, restricted: cut to 1
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and (cut.rule_id, cut.size) == (LADDER, 1)


def test_the_profit_target_warns_before_it_locks() -> None:
    engine, clock, _ = make_engine(config({"daily_realized_profit": {"target": 1000, "warn_at": [0.75]}}))
    warnings: list[LimitWarning] = []
    engine.bus.subscribe(warnings.append, LimitWarning)
    loss(engine, clock, "749.99", 1)
    assert warnings == []
    loss(engine, clock, "0.01", 2)
    assert [(w.rule_id, w.threshold) for w in warnings] == [(LADDER, 0.75)]
