"""Resilience benchmarks: how quickly failing enforcement is told, what a REST outage costs the
live stream, what hub rebuilds cost in memory, what a hostile hub costs in threads and files,
and a long fuzz run of the suite's hostile-bytes properties.

Each scenario runs the real service (or the real Hub) against the embedded simulated gateway on
127.0.0.1; the memory scenario runs in fresh processes so earlier scenarios do not blur it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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
REPO = Path(__file__).resolve().parents[1]
FAST_HUBS: dict[str, Any] = {"keepalive": 0.25, "silence_timeout": 3.0, "connect_timeout": 3.0,
                             "backoff": (0.01,)}
SECTIONS = ("alarm", "outage", "memory", "handshake", "fuzz")


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


async def _until(check: Callable[[], Any], what: str, timeout: float) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.001)
    return time.perf_counter()


class _Running:
    """The sim and a protected service on it (RULE-001 at 2 contracts)."""

    def __init__(self, **options: Any) -> None:
        self.sim = SimulatedGateway(market_interval=None, ping_interval=1.0)
        self.options = options
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-resilience-")
        self.service: RiskService

    async def __aenter__(self) -> _Running:
        await self.sim.start()
        data = Path(self._tmp.name)
        self.service = RiskService(
            _config(self.sim, data, max_contracts={"limit": 2}),
            Credentials(DEMO_USERNAME, DEMO_API_KEY),
            data_dir=data, reconcile_interval=3600.0, **self.options,
        )
        await self.service.start()
        await self.service.wait_protected(15.0)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.sim.clear_faults()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.service.stop(), 30.0)
        await self.sim.stop()
        self._tmp.cleanup()

    def net(self) -> int:
        position = self.sim.exchange.position(ACCOUNT, MNQ)
        return 0 if position is None else position.net


async def breach_to_alarm(cap: float = 400.0) -> float:
    """Seconds from a breach to the first "enforcement failed" alarm with REST silent."""
    async with _Running() as run:
        alarms: list[float] = []
        run.service.bus.subscribe(
            lambda n: alarms.append(time.perf_counter()) if isinstance(n, EnforcementFailed) else None
        )
        run.sim.set_rest_delay(SILENT_MS)
        breach = time.perf_counter()
        assert run.sim.exchange.place_order(ACCOUNT, MNQ, MARKET, BUY, 4).success
        await _until(lambda: alarms, "the enforcement-failed alarm", cap)
        run.sim.set_rest_delay(0)
        return alarms[0] - breach


async def outage(rounds: int = 10) -> dict[str, float]:
    """Each round: REST fails (every call HTTP 500), the hubs drop and reconnect, the re-read
    keeps failing; then a breach arrives on the stream. Measured: fill -> close request at the
    server, and whether the hub connection stayed up meanwhile."""
    async with _Running(hub_options=FAST_HUBS, reread_backoff=(0.5,)) as run:
        seen: list[tuple[float, str]] = []
        take = run.sim.faults.take

        def recording(path: str) -> int | None:
            seen.append((time.perf_counter(), path.lower()))
            return take(path)

        run.sim.faults.take = recording  # type: ignore[method-assign]
        hub = run.service.user_hub
        latencies: list[float] = []
        torn_down = 0
        for _ in range(rounds):
            run.sim.inject_rest_failures(500, 10**9)
            run.sim.drop_connections()
            await _until(lambda: hub.connected and run.service.status[ACCOUNT] == "reconciling",
                         "the reconnect", 15.0)
            await asyncio.sleep(0.3)  # the re-read has failed at least once by now
            made = hub.connections_made
            breach = time.perf_counter()
            assert run.sim.exchange.place_order(ACCOUNT, MNQ, MARKET, BUY, 3).success
            await _until(lambda b=breach: any(t >= b and "closecontract" in p for t, p in seen),
                         "the close request", 15.0)
            sent = next(t for t, p in seen if t >= breach and "closecontract" in p)
            latencies.append((sent - breach) * 1000)
            torn_down += hub.connections_made - made
            run.sim.clear_faults()
            await _until(lambda: run.net() <= 2 and not run.service.enforcement.in_flight(),
                         "the breach reduced once REST answers", 60.0)
            await _until(lambda: run.service.status[ACCOUNT] == "protected", "protected", 60.0)
            run.sim.exchange.place_order(ACCOUNT, MNQ, MARKET, 1, run.net())  # flat again
            await _until(lambda: run.net() == 0, "flat", 15.0)
        latencies.sort()
        return {"p50_ms": latencies[len(latencies) // 2], "max_ms": latencies[-1],
                "rebuilds_during": float(torn_down), "rounds": float(rounds)}


_MEMORY_CHILD = r"""
import asyncio, gc, json, sys, tempfile
from pathlib import Path
from bench.resilience_bench import _config, FAST_HUBS, ACCOUNT
from core.app.credentials import Credentials
from core.app.service import RiskService
from core.gateway import signalr_fixes
from core.sim.server import DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

async def main(rebuilds, library):
    signalr_fixes.apply()
    if library:  # the library's own builder: a new TLS context (and CA bundle) per connection
        from signalrcore.hub_connection_builder import HubConnectionBuilder
        HubConnectionBuilder.__init__ = signalr_fixes.LIBRARY_BUILDER_INIT
    sim = SimulatedGateway(market_interval=None, ping_interval=1.0)
    await sim.start()
    data = Path(tempfile.mkdtemp())
    svc = RiskService(_config(sim, data, max_contracts={"limit": 2}),
                      Credentials(DEMO_USERNAME, DEMO_API_KEY), data_dir=data,
                      reconcile_interval=3600.0, hub_options=FAST_HUBS)
    await svc.start(); await svc.wait_protected(15)
    async def rebuild():
        made = svc.user_hub.connections_made
        sim.drop_connections()
        while svc.user_hub.connections_made == made or svc.status[ACCOUNT] != "protected":
            await asyncio.sleep(0.005)
    await rebuild(); gc.collect()
    before = rss()
    for _ in range(rebuilds):
        await rebuild()
    gc.collect()
    print(json.dumps({"before": before, "after": rss()}))
    await svc.stop(); await sim.stop()

asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "library"))
"""


def rebuild_memory(rebuilds: int, builder: str) -> dict[str, float]:
    """RSS before and after ``rebuilds`` hub rebuilds, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(rebuilds), builder],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def mute_tls_handshakes(attempts: int = 50) -> dict[str, int]:
    """A hub URL that accepts TCP and never finishes TLS: threads and files across retries."""
    from core.gateway.hubs import USER_EVENTS, Hub

    accepted = [0]

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted[0] += 1
        while await reader.read(4096):
            pass
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/hubs/user"

    async def nothing() -> None:
        return None

    threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
    hub = Hub("user", url, lambda: "token", USER_EVENTS, lambda *_: None, nothing,
              connect_timeout=0.2, backoff=(0.01,))
    hub.start()
    peak = 0
    while accepted[0] < attempts:
        peak = max(peak, threading.active_count() - threads)
        await asyncio.sleep(0.005)
    await hub.stop()
    await asyncio.sleep(0.5)
    server.close()
    return {"attempts": accepted[0], "threads_before": threads,
            "threads_after": threading.active_count(), "peak_extra_threads": peak,
            "fds_before": fds, "fds_after": len(os.listdir("/proc/self/fd"))}


def fuzz(examples: int) -> tuple[int, float, str]:
    env = {**os.environ, "RISKMANAGER_FUZZ_EXAMPLES": str(examples)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3600,
    )
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    return done.returncode, time.perf_counter() - started, last


def run(sections: set[str] | None = None, *, rebuilds: int = 100, fuzz_examples: int = 1000) -> None:
    logging.basicConfig(level=logging.ERROR)
    for noisy in ("core", "SignalRCoreClient"):  # failures are the point here
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    chosen = set(SECTIONS) if sections is None else sections
    print("## Resilience")
    print("| scenario | result |")
    print("|---|---|")
    if "alarm" in chosen:
        seconds = asyncio.run(breach_to_alarm())
        print(f"| breach -> first 'enforcement failed' alarm, REST silent | {seconds:.1f} s |")
    if "outage" in chosen:
        r = asyncio.run(outage())
        print(f"| breach -> close request while the re-read fails (p50 / max of "
              f"{int(r['rounds'])}) | {r['p50_ms']:.1f} ms / {r['max_ms']:.1f} ms |")
        print(f"| hub connections torn down for a failed re-read | {int(r['rebuilds_during'])} |")
    if "memory" in chosen and sys.platform.startswith("linux"):
        for builder in ("patched", "library"):
            m = rebuild_memory(rebuilds, builder)
            print(f"| RSS over {rebuilds} hub rebuilds ({builder} builder) | "
                  f"{m['before']:.1f} -> {m['after']:.1f} MB ({m['after'] - m['before']:+.1f} MB) |")
    if "handshake" in chosen and sys.platform.startswith("linux"):
        h = asyncio.run(mute_tls_handshakes())
        print(f"| {h['attempts']} TLS handshakes that never finish: threads | "
              f"{h['threads_before']} -> {h['threads_after']} (peak +{h['peak_extra_threads']}) |")
        print(f"| ... open files | {h['fds_before']} -> {h['fds_after']} |")
    if "fuzz" in chosen:
        code, seconds, last = fuzz(fuzz_examples)
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"| fuzz, {fuzz_examples} examples per property | {verdict} in {seconds:.0f} s: {last} |")


if __name__ == "__main__":
    picked = {a for a in sys.argv[1:] if a in SECTIONS}
    run(picked or None)
