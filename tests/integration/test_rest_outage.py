"""REST going wrong while the live stream is fine: enforcement fails loudly and quickly, and a
re-read that fails never takes the stream down. The real service against the simulated gateway
over loopback; the REST faults are the sim's own (a silent server, bare HTTP 500s)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from core.app.service import RiskService
from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementRecovered
from core.sim.server import SimulatedGateway
from tests.integration.support import (
    ACCT,
    BUY,
    HUB_OPTIONS,
    MNQ,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    Harness,
    demo_credentials,
    rules_for,
    until,
    wired,
)

SILENT_MS = 1e9  # accepts the request and never answers
ALWAYS = 10**9

Start = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start(sim: SimulatedGateway, tmp_path: Path) -> AsyncIterator[Start]:
    started: list[RiskService] = []

    async def make(**options: Any) -> Harness:
        service = RiskService(
            wired(rules_for(max_contracts={"limit": 2}), sim),
            demo_credentials(),
            data_dir=tmp_path / f"data{len(started)}",
            tick_interval=TICK_INTERVAL,
            reconcile_interval=NO_PERIODIC_RECONCILE,
            hub_options=HUB_OPTIONS,
            **options,
        )
        started.append(service)
        await service.start()
        await service.wait_protected(10.0)
        return Harness(sim, service, tmp_path)

    yield make
    sim.clear_faults()
    for service in started:
        await asyncio.wait_for(service.stop(), 20.0)


class Requests:
    """Every REST request the sim receives, with when it arrived (read from the server side)."""

    def __init__(self, sim: SimulatedGateway) -> None:
        self.seen: list[tuple[float, str]] = []
        take = sim.faults.take

        def recording(path: str) -> int | None:
            self.seen.append((time.perf_counter(), path.strip("/").lower()))
            return take(path)

        sim.faults.take = recording  # type: ignore[method-assign]

    def count(self, endpoint: str) -> int:
        return sum(1 for _, path in self.seen if path.endswith(endpoint.lower()))

    def first(self, endpoint: str, after: float) -> float | None:
        return next((t for t, p in self.seen if t >= after and p.endswith(endpoint.lower())), None)


async def test_with_rest_silent_the_alarm_comes_while_retries_go_on(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h = await start(enforcement_options={"alarm_after": 1.0})
    h.sim.set_rest_delay(SILENT_MS)
    h.market(MNQ, BUY, 4)  # over the limit of 2: the stream reports it, REST never answers
    alarm = (await until(lambda: h.of(EnforcementFailed), "the enforcement-failed alarm"))[0]
    assert alarm.command.account_id == ACCT and alarm.command.rule_id == "RULE-001"
    # Told, and still at it: the command is in flight, nothing was given up.
    assert h.service.enforcement.in_flight()
    assert not h.of(EnforcementDone)
    # The gateway comes back: the retry goes through and the alarm is resolved.
    h.sim.set_rest_delay(0)
    await until(lambda: h.net(MNQ) == 2, "the position reduced once REST answers", timeout=30.0)
    await until(lambda: h.of(EnforcementRecovered), "the recovery notice", timeout=30.0)


async def test_a_failing_trade_search_keeps_the_stream_up_and_enforcing(
    start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    h = await start(reread_backoff=(0.05,))
    requests = Requests(h.sim)
    hub = h.service.user_hub
    h.sim.inject_rest_failures(500, ALWAYS, path="Trade/search")
    h.sim.drop_connections()
    await until(lambda: h.service.status[ACCT] == "reconciling", "the re-read after the drop")
    await until(h.subscribed, "subscribed on the new connection")
    made = hub.connections_made
    await until(lambda: requests.count("Trade/search") >= 8, "several failed re-reads")
    # The re-read keeps failing on its own: the connection was never torn down for it, and the
    # account is not called protected while its history is unread.
    assert hub.connections_made == made and hub.connected and h.subscribed()
    assert h.service.status[ACCT] == "reconciling"

    # A breach now is reported by the stream and enforced at once.
    breach = time.perf_counter()
    h.market(MNQ, BUY, 4)
    await until(lambda: h.net(MNQ) == 2, "the stream's breach enforced during the REST outage")
    sent = requests.first("Position/partialCloseContract", breach)
    assert sent is not None
    logging.getLogger(__name__).warning("breach to partial close sent: %.1f ms", (sent - breach) * 1e3)

    # The whole REST API fails now; the close is still issued at once (and fails).
    h.sim.inject_rest_failures(500, ALWAYS)
    breach = time.perf_counter()
    h.market(MNQ, BUY, 3)
    await until(lambda: requests.first("Position/partialCloseContract", breach), "a close issued")
    assert hub.connections_made == made and hub.connected

    # REST recovers: the close goes through and the re-read completes.
    h.sim.clear_faults()
    await until(lambda: h.net(MNQ) == 2, "the outage breach reduced once REST answers", timeout=30.0)
    await until(h.protected, "protected once the re-read succeeds", timeout=30.0)
    assert hub.connections_made == made
    assert any("live stream stays up" in r.getMessage() for r in caplog.records)
