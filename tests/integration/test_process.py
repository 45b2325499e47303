"""The app as a user runs it: ``python main.py --headless ...`` in a child process.

The simulated gateway runs in this test process on the same event loop that reads the child's
output, so the child talks to it over real loopback sockets.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from core.sim.server import DEMO_USERNAME, SimulatedGateway
from tests.integration.support import (
    ACCT,
    BUY,
    MES,
    App,
    Trader,
    app_env,
    config_toml,
    free_port,
    lock_rows,
    make_sim,
    start_headless,
    until,
)

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
    pytest.mark.slow,
]


async def test_a_lock_survives_a_crash_and_the_restart_closes_what_was_opened(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(config_toml(sim, data_dir, {"daily_realized_loss": {"limit": 500}}))
    trader = Trader(sim)

    first = await start_headless(tmp_path, config)
    try:
        await first.expect("protected", str(ACCT))
        # The app holds MNQ once it subscribes to its quotes: then the losing close follows.
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed("CON.F.US.MNQ.U26"))
        await first.expect("LOCK", str(ACCT), "Daily loss limit [RULE-003]")
        assert [(r["account_id"], r["rule_id"]) for r in lock_rows(data_dir / "state.db")] == [
            (ACCT, "RULE-003")
        ]
    finally:
        await first.kill()  # SIGKILL: no shutdown code runs
    assert first.proc.returncode == -signal.SIGKILL
    assert not any("stopped cleanly" in line for line in first.lines)

    # While the app is dead the trader opens a position; no one is watching the stream.
    await until(lambda: not trader.subscribed(), "the dead app's sockets to go")
    trader.market(MES, BUY, 2)
    assert trader.net(MES) == 2

    second = await start_headless(tmp_path, config)
    try:
        await second.expect("restored lock", str(ACCT), "Daily loss limit [RULE-003]")
        await second.expect("protected", str(ACCT))
        await until(lambda: trader.net(MES) == 0, "the restarted app to close the MES position")
        # the enforcement line for that close: the rule's name first, its id in brackets
        await second.expect("Daily loss limit [RULE-003]: closed MES", f"on account {ACCT} in ")
        # The lock was restored from the file, not derived again from the day's trades.
        assert not any(line for line in second.lines if "LOCK account" in line)
        assert trader.positions() == {}
        code = await second.signal(signal.SIGTERM)
    finally:
        await second.kill()
    assert code == 0, second.output()
    assert "stopped cleanly" in second.lines[-1]
    assert [r["rule_id"] for r in lock_rows(data_dir / "state.db")] == ["RULE-003"]


async def test_headless_demo_protects_enforces_and_stops_cleanly(tmp_path: Path) -> None:
    app = await App.start("--headless", "--demo", env=app_env(tmp_path))
    try:
        await app.expect("protected", "13370001")
        # The scripted demo trader goes over 5 contracts within a few steps of 3 s.
        await app.expect("BREACH", timeout=40.0)
        # ...and the enforcement's outcome line, the rule named first: "Max contracts [RULE-001]:
        # reduced MNQU6 from 7 to at most 5 on account 13370001 in N ms (…)".
        line = await app.expect("[RULE-", "account 13370001", " ms (", timeout=20.0)
        assert not line.split(maxsplit=3)[3].startswith("RULE-"), line
        code = await app.signal(signal.SIGTERM)
    finally:
        await app.kill()
    assert code == 0, app.output()
    assert "stopped cleanly" in app.lines[-1]
    assert not [line for line in app.lines if " ERROR " in line or "Traceback" in line]
    # The demo's state file went to a fresh temp dir (here TMPDIR), not the user's data dir.
    assert list(tmp_path.glob("riskmanager-demo-*/state.db"))


async def test_an_unknown_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[rules.max_contracts]\nenabled = true\nlimt = 5\n")
    app = await App.start("--headless", "--config", str(config), env=app_env(tmp_path))
    try:
        code = await app.finished(30.0)
    finally:
        await app.kill()
    assert code == 2
    stderr = "\n".join(app.errors)
    assert "rules.max_contracts.limt" in stderr and "unknown key" in stderr
    assert app.lines == []


async def test_headless_stops_cleanly_while_the_gateway_is_unreachable(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_toml(make_sim(free_port()), tmp_path / "data",
                                  {"max_contracts": {"limit": 2}}))
    app = await start_headless(tmp_path, config)
    try:
        # Still trying, not given up: a network that is down at start-up ends nothing.
        await app.expect("cannot reach the gateway", timeout=30.0)
        assert app.proc.returncode is None
        code = await app.signal(signal.SIGTERM)
    finally:
        await app.kill()
    assert code == 0, app.output()
    assert "stopped cleanly" in app.lines[-1]


async def test_headless_with_a_refused_api_key_exits_1(sim: SimulatedGateway, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_toml(sim, tmp_path / "data", {"max_contracts": {"limit": 2}}))
    env = app_env(tmp_path, PROJECTX_USERNAME=DEMO_USERNAME, PROJECTX_API_KEY="wrong-key")
    app = await App.start("--headless", "--config", str(config), env=env)
    try:
        code = await app.finished(30.0)
    finally:
        await app.kill()
    assert code == 1, app.output()
    assert any("cannot run" in line for line in app.lines), app.output()
    assert "wrong-key" not in app.output()
