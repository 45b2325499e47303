"""Microsoft's official SignalR JavaScript client against ``main.py sim``'s hubs: with
negotiation skipped (as the ProjectX docs connect) and with it, both hubs, every event with
the argument count the docs give (user events one, market events two); and its keep-alive,
set short, holding both hubs for several server timeouts on pings alone."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.thirdparty.harness import Sandbox, drive, gateway_in_thread, js_client_dir, start_sandbox

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


# A keep-alive far below the client's defaults (15 s ping, 30 s server timeout), held for
# several server timeouts: the connection lives only if pings flow both ways, since nothing
# else does (no market moves, the user hub is idle after its subscriptions).
KEEPALIVE_MS, SERVER_TIMEOUT_MS, HOLD_MS = 300, 1200, 5000


def test_official_signalr_js_client_keep_alive_both_ways(tmp_path: Path) -> None:
    folder = js_client_dir(SIGNALR_JS)
    node = shutil.which("node")
    assert node is not None
    # The hubs ping as often as the client does and drop a client silent for its timeout.
    with gateway_in_thread(market_interval=None, ping_interval=KEEPALIVE_MS / 1000,
                           client_timeout=SERVER_TIMEOUT_MS / 1000) as gateway:
        report = drive([node], "drive_official_js.js", gateway, tmp_path, extra_env={
            "NODE_PATH": str(folder / "node_modules"), "HOLD_MS": str(HOLD_MS),
            "KEEPALIVE_MS": str(KEEPALIVE_MS), "SERVER_TIMEOUT_MS": str(SERVER_TIMEOUT_MS)})
    assert "error" not in report, report
    timeouts = HOLD_MS // SERVER_TIMEOUT_MS  # 4 whole server timeouts held
    for way in ("skipNegotiation", "negotiate"):
        seen = report[way]
        assert seen["timing"] == {"keepAliveMs": KEEPALIVE_MS, "serverTimeoutMs": SERVER_TIMEOUT_MS}
        for hub in ("market", "user"):
            assert seen[hub + "_state"] == {"closed": None, "reconnecting": 0, "state": "Connected"}, (
                way, hub, report["stderr"])
            pings = seen[hub + "_pings"]
            # At least one ping each way in every server timeout held (about four are sent).
            assert pings["pings_sent"] >= timeouts and pings["pings_received"] >= timeouts, (way, hub, pings)
