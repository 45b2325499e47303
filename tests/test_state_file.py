"""A broken state file never leaves the trader unprotected: a damaged file is set aside (not
reused, not fatal), a full disk raises the alarm while protection goes on from memory, values
SQLite cannot store never get past the parse boundary, and one bad row never sinks the rows
written with it. Real SQLite files throughout; "disk full" is a real file system filled to its
last byte."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sqlite3
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.domain.parse import ParseError, parse_market_push, parse_trade, parse_user_push
from core.engine.notices import LockSet
from core.modules.contracts import Contract
from core.modules.lockouts import Lock, LockKind
from core.modules.pnl_tracker import DayPnl
from core.persistence.database import Database
from core.persistence.files import StateFileDamaged, check_integrity
from core.persistence.store import StateStore
from core.persistence.writers import Inbox
from tests.builders import ACCOUNT, MNQ, T0, config, make_engine, trade
from tests.persistence_support import rows


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "state.db"


def a_lock(rule_id: str = "RULE-003") -> Lock:
    return Lock(ACCOUNT, rule_id, LockKind.HARD, "daily loss", T0, T0 + timedelta(hours=7))


def filled_file(path: Path) -> None:
    store = StateStore(Database(path), Inbox())
    for n in range(300):  # enough pages that damage in the middle hits a table's own pages
        store.save_lock(Lock(n, f"RULE-{n:03}", LockKind.HARD, "x" * 200, T0, None), lambda: None)
    store.close()


# --- a damaged file --------------------------------------------------------------------------


def test_garbage_in_place_of_the_state_file_is_set_aside_and_a_new_one_started(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    db = Database(path)
    try:
        assert db.created and db.set_aside is not None and "not a database" in db.damage
        assert db.set_aside.read_bytes().startswith(b"\x00garbage")
        assert rows(path, "SELECT count(*) FROM lockouts") == [(0,)]
    finally:
        db.dispose()
    assert any(r.levelno == logging.CRITICAL and "damaged" in r.getMessage() for r in caplog.records)


def test_damaged_pages_inside_a_real_state_file_are_found_and_set_aside(path: Path) -> None:
    filled_file(path)
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 3: page * 3 + 512] = b"\xff" * 512  # a torn sector in a table's pages
    path.write_bytes(bytes(data))
    with pytest.raises(StateFileDamaged):
        check_integrity(path)
    db = Database(path)
    try:
        assert db.set_aside is not None and db.set_aside.exists()
        assert rows(path, "SELECT count(*) FROM lockouts") == [(0,)]
        assert not path.with_name("state.db-wal").exists() or db.created
    finally:
        db.dispose()


def test_a_sound_file_is_kept_as_it_is(path: Path) -> None:
    filled_file(path)
    db = Database(path)
    try:
        assert not db.created and db.set_aside is None
        assert rows(path, "SELECT count(*) FROM lockouts") == [(300,)]
    finally:
        db.dispose()


# --- the disk fills up ----------------------------------------------------------------------------


class SmallDisk:
    """A real 2 MB file system (tmpfs) the test fills to the last byte: the disk door itself.
    Mounting needs root; elsewhere the test is skipped."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.filler = where / "filler"

    def mount(self) -> None:
        self.where.mkdir(parents=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs",
                               str(self.where)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
            with contextlib.suppress(OSError):  # the last few bytes
                while True:
                    fh.write(b"\0" * 64)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.where)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small file system needs root")
    disk = SmallDisk(tmp_path / "disk")
    disk.mount()
    yield disk
    disk.unmount()


def open_store(path: Path) -> StateStore:
    return StateStore(Database(path), Inbox())


def test_a_lock_that_cannot_be_written_raises_the_alarm_and_is_enforced_from_memory(
    small_disk: SmallDisk,
) -> None:
    path = small_disk.where / "state.db"
    store = open_store(path)
    store.critical.retry_every = 0.2
    alarms: list[tuple[str, str]] = []
    recovered: list[bool] = []
    store.critical.on_failed = lambda what, error: alarms.append((what, error))
    store.critical.on_recovered = lambda: recovered.append(True)
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 100}}), store=store)
    told: list[LockSet] = []
    engine.bus.subscribe(told.append, LockSet)
    try:
        small_disk.fill()
        engine.handle(trade("-150", at=T0, trade_id=1))  # the day's loss passes the limit
        lock_alarm = f"the RULE-003 lock of account {ACCOUNT}"
        for _ in range(400):  # a safety net for hangs, not a speed assertion
            store.inbox.drain()
            if lock_alarm in {what for what, _ in alarms}:
                break
            store.critical.wait_idle(0.05)
        assert lock_alarm in {what for what, _ in alarms}
        assert all("full" in error for _, error in alarms)
        assert store.critical.alarmed and not store.critical.wait_idle(0.1)
        # Enforced from memory: the lock holds and the flatten went out, disk or no disk.
        assert engine.lockouts.hard_lock(ACCOUNT, T0) is not None
        assert port.commands
        assert told == []  # nobody is told of a lock a crash would undo
        small_disk.free()
        assert store.critical.wait_idle(10)
        store.inbox.drain()
        assert recovered == [True]
        assert rows(path, "SELECT rule_id FROM lockouts") == [("RULE-003",)]
        assert rows(path, "SELECT realized_pnl FROM daily_pnl") == [("-150.36",)]
        assert [n.lock.rule_id for n in told] == ["RULE-003"]  # told once it is on disk
    finally:
        small_disk.free()
        store.close()


# --- values SQLite cannot store ---------------------------------------------------------------------


def raw_trade(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": 1, "accountId": ACCOUNT, "contractId": MNQ, "creationTimestamp": "2026-08-19T15:00:00Z",
        "price": 21000.0, "profitAndLoss": None, "fees": 0.37, "side": 0, "size": 1,
        "voided": False, "orderId": 7,
    }
    payload.update(overrides)
    return payload


@pytest.mark.parametrize(("field", "value", "words"), [
    ("id", 2**64, "out of range"),
    ("id", -(2**63) - 1, "out of range"),
    ("orderId", 2**63, "out of range"),
    ("id", "9" * 5000, "not an integer"),
    ("contractId", "CON.F.US.\ud800.U26", "lone surrogate"),
    ("contractId", "CON\x00MNQ", "NUL"),
    ("contractId", "C" * 5000, "too long"),
])
def test_values_sqlite_cannot_give_back_stop_at_the_parse_boundary(
    field: str, value: Any, words: str
) -> None:
    with pytest.raises(ParseError, match=words) as exc:
        parse_user_push("GatewayUserTrade", [{"action": 0, "data": raw_trade(**{field: value})}])
    assert exc.value.account_id == ACCOUNT  # the account is named: it is read again over REST


def test_the_largest_64_bit_id_is_still_an_id() -> None:
    assert parse_trade(raw_trade(id=2**63 - 1)).trade_id == 2**63 - 1


def test_a_lone_surrogate_in_a_quote_contract_id_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_market_push("GatewayQuote", ["CON.F.US.\udc00", {"lastPrice": 1.0}])


def test_a_value_that_cannot_be_stored_fails_alone_in_its_group(path: Path) -> None:
    """Past the parse boundary by some other road: the alarm goes up, its neighbours land."""
    store = open_store(path)
    alarms: list[str] = []
    store.critical.on_failed = lambda what, error: alarms.append(what)
    done: list[str] = []
    try:
        bad = trade("-50", at=T0, trade_id=2**64)
        totals = DayPnl(Decimal("-50"), Decimal("0.37"), 1)
        store.save_lock(a_lock("RULE-003"), lambda: done.append("first"))
        store.save_trade(bad, T0.date(), totals, lambda: done.append("bad"))
        store.save_lock(a_lock("RULE-013"), lambda: done.append("last"))
        assert store.flush()
        store.inbox.drain()
        assert done == ["first", "last"]
        assert alarms == [f"trade {2**64} of account {ACCOUNT}"]
        assert rows(path, "SELECT rule_id FROM lockouts ORDER BY 1") == [("RULE-003",), ("RULE-013",)]
    finally:
        store.close()


def test_one_bad_batched_row_never_drops_its_neighbours(path: Path) -> None:
    store = open_store(path)
    try:
        good = Contract(MNQ, "MNQU6", 0.25, 0.5, "F.US.MNQ", "Micro Nasdaq")
        bad = Contract("CON.F.US.\ud800.U26", "X\ud800", 0.25, 0.5, "F.US.X", "bad")
        also = Contract("CON.F.US.MES.U26", "MESU6", 0.25, 1.25, "F.US.MES", "Micro S&P")
        for contract in (good, bad, also):
            store.cache_contract(contract)
        assert store.flush()
        assert rows(path, "SELECT contract_id FROM contract_cache ORDER BY 1") == [
            ("CON.F.US.MES.U26",), (MNQ,)]
    finally:
        store.close()


def test_what_reaches_the_disk_reads_back_exactly(path: Path) -> None:
    store = open_store(path)
    engine, _, _ = make_engine(config(), store=store)
    try:
        engine.handle(parse_trade(raw_trade(id=2**63 - 1, profitAndLoss=-12.5, fees=0.37)))
        engine.flush()
        [back] = store.load_trades(T0.date() - timedelta(days=1))
        assert back.trade_id == 2**63 - 1 and back.pnl == Decimal("-12.5")
    finally:
        store.close()


def test_the_app_state_table_keeps_json(path: Path) -> None:
    from core.persistence.app_state import AppState

    db = Database(path)
    try:
        state = AppState(db)
        state.put("k", {"a": [1, "two"]})
        assert state.get("k") == {"a": [1, "two"]}
        conn = sqlite3.connect(path)
        conn.execute("UPDATE app_state SET value = '{broken' WHERE key = 'k'")
        conn.commit()
        conn.close()
        assert state.get("k") is None  # unreadable: logged and ignored
    finally:
        db.dispose()

