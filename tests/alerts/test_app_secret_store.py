"""The app's one alert secret store: the OS keyring, and on a computer without one (only with the
trader's consent) a file only their user account can read, as the API key's fallback works."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import keyring
import pytest

from core.app.alerts import SecretStoreError, save_secret
from core.app.alerts.secrets import KEYRING_SERVICE, load_secrets
from core.app.secret_store import AppSecretStore
from tests.gateway.test_credentials import BrokenKeyring, FileKeyring

NAME = "alerts.discord.webhook_url"
URL = "https://discord.com/api/webhooks/1/abc"


def test_with_a_keyring_the_secret_goes_there_and_not_in_a_file(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring(tmp_path / "keyring.json"))
    try:
        store = AppSecretStore(tmp_path / "alert-secrets.json", has_keyring=lambda: True)
        save_secret(store, "discord", "webhook_url", URL)
        assert keyring.get_password(KEYRING_SERVICE, NAME) == URL
        assert not store.path.exists() and store.where() == "the OS keyring"
        assert load_secrets(store, "discord") == {"webhook_url": URL}
        assert store.delete(NAME) and store.get(NAME) is None
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_it_asks_before_writing_a_file(tmp_path: Path) -> None:
    store = AppSecretStore(tmp_path / "cfg" / "alert-secrets.json", has_keyring=lambda: False)
    with pytest.raises(SecretStoreError, match="no keyring"):
        save_secret(store, "discord", "webhook_url", URL)
    assert not store.path.exists()
    store.allow_file = True
    save_secret(store, "discord", "webhook_url", URL)
    save_secret(store, "ntfy", "topic", "my-topic")
    assert json.loads(store.path.read_text()) == {NAME: URL, "alerts.ntfy.topic": "my-topic"}
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert str(store.path) in store.where()
    # Found again by a new store (the next start), consent or not: reading needs none.
    again = AppSecretStore(store.path, has_keyring=lambda: False)
    assert load_secrets(again, "discord") == {"webhook_url": URL}
    save_secret(again, "ntfy", "topic", "")  # empty: forget it
    assert json.loads(store.path.read_text()) == {NAME: URL}
    again.delete(NAME)
    assert not store.path.exists()


def test_a_keyring_that_fails_falls_back_to_the_file_it_may_use(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring(tmp_path / "k.json"))
    try:
        store = AppSecretStore(tmp_path / "alert-secrets.json", has_keyring=lambda: True)
        with pytest.raises(SecretStoreError, match="could not save"):
            store.set(NAME, URL)
        with pytest.raises(SecretStoreError, match="cannot be read"):
            store.get(NAME)  # nothing in a file either: the keyring's problem is the answer
        store.allow_file = True
        store.set(NAME, URL)
        assert store.get(NAME) == URL
    finally:
        keyring.set_keyring(previous)


def test_a_damaged_file_is_an_error_that_says_where(tmp_path: Path) -> None:
    path = tmp_path / "alert-secrets.json"
    path.write_text("[1, 2]")
    store = AppSecretStore(path, has_keyring=lambda: False)
    with pytest.raises(SecretStoreError, match=str(path)):
        store.get(NAME)
