"""The trader's history, day by day: breaches, locks, warnings and every enforcement action.

Enforcement actions are already kept across restarts in the state file's ``enforcement_log``
(one row when a command goes out, one per outcome). Breaches and locks are not history there:
the ``lockouts`` table holds only the locks in force. So this module keeps its own small
SQLite file beside the state file, ``history.db``, written off the event loop on the executor
the app already uses for its batched writes, and reads both files back as one list with one
row per action.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, create_engine, event
from sqlalchemy.engine import Engine as SqlEngine

from core.app.words import local_time, rule_name
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.words import duration, money
from core.engine.notices import (
    BreachDetected,
    LimitWarning,
    LockCleared,
    LockSet,
    LossWarning,
    SymbolLockCleared,
    SymbolLockSet,
)

log = logging.getLogger(__name__)

FILE_NAME = "history.db"

metadata = MetaData()
history_events = Table(
    "history_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String, nullable=False),  # UTC ISO-8601
    Column("account_id", Integer, nullable=False),
    Column("kind", String, nullable=False),  # breach, lock, unlock, warning
    Column("rule_id", String, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_history_events_at", "at"),
)

KIND_WORDS = {"breach": "Breach", "lock": "Locked", "unlock": "Lock lifted", "warning": "Warning"}


def open_history_db(path: Path) -> SqlEngine:
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # the history window reads while we write
        cursor.close()

    metadata.create_all(engine)
    return engine


class HistoryRecorder:
    """Writes breaches, locks and warnings to ``history.db`` as they are announced.

    The row is built on the event loop (cheap) and written on ``executor`` (one thread, in
    order); without an executor it is written at once (tests, tools). A failed write is
    logged and lost: history must never disturb enforcement.
    """

    def __init__(
        self,
        bus: EventBus,
        path: Path,
        clock: Clock,
        zone: str = "America/Chicago",
        executor: Executor | None = None,
    ) -> None:
        from zoneinfo import ZoneInfo

        self.path = path
        self._clock = clock
        self._zone = ZoneInfo(zone)
        self._executor = executor
        self._engine: SqlEngine | None = None
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self.on_notice)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._executor is not None:
            # Queued writes run before the dispose (the executor keeps submission order).
            self._executor.submit(self._dispose)
        else:
            self._dispose()

    def _dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def on_notice(self, notice: Any) -> None:
        row = self.row_for(notice)
        if row is None:
            return
        if self._executor is None:
            self._write(row)
        else:
            try:
                self._executor.submit(self._write, row)
            except RuntimeError:  # shutting down: the executor takes no more work
                log.warning("history not written (shutting down): %s", row["text"])

    def row_for(self, notice: Any) -> dict[str, Any] | None:
        now = self._clock.now()
        if isinstance(notice, BreachDetected):
            return _row(notice.at, notice.account_id, "breach", notice.rule_id, notice.reason)
        if isinstance(notice, LockSet):
            lock = notice.lock
            if lock.until is None:
                until = "until the gateway allows trading again"
            elif lock.kind.value == "cooldown":
                until = f"{duration((lock.until - lock.locked_at).total_seconds())} cooldown"
            else:
                until = f"until {local_time(lock.until, self._zone, with_day=True)}"
            return _row(lock.locked_at, lock.account_id, "lock", lock.rule_id,
                        f"{until}: {lock.reason}")
        if isinstance(notice, LockCleared):
            lock = notice.lock
            return _row(now, lock.account_id, "unlock", lock.rule_id, notice.why)
        if isinstance(notice, SymbolLockSet):
            slock = notice.lock
            return _row(slock.locked_at, slock.account_id, "lock", slock.rule_id,
                        f"{slock.symbol} blocked: {slock.reason}")
        if isinstance(notice, SymbolLockCleared):
            slock = notice.lock
            return _row(now, slock.account_id, "unlock", slock.rule_id, f"{slock.symbol} unblocked")
        if isinstance(notice, LossWarning):
            return _row(now, notice.account_id, "warning", "RULE-003",
                        f"daily loss {money(notice.net)} at {notice.fraction:.0%} of "
                        f"{money(-notice.limit)}")
        if isinstance(notice, LimitWarning):  # the Maximum Loss Limit guard's, a ladder's
            return _row(now, notice.account_id, "warning", notice.rule_id, notice.message)
        return None

    def _write(self, row: dict[str, Any]) -> None:
        try:
            if self._engine is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._engine = open_history_db(self.path)
            with self._engine.begin() as conn:
                conn.execute(history_events.insert(), row)
        except Exception:
            log.exception("could not write the history (%s)", row.get("text"))


def _row(at: datetime, account_id: int, kind: str, rule_id: str, text: str) -> dict[str, Any]:
    return {
        "at": at.astimezone(UTC).isoformat(),
        "account_id": account_id,
        "kind": kind,
        "rule_id": rule_id,
        "text": text,
    }


def describe_kind(kind: str, rule_id: str) -> tuple[str, str]:
    """(what, rule) for a history event row, in words."""
    return KIND_WORDS.get(kind, kind.capitalize()), rule_name(rule_id)
