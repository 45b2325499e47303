"""The alerts' secrets kept by the same rules as the API key (:mod:`core.app.credentials`).

The OS keyring first (service ``RiskManager``, one entry per secret). On a computer with no
keyring (a desktop without a secret service, a server) they go to a file only this user can
read, beside the API key's key file: ``alert-secrets.json`` in the user's config folder (mode
0600 on Linux and macOS, the user's own profile folder on Windows). A keyring that exists but
fails on a call is an error, as it is for the API key: the secrets are not written to a file
behind the trader's back.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from core.app.alerts.secrets import KEYRING_SERVICE, KeyringSecretStore, SecretStoreError
from core.app.credentials import default_key_file, keyring_available

FILE_NAME = "alert-secrets.json"


def default_secrets_file() -> Path:
    return default_key_file().with_name(FILE_NAME)


class AppSecretStore:
    """A :class:`core.app.alerts.SecretStore`: the keyring when there is one, else the file."""

    def __init__(self, path: Path | None = None,
                 has_keyring: Callable[[], bool] = keyring_available) -> None:
        self.path = path or default_secrets_file()
        self._has_keyring = has_keyring
        self._keyring = KeyringSecretStore(KEYRING_SERVICE)

    def _use_keyring(self) -> bool:
        return self._has_keyring()

    def get(self, name: str) -> str | None:
        if self._use_keyring():
            try:
                value = self._keyring.get(name)
            except SecretStoreError:
                value = None  # fall through to the file, as the API key does
            if value:
                return value
        return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        if self._use_keyring():
            self._keyring.set(name, value)  # raises SecretStoreError, naming the keyring
            self._drop_from_file(name)
            return
        values = self._read()
        values[name] = value
        self._write(values)

    def delete(self, name: str) -> bool:
        removed = False
        if self._use_keyring():
            try:
                removed = self._keyring.delete(name)
            except SecretStoreError:
                removed = False
        return self._drop_from_file(name) or removed

    # --- the file ----------------------------------------------------------------------------

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecretStoreError(f"the alert secrets file {self.path} cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise SecretStoreError(f"the alert secrets file {self.path} is damaged")
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def _drop_from_file(self, name: str) -> bool:
        try:
            values = self._read()
        except SecretStoreError:
            return False
        if name not in values:
            return False
        del values[name]
        self._write(values)
        return True

    def _write(self, values: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(tmp, flags, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if sys.platform != "win32":
                    os.fchmod(handle.fileno(), 0o600)  # an old file's wider mode is not kept
                json.dump(values, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SecretStoreError(f"could not write the alert secrets file {self.path}: "
                                   f"{exc.strerror}") from None

