"""The alert secrets' store for the app: the OS keyring, with the API key's fallback.

On a desktop with a keyring, secrets go there (service ``RiskManager``, entries
``alerts.<service>.<secret>``), exactly as :class:`KeyringSecretStore` keeps them. On a desktop
without one (no secret service), they may go, with the trader's consent, into a file only this
user can read, beside the API key's file (``alert-secrets.json`` in the user's config folder),
written the same way (:func:`core.app.credentials.write_private_json`). Reading looks in the
keyring first, then in the file, so a secret saved while the keyring was missing is still found.

Blocking calls, like the keyring's: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_config_dir

from core.app.alerts.secrets import KeyringSecretStore, SecretStoreError
from core.app.credentials import keyring_available, write_private_json
from core.config.io import APP_DIR_NAME

FILE_NAME = "alert-secrets.json"


def default_secrets_file() -> Path:
    return Path(user_config_dir(APP_DIR_NAME, appauthor=False)) / FILE_NAME


class KeyringOrFileSecretStore:
    """A :class:`~core.app.alerts.secrets.SecretStore`. ``allow_file``: the trader agreed to
    keep secrets in the file when there is no keyring (the settings page asks)."""

    def __init__(self, path: Path | None = None, *,
                 keyring_ok: Callable[[], bool] = keyring_available,
                 allow_file: bool = False) -> None:
        self.path = path or default_secrets_file()
        self.keyring = KeyringSecretStore()
        self._keyring_ok = keyring_ok
        self.allow_file = allow_file

    @property
    def has_keyring(self) -> bool:
        return self._keyring_ok()

    def where(self) -> str:
        """Where a secret saved now goes, in words for the settings page."""
        if self.has_keyring:
            return "the OS keyring"
        return f"a file only your user account can read ({self.path})"

    # --- the store ---------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        problem: SecretStoreError | None = None
        if self.has_keyring:
            try:
                value = self.keyring.get(name)
            except SecretStoreError as exc:
                problem = exc  # a keyring that fails now: the file may still hold it
            else:
                if value:
                    return value
        value = self._read().get(name)
        if value is None and problem is not None:
            raise problem
        return value

    def set(self, name: str, value: str) -> None:
        if self.has_keyring:
            try:
                self.keyring.set(name, value)
            except SecretStoreError:
                if not self.allow_file:
                    raise
            else:
                self._forget_in_file(name)  # the keyring's copy wins: no stale second copy
                return
        if not self.allow_file:
            raise SecretStoreError(
                "this computer has no keyring to keep it in; agree to keep alert secrets in a "
                f"file only your user account can read ({self.path}) to save it"
            )
        values = self._read()
        values[name] = value
        self._write(values)

    def delete(self, name: str) -> bool:
        removed = False
        if self.has_keyring:
            try:
                removed = self.keyring.delete(name)
            except SecretStoreError:
                if not self.path.exists():
                    raise
        return self._forget_in_file(name) or removed

    # --- the file ----------------------------------------------------------------------------

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecretStoreError(f"the alert secrets file {self.path} cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise SecretStoreError(f"the alert secrets file {self.path} is not what the app wrote")
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def _write(self, values: dict[str, str]) -> None:
        try:
            write_private_json(self.path, values)
        except OSError as exc:
            raise SecretStoreError(
                f"could not write the alert secrets file {self.path}: {exc.strerror or exc}"
            ) from None

    def _forget_in_file(self, name: str) -> bool:
        if not self.path.exists():
            return False
        values = self._read()
        if name not in values:
            return False
        del values[name]
        if values:
            self._write(values)
        else:
            self.path.unlink(missing_ok=True)
        return True
