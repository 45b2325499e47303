"""The admin password: a salted scrypt hash on disk, never the password."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from core.app.admin_password import (
    FILE_NAME,
    AdminPassword,
    AdminPasswordError,
    WrongPasswordError,
)

SECRET = "correct horse battery staple"


@pytest.fixture
def admin(tmp_path: Path) -> AdminPassword:
    return AdminPassword.beside(tmp_path / "config.toml")


def test_lives_beside_the_config(tmp_path: Path) -> None:
    assert AdminPassword.beside(tmp_path / "cfg" / "config.toml").path == tmp_path / "cfg" / FILE_NAME


def test_not_set_at_first(admin: AdminPassword) -> None:
    assert not admin.is_set()
    assert not admin.verify("anything") and not admin.verify("")


def test_set_then_verify(admin: AdminPassword) -> None:
    admin.set(SECRET)
    assert admin.is_set()
    assert admin.verify(SECRET)
    assert not admin.verify("correct horse battery stapl")
    assert not admin.verify(SECRET + " ")
    assert not admin.verify("")


def test_the_file_holds_params_salt_and_hash_never_the_password(admin: AdminPassword) -> None:
    admin.set(SECRET)
    raw = admin.path.read_bytes()
    assert SECRET.encode() not in raw and b"horse" not in raw
    data = json.loads(raw)
    assert data["algorithm"] == "scrypt"
    assert (data["n"], data["r"], data["p"]) == (2**14, 8, 1)
    import base64

    assert len(base64.b64decode(data["salt"])) == 16
    assert len(base64.b64decode(data["hash"])) == 32
    assert set(data) == {"version", "algorithm", "n", "r", "p", "salt", "hash"}


def test_each_set_uses_a_fresh_salt(tmp_path: Path) -> None:
    a, b = AdminPassword(tmp_path / "a.json"), AdminPassword(tmp_path / "b.json")
    a.set(SECRET)
    b.set(SECRET)
    da, db = json.loads(a.path.read_text()), json.loads(b.path.read_text())
    assert da["salt"] != db["salt"] and da["hash"] != db["hash"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_only_the_owner_can_read_the_file(admin: AdminPassword) -> None:
    admin.set(SECRET)
    assert os.stat(admin.path).st_mode & 0o077 == 0


def test_a_new_instance_on_the_same_file_verifies(admin: AdminPassword) -> None:
    admin.set(SECRET)
    again = AdminPassword(admin.path)
    assert again.is_set() and again.verify(SECRET)


def test_unicode_is_normalised(admin: AdminPassword) -> None:
    admin.set("caf\u00e9")  # é precomposed
    assert admin.verify("cafe\u0301")  # e + combining accent, as some keyboards send it


def test_changing_needs_the_current_password(admin: AdminPassword) -> None:
    admin.set(SECRET)
    with pytest.raises(WrongPasswordError, match="not correct"):
        admin.set("new one")
    with pytest.raises(WrongPasswordError):
        admin.set("new one", current="wrong")
    assert admin.verify(SECRET)
    admin.set("new one", current=SECRET)
    assert admin.verify("new one") and not admin.verify(SECRET)


def test_clear_needs_the_current_password(admin: AdminPassword) -> None:
    admin.set(SECRET)
    with pytest.raises(WrongPasswordError):
        admin.clear("wrong")
    assert admin.is_set()
    admin.clear(SECRET)
    assert not admin.is_set() and not admin.path.exists()


def test_clear_when_not_set_is_harmless(admin: AdminPassword) -> None:
    admin.clear("whatever")
    assert not admin.is_set()


def test_an_empty_password_is_refused(admin: AdminPassword) -> None:
    with pytest.raises(AdminPasswordError, match="empty"):
        admin.set("")
    assert not admin.is_set()


def test_wrong_password_errors_are_admin_password_errors() -> None:
    assert issubclass(WrongPasswordError, AdminPasswordError)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"algorithm": "bcrypt"}',
        '{"algorithm": "scrypt", "n": 16384, "r": 8, "p": 1, "salt": "!!", "hash": "AAAA"}',
        # asks for 2**30 × 8 × 128 bytes: refused before any memory is taken
        '{"algorithm": "scrypt", "n": 1073741824, "r": 8, "p": 1, '
        '"salt": "AAAAAAAAAAAAAAAAAAAAAA==", "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
        '{"algorithm": "scrypt", "n": 1000, "r": 8, "p": 1, '
        '"salt": "AAAAAAAAAAAAAAAAAAAAAA==", "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}',
    ],
)
def test_a_damaged_file_still_guards_and_names_itself(admin: AdminPassword, content: str) -> None:
    admin.path.write_text(content)
    assert admin.is_set()  # a broken file must not quietly remove the gate
    assert not admin.verify(SECRET) and not admin.verify("")
    with pytest.raises(AdminPasswordError, match="delete it") as exc:
        admin.clear(SECRET)
    assert str(admin.path) in str(exc.value)
    with pytest.raises(AdminPasswordError, match="delete it"):
        admin.set("new")
    assert admin.path.read_text() == content


def test_a_failed_write_leaves_the_old_file(admin: AdminPassword, monkeypatch: pytest.MonkeyPatch) -> None:
    admin.set(SECRET)
    before = admin.path.read_text()

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        admin.set("other", current=SECRET)
    assert admin.path.read_text() == before
    assert [p.name for p in admin.path.parent.iterdir()] == [FILE_NAME]  # no temp file left
