"""Resilience benchmarks: how quickly failing enforcement is told, what a REST outage costs the
live stream, and what a hub rebuild costs in memory.

Each scenario runs the real service against the embedded simulated gateway on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from core.app.credentials import Credentials
from core.app.service import RiskService
from core.config.io import parse_config
from core.engine.notices import EnforcementFailed
from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway

ACCOUNT = DEMO_ACCOUNT_ID
MNQ = "CON.F.US.MNQ.U26"
MARKET, BUY = 2, 0
SILENT_MS = 1e9  # the REST server accepts and never answers


def _config(sim: SimulatedGateway, data_dir: Path, **rules: dict[str, Any]) -> Any:
    return parse_config(
        {
            "gateway": {
                "api_url": sim.base_url,
                "user_hub_url": sim.user_hub_url,
                "market_hub_url": sim.market_hub_url,
                "username": DEMO_USERNAME,
            },
            "general": {"accounts": [ACCOUNT], "data_dir": str(data_dir)},
            "rules": {name: {"enabled": True, **table} for name, table in rules.items()},
        }
    )


async def _until(check: Any, what: str, timeout: float) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.perf_counter()


async def breach_to_alarm(cap: float = 400.0) -> float:
    """Seconds from a breach to the first "enforcement failed" alarm with REST silent."""
    sim = SimulatedGateway(market_interval=None, ping_interval=1.0)
    await sim.start()
    with tempfile.TemporaryDirectory(prefix="bench-alarm-") as tmp:
        service = RiskService(
            _config(sim, Path(tmp), max_contracts={"limit": 2}),
            Credentials(DEMO_USERNAME, DEMO_API_KEY),
            data_dir=Path(tmp),
            reconcile_interval=3600.0,
        )
        alarms: list[float] = []
        service.bus.subscribe(
            lambda n: alarms.append(time.perf_counter()) if isinstance(n, EnforcementFailed) else None
        )
        try:
            await service.start()
            await service.wait_protected(15.0)
            sim.set_rest_delay(SILENT_MS)
            breach = time.perf_counter()
            result = sim.exchange.place_order(ACCOUNT, MNQ, MARKET, BUY, 4)
            assert result.success, result
            await _until(lambda: bool(alarms), "the enforcement-failed alarm", cap)
            return alarms[0] - breach
        finally:
            sim.set_rest_delay(0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), 30.0)
            await sim.stop()


def run(sections: set[str] | None = None) -> None:
    logging.basicConfig(level=logging.ERROR)
    print("## Resilience")
    if sections is None or "alarm" in sections:
        seconds = asyncio.run(breach_to_alarm())
        print(f"breach -> first 'enforcement failed' alarm, REST silent: {seconds:.1f} s")


if __name__ == "__main__":
    run()
