"""First-run window: a login check through an injected coroutine, then the key's place (keyring,
a key file by consent, or the environment), then the limits that will apply (fakes, no network)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from core.app.admin_password import AdminPassword
from core.app.config_manager import ConfigManager
from core.app.credentials import (
    Credentials,
    KeyringUnavailable,
    load_credentials,
    read_key_file,
)
from core.config import AppConfig, load_config
from core.domain.clock import ManualClock
from core.gateway.errors import AuthError
from gui.first_run import (
    KEY_FILE,
    LIMITS,
    FirstRunWindow,
    limits_saver,
    manager_username_saver,
    username_saver,
)
from tests.builders import T0, default_config

USER, KEY = "trader@example.com", "k3y-abc123"


class Fakes:
    """The injected side effects, recorded."""

    def __init__(self, fail_login: Exception | None = None,
                 fail_store: Exception | None = None, keyring: bool = True) -> None:
        self.logins: list[tuple[str, str]] = []
        self.stored: list[tuple[str, str]] = []
        self.fail_login, self.fail_store = fail_login, fail_store
        self.keyring = keyring

    async def test_login(self, username: str, api_key: str) -> None:
        self.logins.append((username, api_key))
        if self.fail_login is not None:
            raise self.fail_login

    def store_key(self, username: str, api_key: str) -> None:
        if self.fail_store is not None:
            raise self.fail_store
        self.stored.append((username, api_key))


def make(qtbot: QtBot, path: Path, fakes: Fakes, **kwargs: Any) -> tuple[FirstRunWindow, list[Credentials]]:
    window = FirstRunWindow(fakes.test_login, username_saver(path), store_key=fakes.store_key,
                            keyring_ok=lambda: fakes.keyring, key_file=path.parent / "api-key.json",
                            save_limits=limits_saver(path), **kwargs)
    qtbot.addWidget(window)
    done: list[Credentials] = []
    window.completed.connect(done.append)
    return window, done


def fill(window: FirstRunWindow, username: str = USER, key: str = KEY) -> None:
    window.username_edit.setText(username)
    window.key_edit.setText(key)


async def login(window: FirstRunWindow) -> None:
    window.test_button.click()
    assert window.attempt is not None
    await window.attempt


async def test_a_working_login_stores_the_key_then_the_limits_are_confirmed(
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
    assert load_config(path).gateway.username == USER and KEY not in path.read_text()
    # Not done yet: the limits that will apply are shown first, never applied silently.
    assert done == [] and window.pages.currentIndex() == LIMITS
    page = window.limits_page
    assert (page.daily_loss.value(), page.contracts.value(), page.open_loss.value()) == (
        500.0, 5, 300.0)
    page.daily_loss.setValue(350.0)
    page.open_loss_on.setChecked(False)
    page.start_button.click()
    assert done == [Credentials(USER, KEY)]
    rules = load_config(path).rules
    assert rules.daily_realized_loss.enabled and rules.daily_realized_loss.limit == 350.0
    assert rules.max_contracts.enabled and rules.max_contracts.limit == 5
    assert not rules.daily_unrealized_loss.enabled
    # Everything else is the shipped default; the key is still not in the file.
    assert rules.cooldown_after_loss == default_config().rules.cooldown_after_loss
    assert KEY not in path.read_text()


async def test_a_refused_login_is_shown_in_plain_words_and_nothing_is_stored(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    # The gateway error names its code; a library could echo the request, key included.
    fakes = Fakes(fail_login=AuthError("Auth/loginKey", 3, f"refused for key {KEY}"))
    window, done = make(qtbot, path, fakes)
    fill(window)
    await login(window)
    assert not window.error_label.isHidden()
    text = window.error_label.text()
    assert text.startswith("Login failed: The gateway refused this username and API key")
    assert "(InvalidCredentials)" in text
    assert KEY not in text
    assert fakes.stored == [] and not path.exists() and done == []
    assert window.test_button.isEnabled() and window.key_edit.isEnabled()

    fakes.fail_login = None  # fixed (say, a new key): the second attempt goes through
    await login(window)
    assert window.error_label.isHidden() and window.pages.currentIndex() == LIMITS


async def test_a_network_failure_says_the_gateway_cannot_be_reached(
    qtbot: QtBot, tmp_path: Path
) -> None:
    fakes = Fakes(fail_login=OSError("connection refused"))
    window, done = make(qtbot, tmp_path / "config.toml", fakes)
    fill(window)
    await login(window)
    text = window.error_label.text()
    assert "Cannot reach the TopstepX gateway" in text and "connection refused" in text
    assert done == []


async def test_without_a_keyring_setup_still_finishes_with_a_key_file_by_consent(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    fakes = Fakes(keyring=False)
    window, done = make(qtbot, path, fakes)
    fill(window)
    await login(window)
    # The username is saved before anything else: the key's place is found by it.
    assert load_config(path).gateway.username == USER
    assert window.pages.currentIndex() == KEY_FILE and fakes.stored == []
    key_file = tmp_path / "api-key.json"
    assert not key_file.exists()  # nothing written without consent
    text = window.key_file_text.text()
    assert str(key_file) in text and "only your user account can read" in text
    window.save_file_button.click()
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert read_key_file(USER, key_file) == KEY and KEY not in path.read_text()
    assert window.pages.currentIndex() == LIMITS
    window.limits_page.start_button.click()
    assert done == [Credentials(USER, KEY)]
    # The next start finds the key without asking (no keyring, no environment variable).
    assert load_credentials(None, env={"PROJECTX_USERNAME": USER}, key_file=key_file).api_key == KEY


async def test_a_keyring_that_refuses_offers_the_key_file_and_declining_still_finishes(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    fakes = Fakes(fail_store=KeyringUnavailable("no secret service"))
    window, done = make(qtbot, path, fakes)
    fill(window)
    await login(window)
    assert window.pages.currentIndex() == KEY_FILE
    window.skip_file_button.click()  # no key file: used for this session only
    window.limits_page.start_button.click()
    assert done == [Credentials(USER, KEY)]
    assert not (tmp_path / "api-key.json").exists()
    assert load_config(path).gateway.username == USER


async def test_a_key_from_the_environment_is_used_and_stored_nowhere(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    fakes = Fakes(keyring=False)
    window, done = make(qtbot, path, fakes, env_key=f" {KEY} ")
    assert not window.key_edit.isEnabled() and not window.env_label.isHidden()
    assert KEY not in window.key_edit.text()
    window.username_edit.setText(USER)
    assert window.test_button.isEnabled()
    await login(window)
    assert fakes.logins == [(USER, KEY)] and fakes.stored == []
    assert window.pages.currentIndex() == LIMITS  # no key file question either
    window.limits_page.start_button.click()
    assert done == [Credentials(USER, KEY)] and not (tmp_path / "api-key.json").exists()


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
