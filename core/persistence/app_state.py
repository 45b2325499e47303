"""The ``app_state`` table: a few JSON values the app keeps beside the modules' state.

The config in force and the one waiting for the reset, the admin password's hash, autostart,
the run's heartbeat, a note that the file was rebuilt. These are read at start-up and written
when a setting changes (rarely, never on the event path), so reads and writes here are plain
synchronous transactions on their own short connection, durable (synchronous FULL) when they
return. The heartbeat, written every few seconds, goes through the batched writer instead
(:func:`put_work`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import delete, select

from core.persistence import schema
from core.persistence.database import Database
from core.persistence.statements import _now, _upsert
from core.persistence.writers import Work

log = logging.getLogger(__name__)


class AppState:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``; None when absent or unreadable (logged)."""
        t = schema.app_state
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t.c.value).where(t.c.key == key)).first()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (ValueError, RecursionError) as exc:
            log.error("the stored %s cannot be read (%s): ignored", key, exc)
            return None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON) under ``key``, durably, before returning."""
        work = put_work(key, value)
        with self.db.engine.begin() as conn:
            work(conn)

    def delete(self, key: str) -> None:
        t = schema.app_state
        with self.db.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.key == key))


def put_work(key: str, value: Any) -> Work:
    """The write of one value, for a writer (batched or critical) to run."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True)
    return _upsert(schema.app_state, {"key": key, "value": text, "updated_at": _now()}, ["key"])
