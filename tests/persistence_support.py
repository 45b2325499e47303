"""Helpers shared by the persistence and crash tests: raw reads and stores that get closed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.persistence.store import StateStore
from tests.builders import open_store


def rows(path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read through a brand-new connection: only what is committed is visible."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def execute(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


class Stores:
    """Opens StateStores on files and closes every one of them at teardown."""

    def __init__(self) -> None:
        self._open: list[StateStore] = []

    def open(self, path: Path, **kwargs: Any) -> StateStore:
        store = open_store(path, **kwargs)
        self._open.append(store)
        return store

    def close(self, store: StateStore) -> None:
        self._open.remove(store)
        store.close()

    def close_all(self) -> None:
        while self._open:
            self._open.pop().close()


@contextmanager
def store_pool() -> Iterator[Stores]:
    pool = Stores()
    try:
        yield pool
    finally:
        pool.close_all()
