"""The lockout gate (core/gate.py) driven through the engine: hard locks, cooldowns, symbol locks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.domain.commands import CancelOrder, CloseContract, Flatten, PartialClose, RecordingPort
from core.engine.engine import Engine
from core.engine.notices import LockCleared, LockSet, SymbolLockCleared
from core.modules.lockouts import Lock, LockKind
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
    trade,
)
from tests.rules.support import ct

LOSS = "RULE-003"
COOL = "RULE-007"
# T0 is Wednesday 10:00 CDT: its trading day ends at 17:00 CDT that afternoon.
RESET = ct(2026, 8, 19, 17)
STOP, LIMIT = 4, 1
BUY, SELL = 0, 1


def closes(port: RecordingPort) -> list[tuple[str, str]]:
    return [(c.rule_id, c.contract_id) for c in port.commands if isinstance(c, CloseContract)]


def hard_locked(**rules: dict[str, Any]) -> tuple[Engine, Any, RecordingPort]:
    """An account hard-locked by RULE-003 (limit 300) at T0 until the 17:00 CT reset."""
    engine, clock, port = make_engine(config({"daily_realized_loss": {"limit": 300}, **rules}))
    engine.handle(trade("-350", fees="0", at=T0))
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None
    port.clear()
    return engine, clock, port


def cooled(*held: tuple[str, int], **rules: dict[str, Any]) -> tuple[Engine, Any, RecordingPort]:
    """An account holding ``held`` when a −$150 trade starts RULE-007's 300 s cooldown at T0."""
    engine, clock, port = make_engine(config({"cooldown_after_loss": {}, **rules}))
    for n, (contract, size) in enumerate(held, start=1):
        engine.handle(position(contract, size, 100.0, position_id=n))
    engine.handle(trade("-150", fees="0", at=T0, contract_id=NQ))
    cool = engine.lockouts.cooldown(ACCOUNT, clock.now())
    assert cool is not None and cool.until == T0 + timedelta(seconds=300)
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is None
    port.clear()
    return engine, clock, port


# --- hard lock ----------------------------------------------------------------------------------


def test_a_position_opened_during_a_hard_lock_is_closed_with_the_locks_rule() -> None:
    engine, clock, port = hard_locked()
    clock.advance(120)
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == [
        CloseContract(
            account_id=ACCOUNT,
            rule_id=LOSS,
            reason=port.commands[0].reason,
            contract_id=MNQ,
            event_at=port.commands[0].event_at,
        )
    ]
    assert "lock" in port.commands[0].reason


def test_a_short_opened_during_a_hard_lock_is_closed_too() -> None:
    engine, _, port = hard_locked()
    engine.handle(position(ES, -2, 6400.0))
    assert closes(port) == [(LOSS, ES)]


def test_a_position_growing_during_a_hard_lock_is_closed() -> None:
    engine, _, port = hard_locked()
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MNQ, 0, 0.0))  # the gate's close went through
    port.clear()
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MNQ, 3, 20000.0))
    assert closes(port) == [(LOSS, MNQ), (LOSS, MNQ)]


def test_a_position_reopened_at_the_same_size_right_after_its_close_is_closed_again() -> None:
    # The close of the first one-lot must not hide the close of the second (no resend de-dup).
    engine, _, port = hard_locked()
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MNQ, 0, 0.0))
    engine.handle(position(MNQ, 1, 20010.0))
    assert closes(port) == [(LOSS, MNQ), (LOSS, MNQ)]


def test_a_shrinking_position_during_a_hard_lock_is_not_closed_again_by_the_gate() -> None:
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 300}}))
    engine.handle(position(MNQ, 3, 20000.0))
    engine.handle(trade("-350", fees="0", at=T0))
    assert [type(c) for c in port.commands] == [Flatten]
    port.clear()
    engine.handle(position(MNQ, 1, 20000.0))  # the flatten working through
    engine.handle(position(MNQ, 0, 0.0))
    assert port.commands == []


def test_a_position_still_open_at_the_same_size_during_a_hard_lock_is_closed() -> None:
    # The flatten never landed; a reconcile (or any update) re-reports the position unchanged.
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 300}}))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(trade("-350", fees="0", at=T0))
    port.clear()
    engine.handle(position(MNQ, 2, 20000.0))
    assert closes(port) == [(LOSS, MNQ)]


def test_working_orders_are_cancelled_during_a_hard_lock() -> None:
    engine, _, port = hard_locked()
    entry = order(MNQ, side=BUY, type=LIMIT, limit_price=19900.0)
    engine.handle(entry)
    stop = order(MES, side=SELL, type=STOP, stop_price=6000.0)
    engine.handle(stop)
    cancels = port.of_type(CancelOrder)
    assert [(c.rule_id, c.order_id, c.contract_id) for c in cancels] == [
        (LOSS, entry.order_id, MNQ),
        (LOSS, stop.order_id, MES),
    ]


def test_a_terminal_order_during_a_hard_lock_is_not_cancelled() -> None:
    engine, _, port = hard_locked()
    engine.handle(order(MNQ, side=BUY, type=LIMIT, limit_price=19900.0, status=3))  # cancelled
    assert port.commands == []


def test_the_hard_lock_gate_does_not_touch_other_accounts() -> None:
    engine, _, port = hard_locked()
    engine.handle(position(MNQ, 1, 20000.0, account_id=OTHER_ACCOUNT))
    engine.handle(order(MNQ, side=BUY, account_id=OTHER_ACCOUNT))
    assert port.commands == []


# --- cooldown -------------------------------------------------------------------------------------


def test_a_cooldown_leaves_existing_exposure_alone() -> None:
    engine, clock, port = cooled((MNQ, 2), (MES, -1))
    clock.advance(10)
    engine.handle(position(MNQ, 2, 20001.0))  # an update at the same size
    engine.handle(position(MES, -1, 5000.0, position_id=2))
    engine.handle(position(MNQ, 1, 20000.0))  # reducing is always allowed
    assert port.commands == []
    assert engine.mirror.account(ACCOUNT).positions[MES].signed_size == -1


def test_growth_beyond_the_size_at_cooldown_start_is_partially_closed() -> None:
    engine, _, port = cooled((MNQ, 2))
    engine.handle(position(MNQ, 3, 20000.0))
    [command] = port.commands
    assert isinstance(command, PartialClose)
    assert (command.rule_id, command.contract_id, command.size) == (COOL, MNQ, 1)


def test_growth_of_a_short_beyond_its_baseline_is_partially_closed() -> None:
    engine, _, port = cooled((MES, -2))
    engine.handle(position(MES, -5, 5000.0, position_id=1))
    [command] = port.commands
    assert isinstance(command, PartialClose)
    assert (command.contract_id, command.size) == (MES, 3)


def test_flipping_to_the_other_side_during_a_cooldown_is_closed() -> None:
    engine, _, port = cooled((MNQ, 2))
    engine.handle(position(MNQ, -1, 20000.0))
    assert closes(port) == [(COOL, MNQ)]
    assert port.of_type(PartialClose) == []


def test_a_new_contract_during_a_cooldown_is_closed() -> None:
    engine, _, port = cooled((MNQ, 2))
    engine.handle(position(ES, 1, 6400.0, position_id=2))
    assert closes(port) == [(COOL, ES)]


def test_reduce_then_add_back_during_a_cooldown_is_growth() -> None:
    # The baseline only ratchets toward flat: 2 → 1 → 2 adds a contract during the cooldown.
    engine, _, port = cooled((MNQ, 2))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MNQ, 2, 20000.0))
    [command] = port.commands
    assert isinstance(command, PartialClose) and command.size == 1


def test_new_entry_orders_are_cancelled_during_a_cooldown() -> None:
    engine, clock, port = cooled((MNQ, 2))
    clock.advance(5)
    entry = order(ES, side=BUY, type=LIMIT, limit_price=6390.0, created_at=clock.now())
    add = order(MNQ, side=BUY, type=LIMIT, limit_price=19990.0, created_at=clock.now())
    engine.handle(entry)
    engine.handle(add)
    assert [(c.rule_id, c.order_id) for c in port.of_type(CancelOrder)] == [
        (COOL, entry.order_id),
        (COOL, add.order_id),
    ]


def test_a_new_protective_stop_for_an_existing_position_is_kept_during_a_cooldown() -> None:
    engine, clock, port = cooled((MNQ, 2))
    clock.advance(5)
    engine.handle(order(MNQ, side=SELL, type=STOP, size=2, stop_price=19950.0, created_at=clock.now()))
    assert port.commands == []


def test_a_closing_side_order_bigger_than_the_position_is_cancelled_during_a_cooldown() -> None:
    # Selling 3 against a long 2 would open a short: that is new exposure.
    engine, clock, port = cooled((MNQ, 2))
    engine.handle(order(MNQ, side=SELL, type=STOP, size=3, stop_price=19950.0, created_at=clock.now()))
    assert len(port.of_type(CancelOrder)) == 1


def test_orders_created_before_the_cooldown_are_left_alone() -> None:
    engine, clock, port = make_engine(config({"cooldown_after_loss": {}}))
    resting = order(MNQ, side=BUY, type=LIMIT, limit_price=19900.0, created_at=T0)
    engine.handle(resting)
    clock.advance(30)
    engine.handle(trade("-150", fees="0", at=clock.now()))
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None
    port.clear()
    engine.handle(resting)  # an update of an order it already knew
    # An order placed before the cooldown but first reported after it started:
    late = order(ES, side=BUY, type=LIMIT, limit_price=6390.0, created_at=T0 + timedelta(seconds=29))
    engine.handle(late)
    assert port.commands == []


def test_a_second_longer_cooldown_extends_the_first() -> None:
    engine, clock, port = cooled((MNQ, 2))
    clock.advance(60)
    engine.handle(trade("-250", fees="0", at=clock.now(), contract_id=NQ))  # 900 s tier
    lock = engine.lockouts.get(ACCOUNT, COOL)
    assert lock is not None
    assert lock.until == T0 + timedelta(seconds=960)
    assert lock.locked_at == T0  # still measured from the first cooldown
    assert lock.baseline == {MNQ: 2}
    clock.advance(400)  # past the first cooldown's end, inside the second
    engine.tick()
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is not None
    port.clear()
    engine.handle(position(MNQ, 3, 20000.0))
    assert [type(c) for c in port.commands] == [PartialClose]


def test_a_shorter_second_cooldown_does_not_shorten_the_first() -> None:
    engine, clock, _ = make_engine(config({"cooldown_after_loss": {}}))
    engine.handle(trade("-350", fees="0", at=T0))  # 1800 s tier
    clock.advance(10)
    engine.handle(trade("-120", fees="0", at=clock.now()))  # 300 s tier
    lock = engine.lockouts.get(ACCOUNT, COOL)
    assert lock is not None and lock.until == T0 + timedelta(seconds=1800)


# --- hard lock and cooldown together -----------------------------------------------------------


def test_a_cooldown_never_shortens_a_hard_lock() -> None:
    engine, clock, port = make_engine(
        config({"daily_realized_loss": {"limit": 300}, "cooldown_after_loss": {}})
    )
    engine.handle(trade("-150", fees="0", at=T0))  # RULE-007: a 5-minute cooldown
    clock.advance(30)
    # RULE-003: hard lock until 17:00; every breach counts, so RULE-007 (−$200: the 15-minute
    # tier) extends the cooldown to T0 + 15 min 30 s.
    engine.handle(trade("-200", fees="0", at=clock.now()))
    assert engine.lockouts.get(ACCOUNT, COOL) is not None
    assert engine.lockouts.get(ACCOUNT, LOSS) is not None
    clock.set(T0 + timedelta(minutes=16))
    engine.tick()
    assert engine.lockouts.get(ACCOUNT, COOL) is None  # the cooldown ran out
    hard = engine.lockouts.hard_lock(ACCOUNT, clock.now())
    assert hard is not None and hard.until == RESET
    port.clear()
    engine.handle(position(MNQ, 1, 20000.0))
    assert closes(port) == [(LOSS, MNQ)]


def test_a_cooldown_set_during_a_hard_lock_does_not_soften_it() -> None:
    engine, clock, port = hard_locked()
    cool = Lock(ACCOUNT, COOL, LockKind.COOLDOWN, "loss", clock.now(), clock.now() + timedelta(minutes=5))
    engine.lockouts.set_lock(cool)
    clock.advance(6 * 60)
    engine.tick()
    assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None
    engine.handle(position(MES, 2, 5000.0))
    engine.handle(order(MES, side=SELL, type=STOP, stop_price=4990.0))
    assert closes(port) == [(LOSS, MES)]
    # The stop can only reduce the position still open: no gate cancels it while it is open.
    assert port.of_type(CancelOrder) == []


# --- symbol locks -------------------------------------------------------------------------------


def test_a_symbol_lock_closes_a_new_position_in_that_symbol_only() -> None:
    engine, _, port = make_engine(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(position(ES, 1, 6400.0))
    assert closes(port) == [("RULE-011", ES)]
    assert [lock.symbol for lock in engine.lockouts.symbol_locks(ACCOUNT)] == ["ES"]
    engine.handle(position(ES, 0, 0.0))
    port.clear()
    engine.handle(position(MES, 1, 5000.0, position_id=2))  # a different root
    assert port.commands == []
    engine.handle(position(ES, -1, 6400.0, position_id=3))
    assert closes(port) == [("RULE-011", ES)]


def test_a_symbol_lock_cancels_orders_in_that_symbol() -> None:
    engine, _, port = make_engine(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(position(ES, 1, 6400.0))
    port.clear()
    es_order = order(ES, side=BUY, type=LIMIT, limit_price=6390.0)
    engine.handle(es_order)
    engine.handle(order(MES, side=BUY, type=LIMIT, limit_price=4990.0))
    assert [(c.rule_id, c.order_id) for c in port.of_type(CancelOrder)] == [
        ("RULE-011", es_order.order_id)
    ]


def test_unblocking_a_symbol_releases_its_lock() -> None:
    engine, _, port = make_engine(config({"symbol_blocks": {"symbols": ["ES"]}}))
    engine.handle(position(ES, 1, 6400.0))
    engine.handle(position(ES, 0, 0.0))
    cleared: list[SymbolLockCleared] = []
    engine.bus.subscribe(cleared.append, SymbolLockCleared)
    engine.apply_config(config({"symbol_blocks": {"symbols": ["NQ"]}}))
    assert [n.lock.symbol for n in cleared] == ["ES"]
    port.clear()
    engine.handle(position(ES, 1, 6400.0, position_id=2))
    assert port.commands == []


# --- expiry ---------------------------------------------------------------------------------------


def test_cooldown_expiry_on_tick_publishes_lock_cleared_and_frees_the_account() -> None:
    engine, clock, port = cooled((MNQ, 2))
    cleared: list[LockCleared] = []
    engine.bus.subscribe(cleared.append, LockCleared)
    clock.advance(299)
    engine.tick()
    assert cleared == []
    clock.advance(1)
    engine.tick()
    engine.tick()
    assert [(n.lock.rule_id, n.why) for n in cleared] == [(COOL, "expired")]
    assert engine.lockouts.cooldown(ACCOUNT, clock.now()) is None
    engine.handle(position(MNQ, 5, 20000.0))
    engine.handle(position(ES, 1, 6400.0, position_id=2))
    engine.handle(order(ES, side=BUY, type=LIMIT, limit_price=6390.0, created_at=clock.now()))
    assert port.commands == []


def test_hard_lock_expiry_at_the_reset_frees_the_account() -> None:
    engine, clock, port = hard_locked()
    notices: list[Any] = []
    engine.bus.subscribe(notices.append)
    clock.set(RESET)
    engine.tick()
    assert [(n.lock.rule_id, n.why) for n in notices if isinstance(n, LockCleared)] == [
        (LOSS, "expired")
    ]
    assert not any(isinstance(n, LockSet) for n in notices)
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []
