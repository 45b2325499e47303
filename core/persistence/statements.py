"""Small SQL building blocks the state store and its loader share: time columns as text,
and insert/upsert/delete statements built once per table."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable, Table, bindparam, delete
from sqlalchemy.dialects.sqlite import insert

from core.persistence.writers import Work


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> str:
    # Audit column only; decisions never read it, so the wall clock is fine here.
    return datetime.now(UTC).isoformat()


def _insert(table: Table, values: dict[str, Any]) -> Work:
    stmt = table.insert()

    def work(conn: Connection) -> None:
        conn.execute(stmt, values)

    return work


@functools.cache
def _upsert_statement(table: Table, keys: tuple[str, ...]) -> Executable:
    """Built once per table: compiling a statement per row cost the event loop ~200 µs/event."""
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )


@functools.cache
def _delete_statement(table: Table, keys: tuple[str, ...]) -> Executable:
    return delete(table).where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))


def _upsert(table: Table, values: dict[str, Any], keys: list[str]) -> Work:
    stmt = _upsert_statement(table, tuple(keys))

    def work(conn: Connection) -> None:
        conn.execute(stmt, values)

    return work


def _delete(table: Table, **keys: Any) -> Work:
    stmt = _delete_statement(table, tuple(keys))
    params = {f"key_{k}": v for k, v in keys.items()}

    def work(conn: Connection) -> None:
        conn.execute(stmt, params)

    return work
