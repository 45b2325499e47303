"""Username and API key lookup, with a file-backed fake keyring (never the real OS keyring)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from core.app.credentials import (
    KEYRING_SERVICE,
    Credentials,
    CredentialsError,
    delete_api_key,
    load_api_key,
    load_credentials,
    resolve_username,
    store_api_key,
)

USER = "trader@example.com"
KEY = "pk_test_9f8e7d6c5b4a"


class FileKeyring(KeyringBackend):
    """Stores passwords in one JSON file under tmp_path."""

    priority = 1

    def __init__(self, path: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError("not found")
        self.path.write_text(json.dumps(data))


class BrokenKeyring(FileKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.NoKeyringError("no secret service on this machine")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")


@pytest.fixture
def fake_keyring(tmp_path: Path) -> Iterator[FileKeyring]:
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_env_key_wins_over_the_keyring(fake_keyring: FileKeyring) -> None:
    store_api_key(USER, "from-keyring-123")
    assert load_api_key(USER, env={"PROJECTX_API_KEY": KEY}) == KEY


def test_keyring_is_used_when_env_is_unset(fake_keyring: FileKeyring) -> None:
    store_api_key(USER, f"  {KEY}\n")
    assert load_api_key(USER, env={}) == KEY
    stored = json.loads(fake_keyring.path.read_text())
    assert stored == {f"{KEYRING_SERVICE}/{USER}": KEY}


def test_missing_key_names_both_places(fake_keyring: FileKeyring) -> None:
    with pytest.raises(CredentialsError, match="PROJECTX_API_KEY") as caught:
        load_api_key(USER, env={"PROJECTX_API_KEY": "   "})
    assert "keyring" in str(caught.value) and USER in str(caught.value)


def test_unavailable_keyring_is_a_clear_error(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring(tmp_path / "k.json"))
    try:
        with pytest.raises(CredentialsError, match="PROJECTX_API_KEY"):
            load_api_key(USER, env={})
        with pytest.raises(CredentialsError, match="PROJECTX_API_KEY"):
            store_api_key(USER, KEY)
        assert load_api_key(USER, env={"PROJECTX_API_KEY": KEY}) == KEY
    finally:
        keyring.set_keyring(previous)


def test_username_from_config_then_env() -> None:
    assert resolve_username(USER, env={"PROJECTX_USERNAME": "other"}) == USER
    assert resolve_username("", env={"PROJECTX_USERNAME": " other "}) == "other"
    assert resolve_username(None, env={"PROJECTX_USERNAME": "other"}) == "other"
    with pytest.raises(CredentialsError, match="PROJECTX_USERNAME"):
        resolve_username("  ", env={})


def test_load_credentials_and_the_key_stays_out_of_repr(fake_keyring: FileKeyring) -> None:
    store_api_key(USER, KEY)
    creds = load_credentials(None, env={"PROJECTX_USERNAME": USER})
    assert creds == Credentials(USER, KEY)
    assert KEY not in repr(creds)


def test_store_refuses_empty_values(fake_keyring: FileKeyring) -> None:
    with pytest.raises(CredentialsError):
        store_api_key(USER, "  ")
    with pytest.raises(CredentialsError):
        store_api_key("", KEY)


def test_delete_api_key(fake_keyring: FileKeyring) -> None:
    store_api_key(USER, KEY)
    assert delete_api_key(USER) is True
    assert delete_api_key(USER) is False
    with pytest.raises(CredentialsError):
        load_api_key(USER, env={})
