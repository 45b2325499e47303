"""The headless app as a user runs it (``python main.py --headless --config …`` in a child
process), attacked through its own doors: the config file edited while it is stopped, a SIGKILL
with trading in between, and alerts whose secrets live in the user-only file (no keyring)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest

from core.sim.server import SimulatedGateway
from tests.alerts.support import DISCORD_ID, DISCORD_TOKEN, AlertServer
from tests.integration.support import (
    ACCT,
    BUY,
    MES,
    MNQ,
    Trader,
    config_toml,
    lock_rows,
    start_headless,
    until,
)

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
    pytest.mark.slow,
]


async def test_editing_the_file_while_stopped_undoes_no_lock(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(config_toml(sim, data_dir, {"daily_realized_loss": {"limit": 500}}))
    trader = Trader(sim)
    first = await start_headless(tmp_path, config)
    try:
        await first.expect("protected", str(ACCT))
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))
        await first.expect("LOCK", str(ACCT), "RULE-003")
        assert await first.signal(signal.SIGTERM) == 0
    finally:
        await first.kill()

    # In a bad moment: a far higher limit, the locked account left out, the day moved, a new
    # (empty) data folder. Each loosens; none may apply before the next reset.
    empty = tmp_path / "empty"
    empty.mkdir()
    text = config.read_text()
    text = text.replace("limit = 500", "limit = 50000")
    text = text.replace(f"accounts = [{ACCT}]", "accounts = [99999999]")
    text = text.replace(json.dumps(str(data_dir)), json.dumps(str(empty)))
    text = text.replace("[general]", '[general]\nreset_time = "09:00"')
    config.write_text(text)

    second = await start_headless(tmp_path, config)
    try:
        await second.expect("restored lock", str(ACCT), "Daily loss limit [RULE-003]")
        await second.expect("rules.daily_realized_loss.limit: 500.0 → 50000.0 (loosens): waits for "
                            "the next reset")
        await second.expect("general.accounts", "(loosens): waits for the next reset")
        await second.expect("general.data_dir", "(loosens): waits for the next reset")
        await second.expect("general.reset_time", "(loosens): waits for the next reset")
        await second.expect("protected", str(ACCT))
        trader.market(MES, BUY, 1)  # the lock still holds the account the file left out
        await until(lambda: trader.net(MES) == 0, "the position opened under the lock to be closed")
        assert await second.signal(signal.SIGTERM) == 0
    finally:
        await second.kill()
    assert not (empty / "state.db").exists()
    assert [r["rule_id"] for r in lock_rows(data_dir / "state.db")] == ["RULE-003"]


async def test_after_a_kill_the_next_start_says_what_happened_in_between(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(config_toml(sim, data_dir, {"max_contracts": {"limit": 5}}))
    trader = Trader(sim)
    first = await start_headless(tmp_path, config)
    try:
        await first.expect("protected", str(ACCT))
        await until(lambda: trader.subscribed(), "the app's subscription")
    finally:
        await first.kill()  # SIGKILL: no shutdown code runs

    # Unprotected: a round trip opened and closed while the app is dead.
    await until(lambda: not trader.subscribed(), "the dead app's sockets to go")
    await asyncio.sleep(2.5)  # well after its last sign of life, whatever the clocks' rounding
    trader.market(MNQ, BUY, 2)
    trader.move(MNQ, trader.price(MNQ) - 10)
    trader.market(MNQ, 1, 2)  # sell: flat again, −$40 and fees
    assert trader.net(MNQ) == 0

    second = await start_headless(tmp_path, config)
    try:
        await second.expect("did not shut down cleanly", "protection stopped at about")
        await second.expect("protected", str(ACCT))
        line = await second.expect(f"account {ACCT}: protection stopped at about", "resumed at",
                                   "2 contract(s) were opened and closed")
        assert "net -4" in line  # −$40 and the fees
        await second.expect(MNQ, "2 opened")
        assert await second.signal(signal.SIGTERM) == 0
    finally:
        await second.kill()

    third = await start_headless(tmp_path, config)  # after a clean stop there is nothing to say
    try:
        await third.expect("protected", str(ACCT))
        assert await third.signal(signal.SIGTERM) == 0
    finally:
        await third.kill()
    assert not any("did not shut down cleanly" in line for line in third.lines)


async def test_headless_sends_alerts_with_secrets_from_the_user_only_file(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    server = AlertServer()
    await server.start()
    try:
        data_dir = tmp_path / "data"
        config = tmp_path / "config.toml"
        config.write_text(config_toml(sim, data_dir, {"daily_realized_loss": {"limit": 500}})
                          + "\n[alerts.discord]\nenabled = true\n")
        # No keyring on this machine (app_env): the secrets file beside the API key file.
        secrets = tmp_path / "home" / ".config" / "RiskManager" / "alert-secrets.json"
        secrets.parent.mkdir(parents=True)
        secrets.write_text(json.dumps({
            "alerts.discord.webhook_url": f"{server.base_url}/api/webhooks/{DISCORD_ID}/{DISCORD_TOKEN}"}))
        secrets.chmod(0o600)
        trader = Trader(sim)
        app = await start_headless(tmp_path, config)
        try:
            await app.expect("protected", str(ACCT))
            await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))
            await app.expect("LOCK", str(ACCT), "RULE-003")
            await until(lambda: server.requests, "the Discord alert", timeout=20.0)
            assert await app.signal(signal.SIGTERM) == 0
        finally:
            await app.kill()
        assert "Daily loss limit" in server.requests[0].json()["content"]
        assert DISCORD_TOKEN not in app.output()  # a secret never reaches the log
    finally:
        await server.stop()
