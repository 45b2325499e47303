"""Startup restore from a real SQLite file: a fresh engine gets back what the last one knew,
runs a reset it missed while stopped, and enforces a persisted lock with no trade history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.config import AppConfig
from core.domain.clock import ManualClock
from core.domain.commands import CancelOrder, CloseContract
from core.engine.engine import Engine
from core.engine.notices import DailyReset, LockCleared, LockSet, RealizedPnlChanged, SymbolLockSet
from core.modules.lockouts import Lock, LockKind
from core.modules.reset_scheduler import ResetRecord
from core.persistence.store import StateStore
from tests.builders import (
    ACCOUNT,
    ES,
    MNQ,
    T0,
    config,
    live_contracts,
    make_engine,
    order,
    position,
    trade,
)
from tests.persistence_support import Stores, execute, rows, store_pool
from tests.rules.support import ct

BIG_ORDER_ID = 9_100_000_000_001  # gateway ids exceed 32 bits


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def stores() -> Iterator[Stores]:
    with store_pool() as pool:
        yield pool


def rules_config() -> AppConfig:
    return config(
        {
            "daily_realized_loss": {"limit": 500},
            "cooldown_after_loss": {},
            "symbol_blocks": {"symbols": ["ES"]},
        }
    )


def restarted(stores: Stores, path: Path, at: Any, cfg: AppConfig | None = None) -> tuple[Engine, Any, list[Any]]:
    """A fresh engine on the same file, subscribed before restore(), then restored."""
    store = stores.open(path)
    engine, _, port = make_engine(cfg or rules_config(), clock=ManualClock(at), store=store, with_contracts=False)
    notices: list[Any] = []
    engine.bus.subscribe(notices.append)
    engine.restore()
    return engine, port, notices


def first_session(stores: Stores, path: Path) -> tuple[Engine, StateStore]:
    """A day's trading: a blocked symbol, an entry, a cooldown after a loss, then RULE-003."""
    store = stores.open(path)
    engine, clock, _ = make_engine(rules_config(), store=store, with_contracts=False)
    for contract in live_contracts():
        engine.contracts.put(contract)  # persisted (lazily) this time
    engine.handle(position(ES, 1, 5000.0, position_id=5))  # RULE-011: ES is blocked
    engine.handle(position(ES, 0, 0.0, position_id=5))
    engine.handle(trade(None, at=T0, trade_id=1))  # the MNQ entry
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(order(MNQ, side=1, type=4, size=2, stop_price=19990.0, order_id=BIG_ORDER_ID))
    clock.advance(60)
    engine.handle(trade("-150", at=clock.now(), trade_id=2))  # RULE-007: 300 s cooldown
    engine.handle(position(MNQ, 1, 20000.0))  # half closed: the baseline ratchets to 1
    clock.advance(60)
    engine.handle(trade("-400", at=clock.now(), trade_id=3))  # RULE-003: net -551.08
    engine.flush()
    return engine, store


def test_a_fresh_engine_gets_back_what_the_last_one_knew(path: Path, stores: Stores) -> None:
    before, store = first_session(stores, path)
    now = before.clock.now()
    locks = sorted(before.lockouts.all_locks(), key=lambda lk: lk.rule_id)
    assert [(lk.rule_id, lk.kind) for lk in locks] == [
        ("RULE-003", LockKind.HARD),
        ("RULE-007", LockKind.COOLDOWN),
    ]
    assert locks[0].until == ct(2026, 8, 19, 17)
    assert dict(locks[1].baseline) == {MNQ: 1}
    symbol_locks = before.lockouts.symbol_locks(ACCOUNT)
    counts = before.counter.counts(ACCOUNT, now)
    assert counts.session == 1
    reset = before.resets.record(ACCOUNT)
    stores.close(store)

    engine, port, notices = restarted(stores, path, now)

    assert sorted(engine.lockouts.all_locks(), key=lambda lk: lk.rule_id) == locks
    assert engine.lockouts.symbol_locks(ACCOUNT) == symbol_locks != []
    assert engine.lockouts.cooldown(ACCOUNT, now) is not None
    day = date(2026, 8, 19)
    assert engine.pnl.realized(ACCOUNT, day) == Decimal("-551.08")
    assert engine.pnl.day_totals(ACCOUNT, day).trade_count == 3
    assert len(engine.contracts) == len(live_contracts())
    assert engine.contracts.get(MNQ) == before.contracts.get(MNQ)
    assert engine.resets.record(ACCOUNT) == reset
    assert engine.counter.counts(ACCOUNT, now) == counts
    [(contract_id, held)] = engine.mirror.account(ACCOUNT).positions.items()
    assert (contract_id, held.signed_size, held.average_price) == (MNQ, 1, 20000.0)
    [restored_order] = engine.mirror.account(ACCOUNT).orders.values()
    assert (restored_order.order_id, restored_order.stop_price, restored_order.size) == (
        BIG_ORDER_ID,
        19990.0,
        2,
    )
    assert engine.mirror.holders(MNQ) == {ACCOUNT}
    assert notices == []  # nothing missed: no reset ran, nothing was re-announced

    # The stream re-delivers a trade it already sent: it is not counted twice.
    engine.handle(trade("-400", at=now, trade_id=3))
    engine.flush()
    assert engine.pnl.realized(ACCOUNT, day) == Decimal("-551.08")
    assert not any(isinstance(n, RealizedPnlChanged) for n in notices)
    assert rows(path, "SELECT realized_pnl, trade_count FROM daily_pnl") == [("-551.08", 3)]

    # And the lock is enforced: the hard lock outranks the cooldown.
    engine.handle(position(MNQ, 2, 20000.0))
    assert port.commands == [
        CloseContract(
            account_id=ACCOUNT,
            rule_id="RULE-003",
            reason=port.commands[0].reason,
            contract_id=MNQ,
            event_at=port.commands[0].event_at,
        )
    ]


def test_a_missed_reset_runs_at_startup_and_yesterdays_lock_expires(path: Path, stores: Stores) -> None:
    tuesday = ct(2026, 8, 18, 11)
    store = stores.open(path)
    engine, _, _ = make_engine(rules_config(), clock=ManualClock(tuesday), store=store)
    engine.handle(trade("-600", at=tuesday, trade_id=11))  # Tuesday's RULE-003
    engine.flush()
    yesterdays = engine.lockouts.get(ACCOUNT, "RULE-003")
    assert yesterdays is not None and yesterdays.until == ct(2026, 8, 18, 17)
    # The schedule on file says the last reset began Monday's trading day: two days ago.
    store.save_reset(
        ResetRecord(ACCOUNT, date(2026, 8, 17), ct(2026, 8, 17, 17), "17:00", "America/Chicago"),
        lambda: None,
    )
    stores.close(store)

    engine, port, notices = restarted(stores, path, T0)  # Wednesday 10:00 CT

    assert notices == [DailyReset(ACCOUNT, date(2026, 8, 19))]
    engine.flush()
    assert rows(path, "SELECT last_reset_day, next_reset_time FROM reset_schedule") == [
        ("2026-08-19", ct(2026, 8, 19, 17).astimezone(T0.tzinfo).isoformat())
    ]
    assert engine.pnl.realized(ACCOUNT, date(2026, 8, 19)) == 0
    assert engine.lockouts.hard_lock(ACCOUNT, T0) is None
    engine.tick()
    engine.flush()
    # Every breach counted on Tuesday: the daily-loss lock and the 30-minute cooldown both end.
    assert LockCleared(yesterdays, "expired") in notices[1:]
    assert sorted(n.lock.rule_id for n in notices[1:]) == ["RULE-003", "RULE-007"]
    assert rows(path, "SELECT count(*) FROM lockouts") == [(0,)]
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []  # a new day: trading is allowed again


def test_a_persisted_lock_is_enforced_with_no_trade_history(path: Path, stores: Stores) -> None:
    store = stores.open(path)
    engine, _, _ = make_engine(rules_config(), store=store)
    set_locks: list[LockSet] = []
    engine.bus.subscribe(set_locks.append, LockSet)
    engine.handle(trade("-600", at=T0, trade_id=21))
    engine.flush()
    assert [n.lock.rule_id for n in set_locks] == ["RULE-003", "RULE-007"]
    stores.close(store)
    execute(path, "DELETE FROM trade_history", "DELETE FROM daily_pnl")

    later = T0 + timedelta(minutes=30)
    engine, port, _ = restarted(stores, path, later)

    assert engine.pnl.realized(ACCOUNT, date(2026, 8, 19)) == 0  # the history is gone…
    assert engine.lockouts.hard_lock(ACCOUNT, later) == set_locks[0].lock  # …the lock is not
    engine.handle(position(MNQ, 1, 20000.0))
    stop = order(MNQ, side=0, type=1, limit_price=19900.0, order_id=950)
    engine.handle(stop)
    assert [(type(c), c.rule_id) for c in port.commands] == [
        (CloseContract, "RULE-003"),
        (CancelOrder, "RULE-003"),
    ]


def test_a_symbol_lock_is_published_after_commit_and_survives_a_restart(
    path: Path, stores: Stores
) -> None:
    store = stores.open(path)
    engine, _, _ = make_engine(rules_config(), store=store)
    seen: list[list[tuple[Any, ...]]] = []
    engine.bus.subscribe(
        lambda n: seen.append(rows(path, "SELECT symbol, rule_id FROM symbol_lockouts")),
        SymbolLockSet,
    )
    engine.handle(position(ES, 1, 5000.0))
    engine.flush()
    assert seen == [[("ES", "RULE-011")]]
    symbol_locks = engine.lockouts.symbol_locks(ACCOUNT)
    stores.close(store)

    engine, port, _ = restarted(stores, path, T0)
    assert engine.lockouts.symbol_locks(ACCOUNT) == symbol_locks
    assert engine.lockouts.symbol_locked(ACCOUNT, "ES")
    for contract in live_contracts():
        engine.contracts.put(contract, persist=False)
    engine.handle(order(ES, side=0, type=1, limit_price=4990.0, order_id=960))
    # The order is cancelled once (by the gate and the rule alike), and the ES position the
    # file still shows is closed by the rule.
    assert [(type(c), c.rule_id) for c in port.commands] == [
        (CancelOrder, "RULE-011"),
        (CloseContract, "RULE-011"),
    ]


def test_a_cooldown_that_ended_while_stopped_is_cleared_on_the_first_tick(
    path: Path, stores: Stores
) -> None:
    store = stores.open(path)
    store.save_lock(
        Lock(ACCOUNT, "RULE-007", LockKind.COOLDOWN, "old", T0, T0 + timedelta(seconds=300), {MNQ: 1}),
        lambda: None,
    )
    stores.close(store)

    engine, port, notices = restarted(stores, path, T0 + timedelta(minutes=10))
    assert engine.lockouts.cooldown(ACCOUNT, engine.clock.now()) is None
    engine.tick()
    engine.flush()
    assert [type(n) for n in notices] == [LockCleared]
    assert rows(path, "SELECT count(*) FROM lockouts") == [(0,)]
    engine.handle(position(MNQ, 3, 20000.0))
    assert port.commands == []


def test_a_lock_until_the_api_lifts_it_survives_restarts_and_resets(path: Path, stores: Stores) -> None:
    store = stores.open(path)
    guard = Lock(ACCOUNT, "RULE-010", LockKind.HARD, "canTrade is false", T0, None)
    store.save_lock(guard, lambda: None)
    store.save_reset(
        ResetRecord(ACCOUNT, date(2026, 8, 18), ct(2026, 8, 18, 17), "17:00", "America/Chicago"),
        lambda: None,
    )
    stores.close(store)
    assert rows(path, "SELECT locked_until FROM lockouts") == [(None,)]

    next_day = T0 + timedelta(days=1)
    engine, port, notices = restarted(stores, path, next_day)
    engine.tick()
    engine.flush()
    assert [type(n) for n in notices] == [DailyReset]  # a reset, but no LockCleared
    assert engine.lockouts.hard_lock(ACCOUNT, next_day) == guard
    engine.handle(position(MNQ, 1, 20000.0))
    assert [(type(c), c.rule_id) for c in port.commands] == [(CloseContract, "RULE-010")]


def test_loss_warnings_given_before_a_restart_are_not_repeated(tmp_path: Path) -> None:
    from core.engine.notices import LossWarning
    from tests.builders import T0, config, make_engine, open_store, trade

    cfg = config({"daily_realized_loss": {"limit": 500}})
    first, _, _ = make_engine(cfg, store=open_store(tmp_path / "state.db"))
    seen: list[LossWarning] = []
    first.bus.subscribe(seen.append, LossWarning)
    first.handle(trade("-260", fees="0", at=T0))
    first.flush()
    assert [w.fraction for w in seen] == [0.5]
    first.store.close()  # type: ignore[union-attr]
    second, _, _ = make_engine(cfg, store=open_store(tmp_path / "state.db"))
    second.restore()
    again: list[LossWarning] = []
    second.bus.subscribe(again.append, LossWarning)
    second.handle(trade("-10", fees="0", at=T0))
    second.flush()
    assert again == []  # 50 % was already said before the restart
    second.handle(trade("-150", fees="0", at=T0))
    second.flush()
    assert [w.fraction for w in again] == [0.8]
    second.store.close()  # type: ignore[union-attr]
