"""After a restart the daily limits are judged on the restored P&L at once, before any new
trade and before the gateway answers (SPEC section 4: critical state is durable; a daily
limit is breached by the trading day's net realized P&L).

The state file holds today's realized −$600 against a $500 daily loss limit, with no lock row:
either the lock never reached the file (a crash between the two commits, here its row
deleted), or the limit was lowered in the config while the app was stopped. Either way the
restored engine must lock the account for the day and flatten what is open, from the file
alone: no event, no tick, no gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import AppConfig
from core.domain.clock import ManualClock
from core.domain.commands import Flatten
from core.engine.notices import LockSet
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, MNQ, T0, config, make_engine, position, trade
from tests.persistence_support import Stores, execute, rows, store_pool
from tests.rules.support import ct


@pytest.fixture
def stores() -> Iterator[Stores]:
    with store_pool() as pool:
        yield pool


def daily_loss(limit: int) -> AppConfig:
    return config({"daily_realized_loss": {"limit": limit}})


def a_losing_day(stores: Stores, path: Path, cfg: AppConfig) -> None:
    """−$600 realized today (two losing trades, no fees), then 2 MNQ held, and a clean stop."""
    store = stores.open(path)
    engine, clock, _ = make_engine(cfg, store=store)
    engine.handle(trade("-350", fees="0", at=clock.now(), trade_id=1))
    clock.advance(60)
    engine.handle(trade("-250", fees="0", at=clock.now(), trade_id=2))
    engine.handle(position(MNQ, 2, 20_000.0))
    engine.flush()
    stores.close(store)


def restart(stores: Stores, path: Path, cfg: AppConfig) -> tuple[list[object], list[object]]:
    """A fresh engine on the file: returns (commands sent, notices) from restore() alone."""
    engine, _, port = make_engine(cfg, clock=ManualClock(T0.replace(minute=30)),
                                  store=stores.open(path))
    notices: list[object] = []
    engine.bus.subscribe(notices.append)
    engine.restore()  # nothing else: no event, no tick
    engine.flush()
    return list(port.commands), notices


def assert_locked_and_flattened(commands: list[object], notices: list[object], path: Path) -> None:
    [flatten] = commands
    assert isinstance(flatten, Flatten)
    assert flatten.rule_id == "RULE-003" and flatten.contract_ids == (MNQ,)
    [lock_set] = [n for n in notices if isinstance(n, LockSet)]
    lock = lock_set.lock
    assert (lock.account_id, lock.rule_id, lock.kind) == (ACCOUNT, "RULE-003", LockKind.HARD)
    assert lock.until == ct(2026, 8, 19, 17)  # the next daily reset
    # Durable: a second crash now would not lose it again.
    assert rows(path, "SELECT account_id, rule_id FROM lockouts") == [(ACCOUNT, "RULE-003")]


def test_a_loss_whose_lock_never_reached_the_file_locks_and_flattens_at_restart(
    tmp_path: Path, stores: Stores
) -> None:
    path = tmp_path / "state.db"
    a_losing_day(stores, path, daily_loss(500))
    assert rows(path, "SELECT rule_id FROM lockouts") == [("RULE-003",)]
    execute(path, "DELETE FROM lockouts")  # the lock's commit lost in a crash

    commands, notices = restart(stores, path, daily_loss(500))

    assert_locked_and_flattened(commands, notices, path)


def test_a_limit_lowered_while_stopped_locks_and_flattens_at_restart(
    tmp_path: Path, stores: Stores
) -> None:
    path = tmp_path / "state.db"
    a_losing_day(stores, path, daily_loss(1000))  # −$600 of $1,000: trading on
    assert rows(path, "SELECT rule_id FROM lockouts") == []
    assert rows(path, "SELECT contract_id FROM positions") == [(MNQ,)]

    commands, notices = restart(stores, path, daily_loss(500))

    assert_locked_and_flattened(commands, notices, path)


def test_a_loss_within_the_limit_is_left_alone_at_restart(tmp_path: Path, stores: Stores) -> None:
    path = tmp_path / "state.db"
    a_losing_day(stores, path, daily_loss(1000))

    commands, notices = restart(stores, path, daily_loss(601))

    assert commands == []
    assert [n for n in notices if isinstance(n, LockSet)] == []
    assert rows(path, "SELECT rule_id FROM lockouts") == []
