"""Opening the state file: private to the user, checked for damage (a damaged file is set aside
and a new one started), WAL, synchronous FULL, schema creation and versioned migration."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.exc import DatabaseError as SqlDatabaseError
from sqlalchemy.pool import NullPool

from core.persistence import schema
from core.persistence.files import (
    StateFileDamaged,
    check_integrity,
    private_dir,
    private_file,
    set_aside,
)

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    pass


# From schema version N to N + 1, in order. Tables created since are made by create_all.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: ("ALTER TABLE trade_history ADD COLUMN commissions VARCHAR",),
    2: (),  # mll_state is a new table: create_all makes it
    3: (),  # app_state is a new table: create_all makes it
}


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed lock or trade survives power loss, not only a process crash.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class Database:
    """One SQLite file. Each writer thread opens its own connection from ``engine``.

    ``created``: the file did not exist before this open (a first run, a deleted file, or a
    damaged one set aside). ``set_aside``: where a damaged file went, with ``damage`` saying
    what was wrong with it.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.set_aside: Path | None = None
        self.damage = ""
        private_dir(self.path.parent)
        if self.path.exists():
            try:
                check_integrity(self.path)
            except StateFileDamaged as exc:
                self._set_damaged_aside(str(exc))
        self.created = private_file(self.path)
        self.engine = self._open()
        try:
            self._migrate()
        except SqlDatabaseError as exc:
            # Damage the quick check did not see (a table's own pages): the same remedy.
            if not _damaged(exc):
                raise
            self.engine.dispose()
            self._set_damaged_aside(str(exc.orig or exc))
            self.created = private_file(self.path)
            self.engine = self._open()
            self._migrate()

    def _open(self) -> Engine:
        # NullPool: a connection per user; writers hold theirs for their lifetime.
        engine = create_engine(f"sqlite:///{self.path}", poolclass=NullPool)
        event.listen(engine, "connect", _on_connect)
        return engine

    def _set_damaged_aside(self, why: str) -> None:
        self.damage = why
        self.set_aside = set_aside(self.path)
        log.critical(
            "the state file %s is damaged (%s): kept as %s; a new one is started and today's "
            "P&L and locks are rebuilt from the gateway's trade history", self.path, why, self.set_aside,
        )

    def _current_version(self) -> int | None:
        with self.engine.connect() as conn:
            has_table = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
            ).first()
            if not has_table:
                return None
            row = conn.execute(
                select(schema.schema_version.c.version)
                .order_by(schema.schema_version.c.version.desc())
                .limit(1)
            ).first()
            return int(row[0]) if row else None

    def _migrate(self) -> None:
        version = self._current_version()
        if version is not None and version > schema.SCHEMA_VERSION:
            raise SchemaError(
                f"{self.path} was written by a newer version (schema {version}); "
                f"this one reads schema {schema.SCHEMA_VERSION}"
            )
        if version is not None and version < min(_MIGRATIONS):
            raise SchemaError(f"{self.path} has schema {version}: no upgrade path from it")
        if version is not None and version < schema.SCHEMA_VERSION:
            backup = self._backup(version)
            log.info("state file backed up to %s before migrating", backup)
            with self.engine.begin() as conn:  # every step or none
                for step in range(version, schema.SCHEMA_VERSION):
                    for statement in _MIGRATIONS[step]:
                        conn.exec_driver_sql(statement)
        schema.metadata.create_all(self.engine)
        if version != schema.SCHEMA_VERSION:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(schema.schema_version).values(
                        version=schema.SCHEMA_VERSION,
                        applied_at=datetime.now(UTC).isoformat(),
                    )
                )

    def _backup(self, version: int) -> Path:
        """Copy what is committed, WAL included, into one self-contained file.

        A byte copy of the main file would miss transactions still in ``-wal`` (another
        connection holding the file open keeps them from being checkpointed).
        """
        backup = self.path.with_suffix(f".v{version}.bak")
        private_file(backup)
        src = sqlite3.connect(self.path, timeout=5.0)
        try:
            dst = sqlite3.connect(backup)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        return backup

    def dispose(self) -> None:
        self.engine.dispose()


def _damaged(exc: SqlDatabaseError) -> bool:
    orig = exc.orig
    if not isinstance(orig, sqlite3.DatabaseError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB
    return "malformed" in str(orig) or "not a database" in str(orig)
