"""The alert secrets in the OS keyring (a file-backed fake backend here, never the real one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from core.app.alerts.secrets import (
    KEYRING_SERVICE,
    SECRET_FIELDS,
    KeyringSecretStore,
    SecretStoreError,
    check_secret,
    load_all_secrets,
    save_secret,
)
from core.config.alerts import SECRET_KEYS
from tests.gateway.test_credentials import BrokenKeyring, FileKeyring


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[FileKeyring]:
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_secrets_are_stored_in_the_keyring_under_the_apps_service(file_keyring: FileKeyring) -> None:
    store = KeyringSecretStore()
    save_secret(store, "discord", "webhook_url", "  https://discord.com/api/webhooks/1/abc  ")
    save_secret(store, "ntfy", "topic", "my-topic_123")
    assert keyring.get_password(KEYRING_SERVICE, "alerts.discord.webhook_url") == (
        "https://discord.com/api/webhooks/1/abc"
    )
    assert load_all_secrets(store)["ntfy"] == {"topic": "my-topic_123"}
    assert load_all_secrets(store)["telegram"] == {}
    save_secret(store, "ntfy", "topic", "")  # empty: forget it
    assert load_all_secrets(store)["ntfy"] == {}
    assert store.delete("alerts.ntfy.topic") is False


def test_a_keyring_that_cannot_be_used_says_so(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring(tmp_path / "k.json"))
    try:
        with pytest.raises(SecretStoreError, match="OS keyring cannot be read"):
            KeyringSecretStore().get("alerts.discord.webhook_url")
        with pytest.raises(SecretStoreError, match="could not save"):
            KeyringSecretStore().set("alerts.discord.webhook_url", "https://x")
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize(
    ("service", "key", "value", "words"),
    [
        ("discord", "webhook_url", "discord.com/api/webhooks/1/abc", "should start with https://"),
        ("webhook", "url", "ftp://example.com", "should start with https://"),
        ("ntfy", "topic", "my topic", "1 to 64 letters"),
        ("ntfy", "topic", "a/b", "1 to 64 letters"),
        ("telegram", "bot_token", "no-colon-here", "copy it whole"),
    ],
)
def test_a_malformed_secret_is_refused_in_plain_words(
    service: str, key: str, value: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        check_secret(service, key, value)


def test_the_settings_page_gets_a_described_field_per_secret() -> None:
    assert {s: tuple(f.key for f in fields) for s, fields in SECRET_FIELDS.items()} == SECRET_KEYS
    for fields in SECRET_FIELDS.values():
        for field in fields:
            assert field.title and field.description
            assert field.name == f"alerts.{field.service}.{field.key}"
