"""The gateway benchmark's harness: the simulated gateway and the real service, driven in-process.

Starts both with the probe attached, pushes quotes, runs single breaches and breach rounds, and
paces quote storms (then restores the positions after each).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.gateway_probe import Breach, Probe
from bench.measure import percentile, perf
from core.app.credentials import Credentials
from core.app.service import RiskService
from core.config.io import parse_config
from core.domain.events import QuoteEvent
from core.gateway.ratelimit import RateLimiter
from core.gateway.rest import GatewayRest
from core.sim.market import QUOTE_EVENT
from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway

ACCOUNT = DEMO_ACCOUNT_ID
HELD = ("CON.F.US.MNQ.U26", "CON.F.US.MES.U26", "CON.F.US.ENQ.U26", "CON.F.US.EP.U26")
OPEN_LOSS_LIMIT = 300.0
MARKET, BUY = 2, 0
ROUND_TIMEOUT = 10.0
# "Kept up" at a rate: every quote reached the engine, the pacer hit the target, the sim never
# dropped the client, and the backlog did not keep growing: the median lag of the last 5 % of
# the quotes is under KEPT_UP_TAIL_MS and at most KEPT_UP_GROWTH_MS above that of the first
# 5 %. Lag jitter (p99) is reported, not judged.
KEPT_UP_TAIL_MS = 50.0
KEPT_UP_GROWTH_MS = 20.0


def bench_config(sim: SimulatedGateway, data_dir: Path) -> Any:
    return parse_config(
        {
            "gateway": {
                "api_url": sim.base_url,
                "user_hub_url": sim.user_hub_url,
                "market_hub_url": sim.market_hub_url,
                "username": DEMO_USERNAME,
            },
            "general": {"accounts": [ACCOUNT], "data_dir": str(data_dir)},
            "rules": {
                "max_contracts": {"enabled": True, "limit": len(HELD), "reduce_to_limit": True},
                "daily_unrealized_loss": {
                    "enabled": True,
                    "limit": OPEN_LOSS_LIMIT,
                    "scope": "position",
                },
            },
        }
    )


async def until(cond: Callable[[], bool], what: str, timeout: float = ROUND_TIMEOUT) -> None:
    deadline = perf() + timeout
    while not cond():
        if perf() > deadline:
            raise TimeoutError(f"gateway bench: timed out waiting for {what}")
        await asyncio.sleep(0.0005)


class Harness:
    def __init__(self) -> None:
        self.sim = SimulatedGateway(
            market_interval=None,
            rate_limit=(10_000_000, 60.0),  # lifted: hundreds of breaches a minute
        )
        self.probe = Probe()
        self.probe.wrap_user_push(self.sim)
        self.probe.wrap_rest(self.sim)
        self.undo_patch = self.probe.patch_receive_thread()
        self.data_dir = Path(tempfile.mkdtemp(prefix="riskmanager-gwbench-"))
        self.service: RiskService
        self.quotes: dict[str, list[dict[str, Any]]] = {}
        self.bad: dict[str, dict[str, Any]] = {}
        self._phase = 0

    async def start(self) -> None:
        sim = self.sim
        await sim.start()
        for contract_id in HELD:
            assert sim.exchange.place_order(ACCOUNT, contract_id, MARKET, BUY, 1).success
            self._build_quotes(contract_id)
        config = bench_config(sim, self.data_dir)

        def rest() -> GatewayRest:
            limiter = RateLimiter(clock=time.monotonic, sleep=asyncio.sleep, limit=10_000_000)
            return GatewayRest(sim.base_url, DEMO_USERNAME, DEMO_API_KEY, limiter=limiter)

        self.service = RiskService(
            config,
            Credentials(DEMO_USERNAME, DEMO_API_KEY),
            data_dir=self.data_dir,
            rest_factory=rest,
        )
        await self.service.start()
        self.probe.wrap_service(self.service)  # before the hubs' first connect runs
        await self.service.wait_protected(15.0)
        await until(self._subscribed, "quote subscriptions", 15.0)
        for contract_id in HELD:  # a first mark for every held contract
            self.push_quote(contract_id, self.quotes[contract_id][0])
        await self.settled()

    async def stop(self) -> None:
        try:
            await self.service.stop()
        finally:
            await self.sim.stop()
            self.undo_patch()
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _subscribed(self) -> bool:
        subs = [c.subs.quotes for c in self.sim.market_hub.connections if c.handshaken]
        return any(set(HELD) <= s for s in subs)

    def _build_quotes(self, contract_id: str) -> None:
        sim = self.sim
        contract = sim.exchange.contracts[contract_id]
        tick = contract.tick_size
        base = sim.market.last_price(contract_id)
        template = sim.market.quote_payload(contract_id)
        variants = []
        for step in (0, 1, 2, 1, 0, -1, -2, -1):  # a few ticks either side: no breach
            p = base + step * tick
            variants.append({**template, "lastPrice": p, "bestBid": p - tick, "bestAsk": p})
        self.quotes[contract_id] = variants
        # Far enough against a long 1 to lose 1.5x the open-loss limit.
        ticks = math.ceil(1.5 * OPEN_LOSS_LIMIT / contract.tick_value)
        p = base - ticks * tick
        self.bad[contract_id] = {**template, "lastPrice": p, "bestBid": p - tick, "bestAsk": p}

    # --- pushes and state ---
    def push_quote(self, contract_id: str, data: dict[str, Any]) -> int:
        sent = self.probe.quotes.sent
        seq = len(sent)
        sent.append(perf())
        self.sim.push_market_event(QUOTE_EVENT, contract_id, data)
        return seq

    def mirror_size(self, contract_id: str) -> int:
        p = self.service.engine.mirror.account(ACCOUNT).positions.get(contract_id)
        return 0 if p is None else p.size

    def exchange_size(self, contract_id: str) -> int:
        p = self.sim.exchange.position(ACCOUNT, contract_id)
        return 0 if p is None else abs(p.net)

    def idle(self) -> bool:
        return not self.service.enforcement.in_flight()

    async def settled(self) -> None:
        await until(
            lambda: (
                self.idle() and all(self.mirror_size(c) == 1 == self.exchange_size(c) for c in HELD)
            ),
            "positions back at 1 each",
        )

    # --- one breach each ---
    async def position_breach(self, contract_id: str) -> Breach:
        probe = self.probe
        b = Breach("RULE-001", contract_id, size=self.exchange_size(contract_id) + 1)
        probe.begin(b)
        result = self.sim.exchange.place_order(ACCOUNT, contract_id, MARKET, BUY, 1)
        assert result.success, result
        await asyncio.wait_for(probe.arrived.wait(), ROUND_TIMEOUT)
        probe.current = None
        await until(
            lambda: (
                self.idle()
                and self.mirror_size(contract_id) == 1 == self.exchange_size(contract_id)
            ),
            "the partial close to land",
        )
        return b

    async def quote_breach(self, contract_id: str) -> Breach:
        probe = self.probe
        b = Breach("RULE-004", contract_id)
        probe.begin(b)
        b.pushed = perf()
        b.seq = self.push_quote(contract_id, self.bad[contract_id])
        await asyncio.wait_for(probe.arrived.wait(), ROUND_TIMEOUT)
        probe.current = None
        q = probe.quotes
        b.received = probe.quote_index(b.seq, q.received, probe.base[1])
        b.engine = probe.quote_index(b.seq, q.handled, probe.base[2])
        # Restore: a normal mark first (the reopened position must not see the bad one), then
        # wait for the close to be confirmed and reopen.
        self._phase += 1
        restore = self.push_quote(contract_id, self.quotes[contract_id][self._phase % 8])
        await until(
            lambda: len(q.handled) - probe.base[2] > restore - probe.base[0], "the restoring quote"
        )
        await until(
            lambda: (
                self.idle()
                and self.mirror_size(contract_id) == 0 == self.exchange_size(contract_id)
            ),
            "the close to land",
        )
        assert self.sim.exchange.place_order(ACCOUNT, contract_id, MARKET, BUY, 1).success
        await until(lambda: self.mirror_size(contract_id) == 1, "the reopened position")
        return b

    async def breach(self, kind: str, contract_id: str) -> Breach:
        if kind == "RULE-001":
            return await self.position_breach(contract_id)
        return await self.quote_breach(contract_id)

    # --- phases ---
    async def breach_rounds(self, kind: str, rounds: int, warmup: int = 20) -> list[Breach]:
        self.probe.start_phase()
        out = []
        for i in range(warmup + rounds):
            b = await self.breach(kind, HELD[i % len(HELD)])
            if i >= warmup:
                out.append(b)
        return out

    async def storm(self, rate: int, seconds: float, breach_every: float) -> dict[str, Any]:
        probe, sim, service = self.probe, self.sim, self.service
        await self.settled()
        probe.start_phase()
        q = probe.quotes
        base_sent, base_recv, base_handled = probe.base
        connections = service.market_hub.connections_made
        breaches: list[Breach] = []
        errors: list[str] = []
        stopping = False

        async def inject() -> None:
            i = 0
            await asyncio.sleep(breach_every / 2)
            while not stopping:
                kind = "RULE-001" if i % 2 == 0 else "RULE-004"
                try:
                    breaches.append(await self.breach(kind, HELD[(i // 2) % len(HELD)]))
                except TimeoutError as exc:
                    errors.append(f"{kind}: {exc or 'timed out'}")
                    probe.current = None
                    return
                i += 1
                await asyncio.sleep(breach_every)

        injector = asyncio.create_task(inject())
        total = int(rate * seconds)
        contracts = [(cid, self.quotes[cid]) for cid in HELD]
        peak = {"sim_queue": 0, "in_transit": 0, "loop": 0}
        cpu0, wall0 = time.thread_time(), perf()
        probe.recv_cpu, probe.recv_cpu_mark = 0.0, None
        deliver0, calls0 = probe.deliver_time, probe.deliver_calls
        pushed = 0
        start = perf()
        next_sample = start
        dropped = False
        while pushed < total:
            now = perf()
            due = min(total, int((now - start) * rate) + 1)
            while pushed < due:
                contract_id, variants = contracts[pushed % 4]
                self.push_quote(contract_id, variants[(pushed // 4) % 8])
                pushed += 1
            if now >= next_sample:
                next_sample = now + 0.05
                sim_queue = sum(c._queue.qsize() for c in sim.market_hub.connections)
                sent = len(q.sent) - base_sent
                recv = len(q.received) - base_recv
                handled = len(q.handled) - base_handled
                peak["sim_queue"] = max(peak["sim_queue"], sim_queue)
                peak["in_transit"] = max(peak["in_transit"], sent - sim_queue - recv)
                peak["loop"] = max(peak["loop"], recv - handled)
            if service.market_hub.connections_made != connections or not sim.market_hub.connections:
                dropped = True
                break
            await asyncio.sleep(0.001)
        send_end = perf()
        stopping = True
        sent_total = len(q.sent) - base_sent

        def lost() -> bool:
            return (
                service.market_hub.connections_made != connections or not sim.market_hub.connections
            )

        if not (dropped or lost()):
            with contextlib.suppress(TimeoutError):
                await until(
                    lambda: len(q.handled) - base_handled >= sent_total or lost(),
                    "the backlog to drain",
                    30.0,
                )
        drained = perf()
        loop_cpu = time.thread_time() - cpu0
        recv_cpu = probe.recv_cpu
        window = drained - wall0
        n_handled = len(q.handled) - base_handled
        dropped = dropped or lost()
        if dropped:
            injector.cancel()  # its quotes may have gone down with the connection
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(injector, 2 * ROUND_TIMEOUT)
        lags: list[float] = []
        head = tail = math.nan
        if not dropped and n_handled == len(q.sent) - base_sent:
            sent_t, handled_t = q.sent[base_sent:], q.handled[base_handled:]
            lags = [(h - s) * 1e3 for s, h in zip(sent_t, handled_t, strict=True)]
            k = max(1, len(lags) // 20)
            head, tail = statistics.median(lags[:k]), statistics.median(lags[-k:])
        deliver_us = (probe.deliver_time - deliver0) / max(1, probe.deliver_calls - calls0) * 1e6
        result: dict[str, Any] = {
            "rate": rate,
            "sent": sent_total,
            "achieved": pushed / max(1e-9, send_end - start),
            "handled": n_handled,
            "lag_p50": percentile(lags, 50),
            "lag_p99": percentile(lags, 99),
            "lag_max": max(lags) if lags else math.nan,
            "head_lag": head,
            "tail_lag": tail,
            "peak": peak,
            "dropped": dropped,
            "breaches": breaches,
            "errors": errors,
            "loop_cpu_us": loop_cpu / max(1, sent_total) * 1e6,
            "recv_cpu_us": recv_cpu / max(1, sent_total) * 1e6,
            "deliver_us": deliver_us,
            "loop_busy": loop_cpu / max(1e-9, window),
        }
        result["kept_up"] = (
            not dropped
            and not errors
            and bool(lags)
            and result["achieved"] >= 0.95 * rate
            and result["tail_lag"] <= KEPT_UP_TAIL_MS
            and result["tail_lag"] - result["head_lag"] <= KEPT_UP_GROWTH_MS
        )
        await self.recover()
        return result

    async def recover(self) -> None:
        """Back to 1 contract per held position with a normal mark, whatever a storm left
        (after a dropped connection a breach may be half done and the mark may be the bad one)."""
        probe, service, q = self.probe, self.service, self.probe.quotes
        probe.current = None
        for _ in range(10):
            await until(self.idle, "the executor to finish", 30.0)
            await until(
                lambda: service.market_hub.connected and service.user_hub.connected,
                "the hubs",
                30.0,
            )
            n = -1
            while n != len(q.handled):  # nothing left in flight from an old connection
                n = len(q.handled)
                await asyncio.sleep(0.1)
            # A contract closed when the connection went is not re-subscribed, and its last mark
            # may be the bad quote: a reopened position would be closed on it at once. Set a
            # normal mark straight in the engine (recovery only, nothing is timed here).
            for contract_id in HELD:
                d = self.quotes[contract_id][0]
                service.engine.handle(
                    QuoteEvent(contract_id, d["lastPrice"], d["bestBid"], d["bestAsk"])
                )
            for contract_id in HELD:
                size = self.exchange_size(contract_id)
                if size == 0:
                    assert self.sim.exchange.place_order(
                        ACCOUNT, contract_id, MARKET, BUY, 1
                    ).success
                elif size > 1:
                    self.sim.exchange.partial_close_position(ACCOUNT, contract_id, size - 1)
            try:
                await until(self._subscribed, "quote subscriptions", 2.0)
                probe.start_phase()
                for contract_id in HELD:
                    self.push_quote(contract_id, self.quotes[contract_id][0])
                await until(
                    lambda: len(q.handled) - probe.base[2] >= len(HELD), "the restoring quotes", 2.0
                )
            except TimeoutError:
                continue
            await asyncio.sleep(0.05)  # a reopened position closed on a stale mark shows by now
            await until(self.idle, "the executor to finish", 30.0)
            if all(self.mirror_size(c) == 1 == self.exchange_size(c) for c in HELD):
                return
        raise TimeoutError("gateway bench: could not restore the positions after a storm")
