"""One risk manager per user, whatever the mode: two copies would each close every breach.

An exclusive operating-system lock on a file in the user's data folder (not the configured
``data_dir``, nor next to the config: another ``--config`` or ``data_dir`` is still the same
trader). The lock belongs to the process: it is released when the process ends, however it
ends (a crash or a kill leaves nothing stale behind). The file names the holder (its process id
and mode) for the message the second copy gives.

The tray app still uses its local socket to bring a running tray's dashboard forward; this lock
is what stops a headless copy next to a tray, a tray next to a headless copy, or two headless.
The demo (its own simulated gateway, no real account) needs no lock.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

from platformdirs import user_data_dir

from core.config.io import APP_DIR_NAME

LOCK_NAME = "instance.lock"


class AlreadyRunning(RuntimeError):
    """Another copy holds the lock; the message says which and what to do."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(
            f"Risk Manager is already running for this user ({holder}). A second copy would "
            "close every breach twice; stop the running one first, or use it."
        )


def default_lock_path() -> Path:
    return Path(user_data_dir(APP_DIR_NAME, appauthor=False)) / LOCK_NAME


class InstanceLock:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_lock_path()
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self, mode: str) -> None:
        """Take the lock for this process (``mode``: "headless", "tray") or raise
        :class:`AlreadyRunning`."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "a+": never truncate the holder's line before the lock is ours.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 -- held for the process's life
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise AlreadyRunning(holder) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{mode}, process {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        with contextlib.suppress(OSError):
            _unlock(handle)
        handle.close()

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    _LOCKED_BYTE = 1 << 16  # far past the text: the holder's line stays readable to others

    def _lock(handle: IO[str]) -> None:
        os.lseek(handle.fileno(), _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        finally:
            os.lseek(handle.fileno(), 0, os.SEEK_SET)

    def _unlock(handle: IO[str]) -> None:
        os.lseek(handle.fileno(), _LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
