"""ProjectX clients from PyPI, which this project did not write, against ``main.py sim``.

Each client is installed into its own venv (cached under ``.cache/thirdparty/``) and driven as
a subprocess against the sandbox started as a real process: login, reads, every order type,
modify, cancel, closes, both hubs. Skipped when the package index cannot be reached and the
venv is not cached yet (or with RISKMANAGER_SKIP_THIRDPARTY=1).

Clients looked at and left out: ``project-x-py`` and ``topstep-sdk`` need Python 3.12;
``projectx-api`` 0.1.0 awaits httpx's synchronous ``Response.json()`` on every call (it cannot
work against any server) and has no hub support.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.thirdparty.harness import Sandbox, client_python, drive, start_sandbox

pytestmark = [pytest.mark.thirdparty, pytest.mark.slow]

TOPSTEP_CLIENT = "topstep-client-py==0.1.1"
PROJECTX_SDK = "projectx-sdk==0.2.39"
MNQ = "CON.F.US.MNQ.U26"
LONG = 1


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    running = start_sandbox("--speed", "4")
    try:
        yield running
    finally:
        assert running.stop() == 0  # Ctrl-C is a clean stop


def assert_common(report: dict[str, Any], sandbox: Sandbox, bought: int) -> dict[str, Any]:
    """What every client must have shown; returns the steps for client-specific checks."""
    steps: dict[str, Any] = report["steps"]
    assert report["failures"] == [], report
    assert steps["login"] == {"token": True}
    assert set(sandbox.account_ids) <= set(steps["accounts"])
    assert steps["contracts"]["search"] == [MNQ] and steps["contracts"]["tick"] == 0.25
    assert steps["bars"] == {"count": 5}
    assert steps["hubs"]["market_events"], steps["hubs"]  # quotes, trade prints and depth
    market = steps["market_order"]
    assert market["filled_event"] and market["positions"] == [[MNQ, LONG, bought]]
    limit = steps["limit_modify_cancel"]
    assert limit["modified"] == limit["wanted"] and limit["gone_after_cancel"]
    assert steps["stop_order"]["stop_after_modify"] == steps["stop_order"]["wanted"]
    trailing = steps["trailing_stop"]
    # trailPrice was sent as a level 20 ticks under the market: the stop starts there.
    assert trailing["type"] == 5 and trailing["stop_price"] == pytest.approx(
        trailing["level"], abs=2 * 0.25)  # the market may tick between reading and placing
    closes = steps["closes"]
    assert closes["after_partial"] == [bought - 1] and closes["after_close"] == []
    assert closes["removal_event"]  # GatewayUserPosition with size 0
    # One opening half-turn, then the partial and the full close, each with its P&L.
    assert steps["history"]["trades"] == 3 and steps["history"]["closing_pnl"] == 2
    user = steps["user_events"]
    assert user["account"] >= 3 and user["position"] >= 3 and user["trade"] == 3
    assert user["order"] >= 10
    return steps


def test_topstep_client_py(sandbox: Sandbox, tmp_path: Path) -> None:
    python = client_python(TOPSTEP_CLIENT)
    report = drive(python, "drive_topstep_client.py", sandbox, tmp_path)
    steps = assert_common(report, sandbox, bought=3)
    assert steps["contracts"]["by_id"] == MNQ and steps["contracts"]["available"] > 40
    assert steps["trailing_stop"]["without_trail_price"] == "[2] Trail Distance not set."
    bracket = steps["bracket"]
    # The children exist at once (status 8, on the stream) but searchOpen shows the parent only.
    assert [t[-3:] for t in bracket["children_on_stream"]] == ["-SL", "-TP"]
    assert len(bracket["in_search_open"]) == 1
    assert steps["history"]["orders"] == 9  # as below, plus a bracketed entry and its two legs
    assert steps["unsubscribe"] is True


def test_projectx_sdk(sandbox: Sandbox, tmp_path: Path) -> None:
    python = client_python(PROJECTX_SDK)
    report = drive(python, "drive_projectx_sdk.py", sandbox, tmp_path)
    steps = assert_common(report, sandbox, bought=2)
    assert steps["hubs"]["connected"] is True  # its hubs negotiate first (signalrcore 0.9.2)
    # This client reads searchById's answer as the old docs' "contracts" list; live answers
    # one "contract" object, so it finds nothing here either.
    assert steps["contracts"]["by_id"] is None
    trailing = steps["trailing_stop"]
    # 20 then 30 ticks, read back as a price distance (give or take a tick the market moved).
    assert trailing["trail_read_back"] == [pytest.approx(5.0, abs=0.5),
                                           pytest.approx(7.5, abs=0.5)]
    assert trailing["too_far"].endswith("Trail Distance exceeds maximum (1000)")
    assert steps["closes"]["close_when_flat"].endswith("API error 2: None")  # null message
    assert steps["history"]["orders"] == 6  # market, limit, stop, trailing, two closes
