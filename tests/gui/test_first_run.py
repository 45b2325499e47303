"""First-run window: a login check through an injected coroutine, then keyring + config (fakes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from core.app.admin_password import AdminPassword
from core.app.config_manager import ConfigManager
from core.app.credentials import CredentialsError
from core.config import AppConfig, load_config
from core.domain.clock import ManualClock
from core.gateway.errors import AuthError
from gui.first_run import MASK, FirstRunWindow, manager_username_saver, username_saver
from tests.builders import T0, default_config

USER, KEY = "trader@example.com", "k3y-abc123"


class Fakes:
    """The injected side effects, recorded."""

    def __init__(self, fail_login: Exception | None = None,
                 fail_store: Exception | None = None) -> None:
        self.logins: list[tuple[str, str]] = []
        self.stored: list[tuple[str, str]] = []
        self.fail_login, self.fail_store = fail_login, fail_store

    async def test_login(self, username: str, api_key: str) -> None:
        self.logins.append((username, api_key))
        if self.fail_login is not None:
            raise self.fail_login

    def store_key(self, username: str, api_key: str) -> None:
        if self.fail_store is not None:
            raise self.fail_store
        self.stored.append((username, api_key))


def make(qtbot: QtBot, path: Path, fakes: Fakes) -> tuple[FirstRunWindow, list[str]]:
    window = FirstRunWindow(fakes.test_login, username_saver(path), store_key=fakes.store_key)
    qtbot.addWidget(window)
    done: list[str] = []
    window.completed.connect(done.append)
    return window, done


def fill(window: FirstRunWindow, username: str = USER, key: str = KEY) -> None:
    window.username_edit.setText(username)
    window.key_edit.setText(key)


async def test_a_working_login_stores_the_key_and_the_username(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    fakes = Fakes()
    window, done = make(qtbot, path, fakes)
    fill(window, f"  {USER} ", KEY)
    window.test_button.click()
    assert window.busy and window.test_button.text() == "Testing…"
    assert not window.test_button.isEnabled() and not window.key_edit.isEnabled()
    assert window.attempt is not None
    await window.attempt
    assert fakes.logins == [(USER, KEY)] and fakes.stored == [(USER, KEY)]
    saved = load_config(path)
    assert saved.gateway.username == USER
    # Only the username changed from the shipped default; the key is not in the file.
    assert saved.rules == default_config().rules and KEY not in path.read_text()
    assert done == [USER] and window.error_label.isHidden()
    assert "Login works" in window.status_label.text()
    assert window.test_button.text() == "Test login"


async def test_a_refused_login_is_shown_and_nothing_is_stored(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    # The gateway error names its code; a library could echo the request, key included.
    fakes = Fakes(fail_login=AuthError("Auth/loginKey", 3, f"refused for key {KEY}"))
    window, done = make(qtbot, path, fakes)
    fill(window)
    window.test_button.click()
    assert window.attempt is not None
    await window.attempt
    assert not window.error_label.isHidden()
    text = window.error_label.text()
    assert text.startswith("Login failed") and "InvalidCredentials" in text
    assert KEY not in text and MASK in text  # the key never reaches the screen
    assert fakes.stored == [] and not path.exists() and done == []
    assert window.test_button.isEnabled() and window.key_edit.isEnabled()

    fakes.fail_login = None  # fixed (say, a new key): the second attempt goes through
    window.test_button.click()
    assert window.attempt is not None
    await window.attempt
    assert done == [USER] and window.error_label.isHidden()


async def test_a_network_failure_is_shown_too(qtbot: QtBot, tmp_path: Path) -> None:
    fakes = Fakes(fail_login=OSError("connection refused"))
    window, done = make(qtbot, tmp_path / "config.toml", fakes)
    fill(window)
    window.test_button.click()
    assert window.attempt is not None
    await window.attempt
    assert "connection refused" in window.error_label.text() and done == []


async def test_a_keyring_failure_is_shown_and_the_config_is_untouched(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    fakes = Fakes(fail_store=CredentialsError("could not save the API key in the OS keyring"))
    window, done = make(qtbot, path, fakes)
    fill(window)
    window.test_button.click()
    assert window.attempt is not None
    await window.attempt
    assert "the API key could not be saved" in window.error_label.text()
    assert done == [] and not path.exists()


async def test_closing_during_the_check_cancels_it(qtbot: QtBot, tmp_path: Path) -> None:
    never = asyncio.Event()
    stored: list[tuple[str, str]] = []

    async def slow(username: str, api_key: str) -> None:
        await never.wait()

    window = FirstRunWindow(slow, username_saver(tmp_path / "config.toml"),
                            store_key=lambda u, k: stored.append((u, k)))
    qtbot.addWidget(window)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    fill(window)
    window.test_button.click()
    await asyncio.sleep(0)
    window.close()
    assert window.attempt is not None
    with pytest.raises(asyncio.CancelledError):
        await window.attempt
    assert stored == [] and closed == [True]


def test_the_key_is_masked_and_the_button_needs_both_fields(qtbot: QtBot, tmp_path: Path) -> None:
    window, _ = make(qtbot, tmp_path / "config.toml", Fakes())
    assert window.key_edit.echoMode() is QLineEdit.EchoMode.Password
    assert not window.test_button.isEnabled()
    window.username_edit.setText(USER)
    assert not window.test_button.isEnabled()
    window.key_edit.setText("   ")
    assert not window.test_button.isEnabled()
    window.key_edit.setText(KEY)
    assert window.test_button.isEnabled()
    window.show_key.setChecked(True)
    assert window.key_edit.echoMode() is QLineEdit.EchoMode.Normal
    window.show_key.setChecked(False)
    assert window.key_edit.echoMode() is QLineEdit.EchoMode.Password


def test_without_a_running_loop_it_says_so_instead_of_blocking(
    qtbot: QtBot, tmp_path: Path
) -> None:
    fakes = Fakes()
    window, done = make(qtbot, tmp_path / "config.toml", fakes)
    fill(window)
    window.test_button.click()
    assert "event loop is not running" in window.error_label.text()
    assert fakes.logins == [] and done == [] and window.attempt is None


def test_the_username_goes_through_a_running_manager_keeping_waiting_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.toml"
    AdminPassword.beside(path).set("s3cret")
    manager = ConfigManager(path, clock=ManualClock(T0), config=default_config())
    data = manager.config.model_dump(mode="json")
    data["rules"]["daily_realized_loss"]["limit"] = 800
    manager.propose(AppConfig.model_validate(data), "s3cret")
    assert manager.pending is not None

    manager_username_saver(manager)(USER)
    assert manager.config.gateway.username == USER == load_config(path).gateway.username
    assert manager.pending is not None and manager.pending.rules.daily_realized_loss.limit == 800
