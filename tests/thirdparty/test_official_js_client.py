"""Microsoft's official SignalR JavaScript client against ``main.py sim``'s hubs: with
negotiation skipped (as the ProjectX docs connect) and with it, both hubs, every event with
the argument count the docs give (user events one, market events two)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.thirdparty.harness import Sandbox, drive, js_client_dir, start_sandbox

pytestmark = [pytest.mark.thirdparty, pytest.mark.slow]

SIGNALR_JS = "@microsoft/signalr@10.0.11"
USER_EVENTS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start_sandbox("--speed", "4")
    try:
        yield running
    finally:
        assert running.stop() == 0


def test_official_signalr_js_client_with_and_without_negotiation(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = js_client_dir(SIGNALR_JS)
    node = shutil.which("node")
    assert node is not None
    report = drive([node], "drive_official_js.js", sandbox, tmp_path,
                   extra_env={"NODE_PATH": str(folder / "node_modules"), "HOLD_MS": "1500"})
    assert "error" not in report, report
    for way in ("skipNegotiation", "negotiate"):
        seen = report[way]
        for hub in ("market_state", "user_state"):
            assert seen[hub] == {"closed": None, "reconnecting": 0, "state": "Connected"}, way
        assert seen["market"]["GatewayQuote"] > 0 and seen["market"]["GatewayQuote_args"] == 2
        assert seen["market"]["GatewayTrade"] > 0 and seen["market"]["GatewayTrade_args"] == 2
        for event in USER_EVENTS:
            assert seen["user"][event] >= 1 and seen["user"][event + "_args"] == 1, (way, event)
