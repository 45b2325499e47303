"""The Alerts page: each service's settings, its secrets saved to the store (never the config
file) with Save and Forget, and Test saying in plain words whether a message arrived, against
a real HTTP server on 127.0.0.1 standing in for Discord."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app.alerts import MemorySecretStore
from core.app.config_manager import ConfigManager
from core.domain.clock import ManualClock
from gui.settings import SettingsWindow
from gui.settings_alerts import AlertsAccess, EventsEditor
from gui.settings_fields import CheckEditor
from tests.alerts.support import T0, AlertServer, FakeTime, make_dispatcher
from tests.builders import default_config

SECRET = "alerts.discord.webhook_url"


@pytest.fixture
async def server() -> AsyncIterator[AlertServer]:
    alert_server = AlertServer()
    await alert_server.start()
    yield alert_server
    await alert_server.stop()


def open_window(qtbot: QtBot, tmp_path: Path, server: AlertServer,
                store: MemorySecretStore) -> tuple[SettingsWindow, ConfigManager]:
    manager = ConfigManager(tmp_path / "config.toml", clock=ManualClock(T0), config=default_config())
    dispatcher = make_dispatcher(server, [], fake=FakeTime(), store=store)
    window = SettingsWindow(manager, alerts=AlertsAccess(dispatcher, store))
    qtbot.addWidget(window)
    window.show()
    window.show_page("alerts")
    return window, manager


async def done(window: SettingsWindow) -> None:
    attempt = window.alerts_page.attempt
    assert attempt is not None
    await asyncio.wait_for(attempt, 10.0)


async def test_test_save_and_forget_a_discord_webhook(qtbot: QtBot, tmp_path: Path,
                                                      server: AlertServer) -> None:
    store = MemorySecretStore()
    window, manager = open_window(qtbot, tmp_path, server, store)
    box = window.alerts_page.boxes["discord"]
    await done(window)  # the page read which secrets are stored: none
    assert box.secret_edits["webhook_url"].placeholderText() == "not set"
    box.test_button.click()
    await done(window)
    assert box.result_label.text().startswith("Not sent:") and not server.requests
    url = f"{server.base_url}/api/webhooks/1/secret-token"
    box.secret_edits["webhook_url"].setText(url)
    box.test_button.click()  # typed, not saved yet: the test uses it
    await done(window)
    assert box.result_label.text() == ("Sent. Alerts to Discord are switched off: tick Enabled to "
                                       "receive them.")
    assert len(server.requests) == 1 and "Test from Risk Manager" in server.requests[0].text
    assert store.get(SECRET) is None
    box.save_button.click()
    await done(window)
    assert store.get(SECRET) == url and box.secret_edits["webhook_url"].text() == ""
    assert box.result_label.text().startswith("Saved in memory only")
    assert box.secret_edits["webhook_url"].placeholderText() == "stored: type to replace"
    box.forget_button.click()
    await done(window)
    assert store.get(SECRET) is None and box.result_label.text().startswith("Forgotten")


async def test_a_wrong_secret_is_named_and_not_saved(qtbot: QtBot, tmp_path: Path,
                                                     server: AlertServer) -> None:
    store = MemorySecretStore()
    window, _ = open_window(qtbot, tmp_path, server, store)
    box = window.alerts_page.boxes["telegram"]
    box.secret_edits["bot_token"].setText("no colon here")
    box.save_button.click()
    await done(window)
    assert box.result_label.text().startswith("Not saved: Bot token: a bot token looks like")
    assert store.get("alerts.telegram.bot_token") is None


async def test_switches_and_events_apply_with_the_settings(qtbot: QtBot, tmp_path: Path,
                                                           server: AlertServer) -> None:
    window, manager = open_window(qtbot, tmp_path, server, MemorySecretStore())
    enabled = window.editors["alerts.ntfy.enabled"]
    events = window.editors["alerts.ntfy.events"]
    assert isinstance(enabled, CheckEditor) and isinstance(events, EventsEditor)
    assert not events.boxes["breach"].isChecked() and events.boxes["warning"].isChecked()
    enabled.box.setChecked(True)
    events.boxes["lock_lifted"].setChecked(False)
    assert window.apply()
    ntfy = manager.config.alerts.ntfy
    assert ntfy.enabled and "lock_lifted" not in ntfy.events and "warning" in ntfy.events
    assert "topic" not in (tmp_path / "config.toml").read_text()  # a secret: never in the file
