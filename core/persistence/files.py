"""The state file on disk: readable by this user only, checked before it is trusted, and set
aside (never deleted) when it is damaged.

A damaged ``state.db`` must not stop the app (no protection at all) nor be silently reused (a
half-readable lock table is worse than none): it is renamed beside itself with the time, its
``-wal`` with it (a stale write-ahead log next to a new file would be replayed into it), and a
new file is started. What the new file lacks is rebuilt from the gateway's trade history by the
service, which says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
SIDECARS = ("-wal", "-shm", "-journal")
# SQLite's primary result codes that mean "this is not a readable database".
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class StateFileDamaged(Exception):
    """The state file cannot be read as a database; the message says why."""


def private_dir(path: Path, narrow: bool = False) -> None:
    """Create ``path`` (and its parents) if needed; a folder made here is this user's only.
    ``narrow``: an existing folder that is the app's own is narrowed to 0700 too (never a
    folder the trader chose, which may hold other things)."""
    if path.is_dir():
        if narrow:
            with contextlib.suppress(OSError):
                if path.stat().st_mode & 0o077:
                    _chmod(path, PRIVATE_DIR)
        return
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _chmod(path, PRIVATE_DIR)  # mkdir's mode passes through the umask


def private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if it does not exist (True), else narrow its mode
    to 0600 (False). SQLite gives its -wal and -shm files the database file's mode."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE)
    except FileExistsError:
        _narrow(path)
        for suffix in SIDECARS:
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                _narrow(sidecar)
        return False
    os.close(fd)
    _chmod(path, PRIVATE_FILE)
    return True


def _narrow(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            _chmod(path, PRIVATE_FILE)


def _chmod(path: Path, mode: int) -> None:
    if sys.platform == "win32":  # the user's profile folder is private already; no POSIX modes
        return
    with contextlib.suppress(OSError):
        os.chmod(path, mode)


def check_integrity(path: Path) -> None:
    """Raise :class:`StateFileDamaged` when ``path`` is not a sound SQLite database.

    ``PRAGMA quick_check`` reads every page (what a damaged sector or a half-written copy breaks)
    without the index cross-checks that make ``integrity_check`` slow. A file another process
    holds locked is not damaged: that error is raised as it is.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0)
    except sqlite3.DatabaseError as exc:
        _raise_if_damaged(exc)
        raise
    try:
        result = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        _raise_if_damaged(exc)
        raise
    finally:
        conn.close()
    if result != ["ok"]:
        raise StateFileDamaged("; ".join(str(r) for r in result[:3]))


def _raise_if_damaged(exc: sqlite3.DatabaseError) -> None:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or (
        primary is None and any(w in str(exc) for w in ("not a database", "malformed"))
    ):
        raise StateFileDamaged(str(exc)) from None


def set_aside(path: Path, label: str = "damaged") -> Path:
    """Rename the file and its sidecars to ``<name>.<label>-<UTC time>``; returns the new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{label}-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.{label}-{stamp}-{n}")
    os.replace(path, target)
    for suffix in SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            if suffix == "-shm":  # shared memory index, rebuilt from the -wal: nothing to keep
                sidecar.unlink(missing_ok=True)
            else:
                os.replace(sidecar, target.with_name(target.name + suffix))
    return target


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` (WAL included) as ``target``, mode 0600."""
    private_dir(target.parent)
    tmp = target.with_name(target.name + ".copying")
    tmp.unlink(missing_ok=True)
    private_file(tmp)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=5.0)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    for suffix in SIDECARS:
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(tmp, target)
