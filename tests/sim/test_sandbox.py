"""``main.py sim``: the simulated gateway on its own, as a bot developer runs it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import main
from core.sim.sandbox import AccountsFileError, load_accounts_file
from tests.thirdparty.harness import ROOT, start_sandbox

EXAMPLE = ROOT / "resources" / "sim_accounts.example.json"


@pytest.mark.parametrize(("argv", "named"), [
    (["--port", "x"], "--port"),
    (["--port", "65536"], "--port"),
    (["--port", "-1"], "--port"),
    (["--speed", "0"], "--speed"),
    (["--speed", "-2"], "--speed"),
    (["--speed", "nan"], "--speed"),
    (["--speed", "inf"], "--speed"),
    (["--seed", "1.5"], "--seed"),
    (["--accounts", "/no/such/file.json"], "--accounts"),
    (["--what"], "--what"),
])
def test_bad_arguments_exit_2_naming_the_argument(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.main(["sim", *argv]) == 2
    err = capsys.readouterr().err
    assert named in err and "risk-manager sim" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["sim", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--port", "--accounts", "--seed", "--speed", "--demo-trader"):
        assert option in out


def test_the_rest_of_the_command_line_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    # "sim" is only a subcommand in first place; elsewhere it is an unknown argument as before.
    assert main.main(["--headless", "sim"]) == 2
    assert "unrecognized arguments: sim" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "complaint"), [
    ("{not json", "not valid JSON"),
    ("[]", "non-empty list"),
    ('{"accounts": [], "extra": 1}', "unknown key 'extra'"),
    ('[{"id": 1, "name": "A"}]', "accounts[0].balance must be a number"),
    ('[{"id": "1", "name": "A", "balance": 1}]', "accounts[0].id must be a whole number"),
    ('[{"id": 0, "name": "A", "balance": 1}]', "accounts[0].id must be a whole number"),
    ('[{"id": 1, "name": "", "balance": 1}]', "accounts[0].name must be a non-empty string"),
    ('[{"id": 1, "name": "A", "balance": 1, "canTrade": "no"}]',
     "accounts[0].canTrade must be true or false"),
    ('[{"id": 1, "name": "A", "balance": 1, "colour": "red"}]', "unknown key 'colour'"),
    ('[{"id": 1, "name": "A", "balance": 1}, {"id": 1, "name": "B", "balance": 2}]',
     "accounts[1].id 1 appears twice"),
    ('{"accounts": [{"id": 1, "name": "A", "balance": 1}], "apiKey": ""}',
     "apiKey must be a non-empty string"),
])
def test_accounts_file_errors_say_where(tmp_path: Path, content: str, complaint: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(content)
    with pytest.raises(AccountsFileError) as caught:
        load_accounts_file(path)
    assert complaint in str(caught.value)
    assert main.main(["sim", "--accounts", str(path)]) == 2
    err = capsys.readouterr().err
    assert "argument --accounts" in err and complaint in err


def test_the_shipped_example_accounts_file_loads() -> None:
    setup = load_accounts_file(EXAMPLE)
    assert (setup.username, setup.api_key) == ("bot@example.com", "sandbox-key")
    assert [(a.id, a.can_trade, a.active) for a in setup.accounts] == [
        (20000001, True, True), (20000002, False, True), (20000003, True, False)]


@pytest.mark.slow
def test_serves_its_accounts_with_its_credentials_and_stops_on_ctrl_c() -> None:
    sandbox = start_sandbox("--accounts", str(EXAMPLE), "--seed", "7")
    try:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.user_hub == sandbox.base_url + "/hubs/user"
        assert sandbox.market_hub == sandbox.base_url + "/hubs/market"
        assert (sandbox.username, sandbox.api_key) == ("bot@example.com", "sandbox-key")
        assert sandbox.account_ids == [20000001, 20000002, 20000003]
        with httpx.Client(base_url=sandbox.base_url + "/api/") as http:
            assert http.get("Status/ping").text == "pong"
            token = http.post("Auth/loginKey", json={"userName": sandbox.username,
                                                     "apiKey": sandbox.api_key}).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            active = http.post("Account/search", json={"onlyActiveAccounts": True},
                               headers=auth).json()["accounts"]
            every = http.post("Account/search", json={"onlyActiveAccounts": False},
                              headers=auth).json()["accounts"]
        assert [a["id"] for a in active] == [20000001, 20000002]
        assert {a["id"]: a["canTrade"] for a in every} == {
            20000001: True, 20000002: False, 20000003: True}
    finally:
        assert sandbox.stop() == 0
    assert sandbox.process.stdout is not None
    assert "stopped" in sandbox.process.stdout.read()


@pytest.mark.slow
def test_sigterm_stops_it_cleanly_and_the_demo_trader_trades() -> None:
    sandbox = start_sandbox("--demo-trader", "--speed", "20")
    try:
        assert "demo trader on, trading account 13370001" in sandbox.banner
        with httpx.Client(base_url=sandbox.base_url + "/api/") as http:
            token = http.post("Auth/loginKey", json={"userName": sandbox.username,
                                                     "apiKey": sandbox.api_key}).json()["token"]
            trades = http.post("Trade/search", json={
                "accountId": 13370001, "startTimestamp": "2000-01-01T00:00:00Z"},
                headers={"Authorization": f"Bearer {token}"})
            for _ in range(50):
                if trades.json()["trades"]:
                    break
                time.sleep(0.1)
                trades = http.post("Trade/search", json={
                    "accountId": 13370001, "startTimestamp": "2000-01-01T00:00:00Z"},
                    headers={"Authorization": f"Bearer {token}"})
        assert trades.json()["trades"], "the demo trader never traded"
    finally:
        sandbox.process.send_signal(signal.SIGTERM)
        assert sandbox.process.wait(timeout=15) == 0


@pytest.mark.slow
def test_a_port_in_use_is_refused_naming_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, str(ROOT / "main.py"), "sim", "--port", str(port)],
                              cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"127.0.0.1:{port} (--port)" in done.stderr


def test_example_file_is_valid_json() -> None:
    assert json.loads(EXAMPLE.read_text())["accounts"]
