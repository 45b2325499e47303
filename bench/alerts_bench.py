"""Enforcement latency with and without alerts, while the alert server hangs.

The gateway benchmark's harness (the real RiskService against the SimulatedGateway, one asyncio
loop, loopback) runs RULE-004 rounds: a quote pushed far against a position, timed until the
resulting ``Position/closeContract`` reaches the sim. Each round is one breach, and with the
``breach`` event switched on every breach becomes an alert for each of the four services
(Discord, Telegram, ntfy and the webhook, all pointed at one local alert server).

Setups, interleaved block by block so drift on a shared machine hits them all alike:

* no alerts;
* an alert server that accepts each connection and never answers, default timings (1 s
  gather, 10 s between messages, 10 s timeout per attempt);
* the same hanging server with the timings squeezed (no gather, no spacing, 0.2 s timeouts,
  50 ms backoff): the workers open, time out and retry connections all through the rounds;
* an alert server that answers at once, default timings;
* the same with no gather and no spacing: four real HTTP posts on the enforcement loop in the
  very iteration the close goes out (the worst case, and why the 1 s gather exists).

The stand-in servers run on their own loop in a thread (a real service is another machine).

Besides the round trip it reports the event loop's lag (a 1 ms ticker's overshoot) and what
the dispatcher's bus callback costs per notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bench.gateway_harness import HELD, Harness
from bench.gateway_probe import Breach
from bench.measure import ms, percentile
from core.app.alerts.dispatcher import AlertDispatcher
from core.app.alerts.secrets import MemorySecretStore
from core.config.alerts import ALL_EVENTS, SERVICES
from core.config.io import parse_config

BLOCKS = 4
PACE = 0.05  # seconds from one breach to the next


class ServerThread:
    """The stand-in alert servers run on their own loop in their own thread: a real Discord is
    another machine, and its work must not be counted against the enforcement loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="alert-servers",
                                        daemon=True)
        self._thread.start()

    async def run(self, coro: Any) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)


class HangingServer:
    """Accepts every connection, reads what comes, never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._held.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)


class AnsweringServer:
    """Answers every POST at once, as the services do when all is well."""

    def __init__(self) -> None:
        self.requests = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _answer(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests += 1
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Setup:
    label: str
    port: int | None  # None: no alerts
    options: dict[str, Any] = field(default_factory=dict)
    seconds_between_messages: int = 10
    breaches: list[Breach] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    callback_us: list[float] = field(default_factory=list)
    offered: int = 0
    messages: int = 0
    gc_pauses: list[float] = field(default_factory=list)


def _dispatcher(harness: Harness, setup: Setup) -> AlertDispatcher:
    assert setup.port is not None
    base = f"http://127.0.0.1:{setup.port}"
    events = list(ALL_EVENTS)
    cfg = parse_config({
        "alerts": {
            "seconds_between_messages": setup.seconds_between_messages,
            "discord": {"enabled": True, "events": events},
            "telegram": {"enabled": True, "events": events, "chat_id": 1, "api_url": base},
            "ntfy": {"enabled": True, "events": events, "server_url": base},
            "webhook": {"enabled": True, "events": events},
        }
    })
    store = MemorySecretStore({
        "alerts.discord.webhook_url": f"{base}/api/webhooks/1/token",
        "alerts.telegram.bot_token": "1:token",
        "alerts.ntfy.topic": "bench-topic",
        "alerts.webhook.url": f"{base}/hook",
    })
    return AlertDispatcher(harness.service.bus, cfg, store, clock=harness.service.clock,
                           **setup.options)


def _timed(setup: Setup, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    def timed(notice: Any) -> None:
        started = time.perf_counter()
        callback(notice)
        setup.callback_us.append((time.perf_counter() - started) * 1e6)

    return timed


class GcPauses:
    """Collector pauses, so a loop-lag outlier can be told apart from the alerts' doing."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1e3)


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    """How late a 1 ms sleep wakes up: what anything else on the loop waits for at worst."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append((time.perf_counter() - started) * 1e3 - 1.0)


async def _paced_rounds(harness: Harness, rounds: int, warmup: int = 2) -> list[Breach]:
    """RULE-004 rounds, one every PACE seconds: a block spans the 1 s gather, so with the
    default timings the alerts really go out (or hang) while breaches are being enforced."""
    harness.probe.start_phase()
    out: list[Breach] = []
    for i in range(warmup + rounds):
        started = time.perf_counter()
        b = await harness.breach("RULE-004", HELD[i % len(HELD)])
        if i >= warmup:
            out.append(b)
        await asyncio.sleep(max(0.0, PACE - (time.perf_counter() - started)))
    return out


async def _block(harness: Harness, setup: Setup, rounds: int) -> None:
    dispatcher = None
    if setup.port is not None:
        dispatcher = _dispatcher(harness, setup)
        on_notice = dispatcher.on_notice
        dispatcher.on_notice = _timed(setup, on_notice)  # type: ignore[method-assign]
        await dispatcher.start()
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(setup.lags, stop))
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        setup.breaches += await _paced_rounds(harness, rounds)
    finally:
        gc.callbacks.remove(pauses)
        setup.gc_pauses += pauses.pauses
        stop.set()
        await ticker
        if dispatcher is not None:
            setup.offered += sum(c.offered for c in dispatcher.channels.values())
            setup.messages += sum(c.sent_messages for c in dispatcher.channels.values())
            await dispatcher.stop(flush_timeout=0)


async def _run(rounds: int) -> None:
    harness = Harness()
    servers = ServerThread()
    hanging, answering = HangingServer(), AnsweringServer()
    await harness.start()
    await servers.run(hanging.start())
    await servers.run(answering.start())
    fast = {"gather": 0.0, "timeout": 0.2, "backoff": (0.05, 0.05, 0.05, 0.05)}
    setups = [
        Setup("no alerts", None),
        Setup("alert server hangs (default timings)", hanging.port),
        Setup("alert server hangs, 0.2 s timeouts, no spacing (connection churn)", hanging.port,
              fast, seconds_between_messages=0),
        Setup("alert server answers (default timings)", answering.port),
        Setup("alert server answers, no gather, no spacing (every alert posted at once)",
              answering.port, {"gather": 0.0}, seconds_between_messages=0),
    ]
    per_block = max(1, rounds // BLOCKS)
    try:
        gc.collect()
        for _ in range(BLOCKS):
            for setup in setups:
                await _block(harness, setup, per_block)
    finally:
        await harness.stop()
        await servers.run(hanging.stop())
        await servers.run(answering.stop())
        servers.close()

    print("Alerts benchmark: RULE-004 quote push → closeContract at the sim, the real service on one loop")
    print(f"(each breach is an alert to 4 services; {BLOCKS} interleaved blocks of {per_block} rounds per setup)")
    print()
    print("| alert setup | rounds | p50 | p99 | max | loop lag p99 | loop lag max | longest GC pause | bus callback p50 / max | alerts / messages delivered |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in setups:
        totals = [b.total_ms for b in s.breaches]
        callback = (
            f"{statistics.median(s.callback_us):.1f} / {max(s.callback_us):.0f} µs"
            if s.callback_us else "—"
        )
        print(
            f"| {s.label} | {len(totals)} | {ms(statistics.median(totals) if totals else math.nan)} "
            f"| {ms(percentile(totals, 99))} | {ms(max(totals) if totals else math.nan)} "
            f"| {ms(percentile(s.lags, 99))} | {ms(max(s.lags) if s.lags else math.nan)} "
            f"| {ms(max(s.gc_pauses) if s.gc_pauses else 0.0)} | {callback} | {f'{s.offered} / {s.messages}' if s.port is not None else '—'} |"
        )
    print()
    print(
        f"- the hanging server accepted {hanging.connections} connection(s) and answered none; "
        f"the answering one took {answering.requests} request(s)"
    )
    print(f"- services per alert: {len(SERVICES)}")


def run(rounds: int = 200) -> None:
    logging.getLogger("core").setLevel(logging.ERROR)  # alert failures are the point here
    asyncio.run(_run(rounds))


if __name__ == "__main__":
    run()
