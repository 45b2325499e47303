"""The optional admin password that guards loosening the rules (SPEC section 3, config changes).

Only a salted scrypt hash is kept, with the parameters it was made with, so the cost can be
raised later without breaking old records. The password itself is never written anywhere.

Where the hash lives: with the config in force (:class:`core.app.config_vault.ConfigVault`,
in the state file and the anchor), so that deleting a file removes nothing. There, removing
the password is a loosening like any other: it takes effect at the next daily reset (the
password is still asked for until then). Without a vault (tests, tools) the hash is a small
JSON file in the config directory, ``admin_password.json``, as earlier versions kept it; a
vault takes that file over once and deletes it.

A damaged record still counts as a password being set: a broken record must not quietly
remove the gate. Nothing then verifies, and the error says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from core.config.io import write_text_atomic

log = logging.getLogger(__name__)

FILE_NAME = "admin_password.json"
# scrypt cost: n=2**14, r=8, p=1 takes about 50 ms and 16 MiB, the interactive-login setting
# recommended by scrypt's author; slow enough to make guessing costly, quick for a dialog.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
# A file asking for more memory than this is not ours (or is hostile): refuse, don't allocate.
MAX_MEMORY = 64 * 1024 * 1024


class AdminPasswordError(Exception):
    """The password could not be set or cleared; the message says why, for the trader."""


class WrongPasswordError(AdminPasswordError):
    def __init__(self) -> None:
        super().__init__("the admin password is not correct")


@dataclass(frozen=True, slots=True)
class _Hash:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


class HashStore(Protocol):
    """Where the hash record lives: its JSON text, or None when no password is set."""

    @property
    def where(self) -> str:
        """For messages: "the admin password file …"."""
        ...

    def read(self) -> str | None: ...

    def write(self, text: str) -> None: ...

    def delete(self) -> None: ...


class FileHashStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return f"the admin password file {self.path}"

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, text: str) -> None:
        write_text_atomic(self.path, text)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class RemovalRule(Protocol):
    """How a removal waits: the vault records it and applies it at the next reset."""

    def removal_at(self) -> datetime | None: ...

    def request_removal(self) -> datetime: ...

    def withdraw_removal(self) -> None: ...


class AdminPassword:
    def __init__(self, path: Path | None = None, *, store: HashStore | None = None,
                 removal: RemovalRule | None = None) -> None:
        if store is None:
            if path is None:
                raise ValueError("AdminPassword needs a path or a store")
            store = FileHashStore(path)
        self.path = path
        self.store = store
        self.removal = removal  # None: removing takes effect at once

    @classmethod
    def beside(cls, config_path: Path) -> AdminPassword:
        """The password file that belongs to a config file: the same directory."""
        return cls(config_path.parent / FILE_NAME)

    def is_set(self) -> bool:
        try:
            return self.store.read() is not None
        except OSError:
            return True  # unreadable is not "no password"

    @property
    def removal_pending_at(self) -> datetime | None:
        """When a requested removal takes effect (the next reset), or None."""
        return self.removal.removal_at() if self.removal is not None and self.is_set() else None

    def verify(self, password: str) -> bool:
        """True only for the right password. Never raises for a wrong or damaged one."""
        try:
            stored = self._read()
        except AdminPasswordError as exc:
            log.warning("%s", exc)
            return False
        if stored is None:
            return False
        try:
            key = _derive(password, stored.salt, stored.n, stored.r, stored.p, len(stored.key))
        except (ValueError, MemoryError) as exc:
            log.warning("%s cannot be checked: %s", self.store.where, exc)
            return False
        return hmac.compare_digest(key, stored.key)

    def set(self, new_password: str, current: str | None = None) -> None:
        """Set or change the password. Changing one needs the current one."""
        if not new_password:
            raise AdminPasswordError("the admin password must not be empty")
        self._check_current(current)
        salt = secrets.token_bytes(SALT_BYTES)
        key = _derive(new_password, salt, N, R, P, KEY_BYTES)
        record = {
            "version": 1,
            "algorithm": "scrypt",
            "n": N,
            "r": R,
            "p": P,
            "salt": base64.b64encode(salt).decode("ascii"),
            "hash": base64.b64encode(key).decode("ascii"),
        }
        self.store.write(json.dumps(record, indent=2) + "\n")
        if self.removal is not None:
            self.removal.withdraw_removal()  # a new password is kept, not removed at the reset

    def clear(self, current: str) -> datetime | None:
        """Remove the password (loosening then no longer asks for one). With a removal rule
        the password stays in force until the next reset: returns when it goes (None: now)."""
        self._check_current(current)
        if self.removal is not None and self.is_set():
            return self.removal.request_removal()
        self.store.delete()
        return None

    def remove_now(self) -> None:
        """The removal's reset has come (the vault calls this)."""
        self.store.delete()

    # --- internals ----------------------------------------------------------------------------

    def _check_current(self, current: str | None) -> None:
        if not self.is_set():
            return
        if self._read() is None:  # raises, naming the file, when it is damaged
            return
        if current is None or not self.verify(current):
            raise WrongPasswordError()

    def _read(self) -> _Hash | None:
        try:
            text = self.store.read()
        except OSError as exc:
            raise self._damaged(f"cannot be read ({exc.strerror})") from None
        if text is None:
            return None
        try:
            data: Any = json.loads(text)
            if not isinstance(data, dict) or data.get("algorithm") != "scrypt":
                raise ValueError("not a scrypt record")
            n, r, p = int(data["n"]), int(data["r"]), int(data["p"])
            salt = base64.b64decode(data["salt"], validate=True)
            key = base64.b64decode(data["hash"], validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._damaged(f"is damaged ({exc})") from None
        if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or 128 * n * r > MAX_MEMORY:
            raise self._damaged("has impossible scrypt parameters")
        if len(salt) < 8 or len(key) < 16:
            raise self._damaged("holds a salt or hash that is too short")
        return _Hash(n, r, p, salt, key)

    def _damaged(self, why: str) -> AdminPasswordError:
        if self.path is not None:
            return AdminPasswordError(f"{self.store.where} {why}; delete it to set a new password")
        return AdminPasswordError(
            f"{self.store.where} {why}: nothing can verify it, so loosening stays closed"
        )


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # NFC: the same password typed on another keyboard or OS must give the same bytes.
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(
        secret, salt=salt, n=n, r=r, p=p, dklen=length, maxmem=128 * n * r * p + 1024 * 1024
    )
