"""The alert secrets in the tray app: one store for the whole app. On a computer with no keyring
the Alerts page writes (with the trader's consent) the user-only file the dispatcher reads,
the same file headless reads; a real lock then reaches the stand-in for Discord; and a secret
that reaches a log line anywhere in the app comes out redacted."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring
from pytestqt.qtbot import QtBot

from core.app.secret_store import AppSecretStore, default_secrets_file
from core.sim.server import SimulatedGateway
from tests.alerts.support import DISCORD_ID, DISCORD_TOKEN, AlertServer
from tests.gui.tray_support import Folders, Tray, app_logging, demo_login, sim
from tests.integration.support import ACCT, MNQ, Trader, until

__all__ = ["demo_login", "sim"]  # fixtures

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_login")]

SECRET = "alerts.discord.webhook_url"


@pytest.fixture
def no_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A desktop with no secret service, and the user's config folder in the test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    try:
        with app_logging():
            yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
async def server() -> AsyncIterator[AlertServer]:
    alert_server = AlertServer()
    await alert_server.start()
    yield alert_server
    await alert_server.stop()


async def test_the_alerts_page_writes_where_the_dispatcher_and_headless_read(
    qtbot: QtBot, tmp_path: Path, sim: SimulatedGateway, server: AlertServer, no_keyring: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folders = Folders(tmp_path, sim)
    folders.write({"daily_realized_loss": {"limit": 500}}, "\n[alerts.discord]\nenabled = true\n")
    url = f"{server.base_url}/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"
    trader = Trader(sim)
    tray = await Tray.start(folders)  # the app's own store, as a trader runs it
    try:
        await tray.protected(ACCT)
        run = tray.run
        window = run.open_settings()
        qtbot.addWidget(window)
        window.show_page("alerts")
        page = window.alerts_page
        assert page.consent.isVisibleTo(window) and "alert-secrets.json" in page.where_label.text()
        page.consent.setChecked(True)
        box = page.boxes["discord"]
        box.secret_edits["webhook_url"].setText(url)
        box.save_button.click()
        assert page.attempt is not None
        await asyncio.wait_for(page.attempt, 10.0)
        assert box.result_label.text().startswith("Saved in a file only your user account can read")

        # Where it went: the user-only file beside the API key's, which headless reads too.
        path = default_secrets_file()
        assert path == tmp_path / "user-config" / "RiskManager" / "alert-secrets.json"
        if os.name == "posix":
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert AppSecretStore().get(SECRET) == url  # a fresh store, as headless makes it
        # The dispatcher read it back from there.
        assert run.alerts.dispatcher.secrets["discord"] == {"webhook_url": url}

        # A secret that reaches a log line, anywhere in the app, comes out redacted.
        capsys.readouterr()
        logging.getLogger("riskmanager.test").warning("posting to %s now", url)
        logged = capsys.readouterr().out
        assert "posting to" in logged and "[REDACTED]" in logged
        assert DISCORD_TOKEN not in logged and url not in logged

        # A real lock reaches the channel the page saved.
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))
        await until(lambda: server.requests, "the Discord alert", timeout=20.0)
        assert server.requests[0].path == f"/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"
        assert "Daily loss limit" in server.requests[0].json()["content"]
        window.hide()
        assert await tray.quit() == 0
    finally:
        await tray.stop()
    assert DISCORD_TOKEN not in capsys.readouterr().out
