"""Persistence on a real SQLite file: the file's settings, schema versions, critical writes
(durable before they are reported, atomic per trade, a bad item never sinks its group) and the
batched writer (latest value per key, on the executor it is given)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from core.engine.notices import LockSet, RealizedPnlChanged
from core.modules.lockouts import Lock, LockKind
from core.persistence import schema
from core.persistence.database import Database, SchemaError
from core.persistence.store import StateStore
from core.persistence.writers import BatchWriter
from tests.builders import (
    ACCOUNT,
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


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def stores() -> Iterator[Stores]:
    with store_pool() as pool:
        yield pool


def stall(store: StateStore) -> threading.Event:
    """Park the critical writer inside a transaction; set the returned event to let it go."""
    started, release = threading.Event(), threading.Event()

    def block(_conn: Connection) -> None:
        started.set()
        release.wait(30)

    store.critical.submit(block)
    assert started.wait(30), "the critical writer never picked up work"
    return release


# --- the file ------------------------------------------------------------------------------


def test_the_state_file_uses_wal_and_synchronous_full(path: Path) -> None:
    db = Database(path)
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        db.dispose()
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]  # WAL is a property of the file


def test_the_schema_version_is_recorded_once(path: Path) -> None:
    Database(path).dispose()
    Database(path).dispose()
    assert rows(path, "SELECT version FROM schema_version") == [(schema.SCHEMA_VERSION,)]
    assert schema.SCHEMA_VERSION == 4
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(schema.metadata.tables) <= tables


def _downgrade_to_v1(path: Path) -> None:
    """Make ``path`` look as the first release wrote it: no commissions column."""
    Database(path).dispose()
    execute(
        path,
        "ALTER TABLE trade_history DROP COLUMN commissions",
        "DELETE FROM schema_version",
        "INSERT INTO schema_version VALUES (1, '2025-01-01T00:00:00+00:00')",
        "INSERT INTO symbol_lockouts VALUES (1, 'ES', 'RULE-011', 'kept', '2026-08-19T15:00:00+00:00')",
        "INSERT INTO trade_history (trade_id, account_id, contract_id, created_at, trading_day,"
        " price, side, size, pnl, fees, voided, order_id) VALUES (7, 1, 'CON.F.US.MNQ.U26',"
        " '2026-08-19T15:00:00+00:00', '2026-08-19', 100.0, 1, 1, '-50', '0.36', 0, 9)",
    )


def test_an_older_schema_is_backed_up_then_upgraded_in_place(path: Path) -> None:
    _downgrade_to_v1(path)
    Database(path).dispose()
    backup = path.with_suffix(".v1.bak")
    assert backup.exists()
    assert rows(backup, "SELECT version FROM schema_version") == [(1,)]
    assert rows(backup, "SELECT reason FROM symbol_lockouts") == [("kept",)]
    # Upgraded in place: the data is still there, trades gained their commissions column.
    assert rows(path, "SELECT max(version) FROM schema_version") == [(schema.SCHEMA_VERSION,)]
    assert rows(path, "SELECT reason FROM symbol_lockouts") == [("kept",)]
    assert rows(path, "SELECT trade_id, fees, commissions FROM trade_history") == [(7, "0.36", None)]


def test_a_version_older_than_any_release_is_refused(path: Path) -> None:
    Database(path).dispose()
    execute(path, "DELETE FROM schema_version", "INSERT INTO schema_version VALUES (0, 'x')")
    with pytest.raises(SchemaError, match="no upgrade"):
        Database(path)


def test_the_backup_includes_commits_still_in_the_wal(path: Path) -> None:
    Database(path).dispose()
    other = sqlite3.connect(path)  # another connection keeps the WAL from being checkpointed
    try:
        other.execute("PRAGMA wal_autocheckpoint=0")
        other.execute("ALTER TABLE trade_history DROP COLUMN commissions")
        other.execute("DELETE FROM schema_version")
        other.execute("INSERT INTO schema_version VALUES (1, 'then')")
        other.execute("INSERT INTO symbol_lockouts VALUES (1, 'NQ', 'RULE-011', 'in wal', 'x')")
        other.commit()
        Database(path).dispose()
    finally:
        other.close()
    backup = path.with_suffix(".v1.bak")
    assert rows(backup, "SELECT version FROM schema_version") == [(1,)]
    assert rows(backup, "SELECT reason FROM symbol_lockouts") == [("in wal",)]


def test_a_newer_schema_is_refused_and_left_untouched(path: Path) -> None:
    Database(path).dispose()
    execute(path, "INSERT INTO schema_version VALUES (99, 'the future')")
    with pytest.raises(SchemaError, match="newer"):
        Database(path)
    assert rows(path, "SELECT max(version) FROM schema_version") == [(99,)]
    assert list(path.parent.glob("*.bak")) == []


# --- critical writes -----------------------------------------------------------------------


def test_lockset_is_published_only_after_the_lock_row_is_committed(path: Path, stores: Stores) -> None:
    store = stores.open(path)
    engine, _, port = make_engine(config({"daily_realized_loss": {"limit": 500}}), store=store)
    seen: list[list[tuple[Any, ...]]] = []
    pnl_seen: list[tuple[RealizedPnlChanged, list[tuple[Any, ...]]]] = []
    engine.bus.subscribe(
        lambda n: seen.append(rows(path, "SELECT rule_id, kind FROM lockouts")), LockSet
    )
    engine.bus.subscribe(
        lambda n: pnl_seen.append((n, rows(path, "SELECT realized_pnl FROM daily_pnl"))),
        RealizedPnlChanged,
    )
    release = stall(store)
    try:
        engine.handle(trade("-600", at=T0))
        # Enforcement does not wait for the disk: the flatten went out at once.
        assert [c.rule_id for c in port.commands] == ["RULE-003"]
        engine.inbox.drain()
        engine.tick()
        assert seen == [] and pnl_seen == []  # nothing reported while the write is pending
        assert rows(path, "SELECT count(*) FROM lockouts") == [(0,)]
    finally:
        release.set()
    engine.flush()
    assert seen == [[("RULE-003", "hard")]]  # the row was visible when the notice went out
    [(notice, day_rows)] = pnl_seen
    assert day_rows == [(str(notice.net),)] == [("-600.36",)]


def test_a_trade_row_and_its_daily_total_commit_together(path: Path, stores: Stores) -> None:
    store = stores.open(path)
    engine, _, _ = make_engine(config(), store=store)
    reported: list[RealizedPnlChanged] = []
    engine.bus.subscribe(reported.append, RealizedPnlChanged)
    engine.handle(trade("-100", at=T0, trade_id=1))
    engine.flush()
    assert rows(path, "SELECT trade_id, pnl, fees FROM trade_history") == [(1, "-100", "0.36")]
    day = "SELECT realized_pnl, gross_pnl, fees, trade_count FROM daily_pnl"
    assert rows(path, day) == [("-100.36", "-100", "0.36", 1)]
    # From now on the day's total cannot be written: the trade must not land without it.
    execute(
        path,
        "CREATE TRIGGER no_day_insert BEFORE INSERT ON daily_pnl BEGIN SELECT RAISE(ABORT, 'no'); END",
        "CREATE TRIGGER no_day_update BEFORE UPDATE ON daily_pnl BEGIN SELECT RAISE(ABORT, 'no'); END",
    )
    engine.handle(trade("-50", at=T0 + timedelta(minutes=1), trade_id=2))
    engine.flush()
    assert rows(path, "SELECT trade_id FROM trade_history") == [(1,)]
    assert rows(path, day) == [("-100.36", "-100", "0.36", 1)]
    assert [n.trade_count for n in reported] == [1]  # the failed write was never reported


async def test_with_a_loop_attached_notices_arrive_on_the_loop_thread_after_commit(
    path: Path, stores: Stores
) -> None:
    loop = asyncio.get_running_loop()
    store = stores.open(path)
    store.inbox.attach(loop.call_soon_threadsafe)
    try:
        engine, _, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}), store=store)
        got: asyncio.Future[tuple[int, list[tuple[Any, ...]]]] = loop.create_future()
        engine.bus.subscribe(
            lambda n: got.set_result(
                (threading.get_ident(), rows(path, "SELECT rule_id FROM lockouts"))
            ),
            LockSet,
        )
        engine.handle(trade("-600", at=T0))
        assert not got.done()  # handle() returned without waiting for the disk
        thread, seen = await asyncio.wait_for(got, 30)  # no flush(), no drain(): the loop runs it
        assert thread == threading.get_ident()
        assert seen == [("RULE-003",)]
    finally:
        store.inbox.attach(None)


def _lock(rule_id: str) -> Lock:
    return Lock(ACCOUNT, rule_id, LockKind.HARD, f"{rule_id} test", T0, T0 + timedelta(hours=2))


def test_a_failing_item_does_not_lose_the_rest_of_its_group_commit(path: Path, stores: Stores) -> None:
    store = stores.open(path)
    done: list[str] = []
    attempts: list[int] = []

    def broken(conn: Connection) -> None:
        attempts.append(1)
        conn.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")

    release = stall(store)
    try:  # all three queue up behind the stalled write, so they form one group
        store.save_lock(_lock("RULE-003"), lambda: done.append("first"))
        bad = store.critical.submit(broken, lambda: done.append("broken"))
        store.save_lock(_lock("RULE-013"), lambda: done.append("last"))
    finally:
        release.set()
    assert store.flush()
    assert store.inbox.drain() == 2
    assert done == ["first", "last"]
    # In the group, the group again after each retry delay, then alone.
    assert len(attempts) == 1 + len(store.critical.retry_delays) + 1
    assert isinstance(bad.exception(timeout=0), RuntimeError)
    assert rows(path, "SELECT rule_id FROM lockouts ORDER BY 1") == [("RULE-003",), ("RULE-013",)]


# --- batched writes ------------------------------------------------------------------------


class AdapterExecutor:
    """What the GUI passes: something with ``submit(fn)`` (a QThreadPool adapter)."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn: Callable[[], None]) -> Future[None]:
        self.submitted += 1
        future: Future[None] = Future()

        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # pragma: no cover - the writer catches its own
                future.set_exception(exc)
            else:
                future.set_result(None)

        threading.Thread(target=run, name="adapter-worker").start()
        return future


def _recorder(ran: list[tuple[str, str]], value: str) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        ran.append((value, threading.current_thread().name))
        conn.exec_driver_sql("SELECT 1")

    return work


@pytest.mark.parametrize("kind", ["thread_pool", "adapter"])
def test_batch_writer_keeps_the_latest_value_per_key_and_uses_the_given_executor(
    path: Path, kind: str
) -> None:
    db = Database(path)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="given-pool")
    adapter = AdapterExecutor()
    writer = BatchWriter(db.engine, pool if kind == "thread_pool" else adapter, interval=3600)
    ran: list[tuple[str, str]] = []
    try:
        writer.put("k", _recorder(ran, "k=1"))
        writer.put("other", _recorder(ran, "other"))
        writer.put("k", _recorder(ran, "k=2"))
        writer.append(_recorder(ran, "log"))
        assert writer.pending() == 3
        writer.maybe_flush()  # the interval has not passed: nothing written yet
        assert ran == []
        assert writer.wait_idle()
        assert [value for value, _ in ran] == ["other", "k=2", "log"]
        prefix = "given-pool" if kind == "thread_pool" else "adapter-worker"
        assert all(thread.startswith(prefix) for _, thread in ran)
        if kind == "adapter":
            assert adapter.submitted == 1
    finally:
        writer.close()
        pool.shutdown()
        db.dispose()


def test_a_flush_requested_during_a_flush_is_picked_up_by_it(path: Path) -> None:
    db = Database(path)
    adapter = AdapterExecutor()
    writer = BatchWriter(db.engine, adapter, interval=3600)
    started, release = threading.Event(), threading.Event()
    ran: list[tuple[str, str]] = []

    def slow(_conn: Connection) -> None:
        started.set()
        release.wait(30)

    try:
        writer.put("slow", slow)
        writer.flush()
        assert started.wait(30)
        writer.put("later", _recorder(ran, "later"))
        writer.flush()  # one transaction at a time: no second flush starts now
        assert adapter.submitted == 1
        release.set()
        assert writer.wait_idle()
        assert [value for value, _ in ran] == ["later"]
        assert adapter.submitted == 1  # the running flush took the new row itself
    finally:
        release.set()
        writer.close()
        db.dispose()


BATCHED_TABLES = ("positions", "orders", "contract_cache", "session_state", "enforcement_log")


def test_batched_rows_land_when_flushed_on_the_given_executor(path: Path, stores: Stores) -> None:
    adapter = AdapterExecutor()
    store = stores.open(path, executor=adapter, batch_interval=3600)
    cfg = config({"max_contracts": {"limit": 1}})
    engine, _, _ = make_engine(cfg, store=store, with_contracts=False)
    mnq = next(c for c in live_contracts() if c.contract_id == MNQ)
    engine.contracts.put(mnq)
    engine.handle(trade(None, at=T0, trade_id=7))  # an entry: the session starts
    engine.handle(position(MNQ, 2, 20000.0))  # RULE-001 cuts it back: an enforcement row
    engine.handle(order(MNQ, side=1, type=4, stop_price=19990.0, order_id=900))
    gone = order(MNQ, side=1, type=1, limit_price=20010.0, order_id=901)
    engine.handle(gone)
    engine.handle(order(MNQ, side=1, type=1, limit_price=20010.0, order_id=901, status=3))
    engine.tick()
    for table in BATCHED_TABLES:
        assert rows(path, f"SELECT count(*) FROM {table}") == [(0,)], table
    engine.flush()
    assert adapter.submitted >= 1
    assert rows(path, "SELECT account_id, contract_id, type, size, average_price FROM positions") == [
        (ACCOUNT, MNQ, 1, 2, 20000.0)
    ]
    assert rows(path, "SELECT order_id, type, stop_price FROM orders") == [(900, 4, 19990.0)]
    assert rows(path, "SELECT contract_id, tick_size, tick_value FROM contract_cache") == [
        (MNQ, mnq.tick_size, mnq.tick_value)
    ]
    session_start = engine.counter.session_start(ACCOUNT)
    assert session_start is not None
    assert rows(path, "SELECT account_id, session_start, trading_day FROM session_state") == [
        (ACCOUNT, session_start.isoformat(), "2026-08-19")
    ]
    assert rows(path, "SELECT account_id, rule_id, action, outcome FROM enforcement_log") == [
        (ACCOUNT, "RULE-001", "partial_close", "issued")
    ]
    engine.handle(position(MNQ, 0, 0.0))
    engine.handle(order(MNQ, side=1, type=4, stop_price=19990.0, order_id=900, status=4))
    engine.flush()
    assert rows(path, "SELECT count(*) FROM positions") == [(0,)]
    assert rows(path, "SELECT count(*) FROM orders") == [(0,)]


def test_one_bad_batched_row_does_not_lose_the_rest_of_the_batch(path: Path) -> None:
    db = Database(path)
    writer = BatchWriter(db.engine, interval=3600)
    ran: list[tuple[str, str]] = []

    def bad(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO positions (account_id) VALUES (1)")  # NOT NULL fails

    def good(conn: Connection) -> None:
        ran.append(("good", ""))
        conn.exec_driver_sql(
            "INSERT INTO session_state VALUES (1, '2026-08-18T22:00:00+00:00', '2026-08-19', 'x')"
        )

    try:
        writer.put("bad", bad)
        writer.put("good", good)
        writer.append(_recorder(ran, "log"))
        assert writer.wait_idle()
        assert writer.pending() == 0  # the bad row is dropped (logged), not retried forever
    finally:
        writer.close()
        db.dispose()
    assert rows(path, "SELECT account_id FROM session_state") == [(1,)]
    assert rows(path, "SELECT count(*) FROM positions") == [(0,)]
    assert [value for value, _ in ran][-1] == "log"
