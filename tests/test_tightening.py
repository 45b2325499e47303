"""SPEC, config changes: what tightens takes effect at once and is judged at once against the
present state: a limit lowered below today's loss locks now; a newly blocked symbol that is held
is closed now."""

from __future__ import annotations

from datetime import timedelta

from core.domain.commands import CloseContract, Flatten, PartialClose
from tests.builders import ES, MES, MNQ, T0, config, make_engine, position, quote, trade

ACCOUNT_LOSS = {"daily_realized_loss": {"limit": 500}}


def test_a_loss_limit_lowered_below_todays_loss_locks_now() -> None:
    engine, clock, port = make_engine(config(ACCOUNT_LOSS))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(trade("-300", fees="0", at=T0))
    assert port.commands == []
    engine.apply_config(config({"daily_realized_loss": {"limit": 250}}))
    assert engine.lockouts.hard_lock(26282486, clock.now()) is not None
    assert [type(c) for c in port.commands] == [Flatten]


def test_a_loss_limit_lowered_but_still_above_todays_loss_changes_nothing_now() -> None:
    engine, clock, port = make_engine(config(ACCOUNT_LOSS))
    engine.handle(trade("-300", fees="0", at=T0))
    engine.apply_config(config({"daily_realized_loss": {"limit": 300.01}}))
    assert engine.lockouts.hard_lock(26282486, clock.now()) is None
    engine.apply_config(config({"daily_realized_loss": {"limit": 300}}))  # exactly reached
    assert engine.lockouts.hard_lock(26282486, clock.now()) is not None


def test_a_newly_blocked_symbol_that_is_held_is_closed_now() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(ES, 1, 6400.0))
    engine.handle(position(MES, 1, 5000.0, position_id=2))
    engine.apply_config(config({"symbol_blocks": {"symbols": ["ES"]}}))
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, ES)]
    assert [lock.symbol for lock in engine.lockouts.symbol_locks(26282486)] == ["ES"]


def test_a_lowered_contract_limit_cuts_the_account_back_now() -> None:
    engine, _, port = make_engine(config({"max_contracts": {"limit": 5}}))
    engine.handle(position(MNQ, 4, 20000.0))
    engine.apply_config(config({"max_contracts": {"limit": 3}}))
    [command] = port.commands
    assert isinstance(command, PartialClose) and command.size == 1


def test_a_newly_enabled_open_loss_limit_closes_a_position_already_past_it() -> None:
    engine, _, port = make_engine(config())
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=19800.0))  # −$400 open
    engine.apply_config(config({"daily_unrealized_loss": {"limit": 300}}))
    assert [(type(c), c.contract_id) for c in port.commands] == [(CloseContract, MNQ)]


def test_a_tightened_entry_limit_is_judged_on_todays_count() -> None:
    roomy = {"per_minute": 100, "per_hour": 100, "per_session": 100}
    engine, clock, _ = make_engine(config({"trade_frequency_limit": roomy}))
    for i in range(4):
        engine.handle(trade(None, at=T0 + timedelta(minutes=5 * i)))
    clock.set(T0 + timedelta(minutes=20))
    engine.apply_config(config({"trade_frequency_limit": {**roomy, "per_session": 3}}))
    cooldown = engine.lockouts.get(26282486, "RULE-006")
    assert cooldown is not None and cooldown.until == clock.now() + timedelta(hours=1)


def test_an_unchanged_config_judges_nothing_again() -> None:
    engine, _, port = make_engine(config(ACCOUNT_LOSS))
    engine.handle(trade("-600", fees="0", at=T0))
    port.clear()
    engine.apply_config(config(ACCOUNT_LOSS))
    assert port.commands == []


def test_newly_enabled_trading_hours_flatten_a_position_held_outside_them() -> None:
    from tests.rules.support import ct

    engine, clock, port = make_engine(config())
    clock.set(ct(2026, 8, 19, 16, 30))  # after the default 15:10 close
    engine.handle(position(MNQ, 1, 20000.0))
    engine.apply_config(config({"session_block_outside": {}}))
    assert [type(c) for c in port.commands] == [Flatten]
    assert engine.lockouts.hard_lock(26282486, clock.now()) is not None
