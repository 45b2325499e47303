"""The optional admin password that guards loosening the rules (SPEC section 3, config changes).

Only a salted scrypt hash is kept, in a small JSON file in the config directory, with the
parameters it was made with, so the cost can be raised later without breaking old files.
The password itself is never written anywhere.

A damaged file still counts as a password being set: a broken file must not quietly remove
the gate. Nothing then verifies, and the error names the file to delete to start over.
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
from pathlib import Path
from typing import Any

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


class AdminPassword:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, config_path: Path) -> AdminPassword:
        """The password file that belongs to a config file: the same directory."""
        return cls(config_path.parent / FILE_NAME)

    def is_set(self) -> bool:
        return self.path.exists()

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
            log.warning("admin password file %s cannot be checked: %s", self.path, exc)
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
        write_text_atomic(self.path, json.dumps(record, indent=2) + "\n")

    def clear(self, current: str) -> None:
        """Remove the password (protection changes no longer ask for one)."""
        self._check_current(current)
        self.path.unlink(missing_ok=True)

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
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._damaged(f"cannot be read ({exc.strerror})") from None
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
        return AdminPasswordError(
            f"the admin password file {self.path} {why}; delete it to set a new password"
        )


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # NFC: the same password typed on another keyboard or OS must give the same bytes.
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(
        secret, salt=salt, n=n, r=r, p=p, dklen=length, maxmem=128 * n * r * p + 1024 * 1024
    )
