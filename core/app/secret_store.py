"""The alerts' secrets, kept by the same rules as the API key (:mod:`core.app.credentials`).

The one store the app has for them, used by the tray app (the settings window's Alerts page
writes, the dispatcher reads) and by headless mode (which only reads):

- The OS keyring first: service ``RiskManager``, one entry per secret named
  ``alerts.<service>.<secret>`` (``alerts.discord.webhook_url``), beside the API key.
- On a computer with no keyring (a desktop without a secret service, a server), and only with
  the trader's consent (``allow_file``: the settings page asks), a file only this user can read,
  beside the API key's key file: ``alert-secrets.json`` in the user's config folder (mode 0600
  on Linux and macOS, the user's own profile folder on Windows), written whole or not at all.
- Reading needs no consent: the keyring first, then the file, so a secret saved while the
  keyring was missing is still found (headless, with no keyring, reads what the tray app saved).
  A keyring that exists but fails is an error when the file does not hold the secret either:
  the secret is never written to a file behind the trader's back.

Blocking calls, like the keyring's: callers on the event loop run them in a thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from core.app.alerts.secrets import KEYRING_SERVICE, KeyringSecretStore, SecretStoreError
from core.app.credentials import default_key_file, keyring_available, write_private_json

FILE_NAME = "alert-secrets.json"


def default_secrets_file() -> Path:
    """Beside the API key's file, in the user's config folder."""
    return default_key_file().with_name(FILE_NAME)


class AppSecretStore:
    """A :class:`core.app.alerts.SecretStore`: the keyring when there is one, else (with
    consent) the user-only file."""

    def __init__(self, path: Path | None = None, *,
                 has_keyring: Callable[[], bool] = keyring_available,
                 allow_file: bool = False) -> None:
        self.path = path or default_secrets_file()
        self.keyring = KeyringSecretStore(KEYRING_SERVICE)
        self._has_keyring = has_keyring
        self.allow_file = allow_file

    @property
    def has_keyring(self) -> bool:
        return self._has_keyring()

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
