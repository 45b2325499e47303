"""Breach round trip and quote throughput: the real service against the simulated gateway.

Everything runs in one process and one asyncio loop, over loopback, as demo mode does: the
:class:`SimulatedGateway` (aiohttp REST + both SignalR hubs) and the :class:`RiskService`
(httpx REST, signalrcore hubs with their receive threads, the engine, the executor).

Setup: one demo account long 1 contract in each of MNQ, MES, NQ and ES; RULE-001 max_contracts
limit 4 (reduce to the limit) and RULE-004 open loss $300 per position, every other rule off.

* RULE-001 round: the benchmark buys 1 more of one contract on the sim exchange, which pushes
  the position (size 2) on the user hub. The clock starts right before that push and stops when
  the resulting ``Position/partialCloseContract`` reaches the sim's REST handler. The partial
  close fills, the position is back to 1, the next round uses the next contract (a size change
  is a fresh breach: the engine's resend guard forgets a close once the size moved).
* RULE-004 round: the benchmark pushes a GatewayQuote far enough against a position to lose
  more than $300 (clock starts right before the push) and stops when ``Position/closeContract``
  arrives. Then a normal quote restores the mark and the position is reopened.
* Quote storm: GatewayQuote pushes to the four held contracts at a paced target rate while
  breaches of both kinds are injected every so often. Every quote is stamped when the sim
  pushes it, when signalrcore's receive thread parses it and when it enters ``engine.handle``.

Instrumentation is attached from the outside (wrapped bound methods on instances and one
wrapped class method on the hub protocol); nothing in ``core`` is edited. Two budgets are
lifted so that hundreds of breaches a minute are possible at all: the sim's per-token REST
limit and the client's own 200-per-minute limiter. Both are policies, not the path measured.

The hooks live in :mod:`bench.gateway_probe`, the setup and the scenarios in
:mod:`bench.gateway_harness`; this module runs them and prints the report.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import statistics

from bench.gateway_harness import HELD, OPEN_LOSS_LIMIT, Harness
from bench.gateway_probe import Breach
from bench.measure import ms, percentile

DEFAULT_RATES = (1_000, 2_500, 5_000, 7_500, 10_000, 15_000)


def summarize(breaches: list[Breach]) -> dict[str, float]:
    totals = [b.total_ms for b in breaches]

    def stage(a: str, z: str) -> float:
        values = [(getattr(b, z) - getattr(b, a)) * 1e3 for b in breaches]
        values = [v for v in values if not math.isnan(v)]
        return statistics.median(values) if values else math.nan

    return {
        "count": len(totals),
        "p50": statistics.median(totals) if totals else math.nan,
        "p99": percentile(totals, 99),
        "max": max(totals) if totals else math.nan,
        "to_recv": stage("pushed", "received"),
        "to_engine": stage("received", "engine"),
        "to_submit": stage("engine", "submitted"),
        "to_arrive": stage("submitted", "arrived"),
        "read_rt": stage("submitted", "read"),
    }


async def _run(breaches: int, rates: list[int], seconds: float, breach_every: float) -> None:
    harness = Harness()
    await harness.start()
    try:
        gc.collect()
        pos = await harness.breach_rounds("RULE-001", breaches)
        quote = await harness.breach_rounds("RULE-004", breaches)
        storms = [await harness.storm(rate, seconds, breach_every) for rate in rates]
        stray = harness.probe.stray_enforcement
    finally:
        await harness.stop()

    print(
        "Gateway benchmark: RiskService vs SimulatedGateway in one process, one asyncio loop, loopback"
    )
    print(
        f"({len(HELD)} positions of 1 on a demo account; RULE-001 limit {len(HELD)}, RULE-004 ${OPEN_LOSS_LIMIT:,.0f} per position)"
    )
    print()
    print("| breach → enforcement request at the sim (quiet market) | rounds | p50 | p99 | max |")
    print("|---|---|---|---|---|")
    rows = (
        ("RULE-001 position push → partialCloseContract", pos),
        ("RULE-004 quote push → closeContract", quote),
    )
    summaries = []
    for label, data in rows:
        s = summarize(data)
        summaries.append((label, s))
        print(f"| {label} | {s['count']} | {ms(s['p50'])} | {ms(s['p99'])} | {ms(s['max'])} |")
    print()
    print(
        "| where the time goes (medians) | sim push → client receive thread | → engine.handle | → executor.submit | → request at sim | of which pre-read round trip |"
    )
    print("|---|---|---|---|---|---|")
    for label, s in summaries:
        pre = ms(s["read_rt"]) if not math.isnan(s["read_rt"]) else "none"
        print(
            f"| {label.split(' ')[0]} | {ms(s['to_recv'])} | {ms(s['to_engine'])} | {ms(s['to_submit'])} | {ms(s['to_arrive'])} | {pre} |"
        )
    print()
    print(
        f"Quote storm: GatewayQuote to the {len(HELD)} held contracts, {seconds:g} s per rate, a breach injected every ~{breach_every:g} s (alternating RULE-001 / RULE-004)"
    )
    print()
    print(
        "| target quotes/s | pushed/s | handled / sent | push→engine lag p50 | p99 | max | lag first 5 % → last 5 % | peak backlog: sim queue / in transit / loop | kept up | RULE-001 p50 / p99 (n) | RULE-004 p50 / p99 (n) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in storms:
        by_kind = {}
        for kind in ("RULE-001", "RULE-004"):
            totals = [b.total_ms for b in r["breaches"] if b.kind == kind]
            by_kind[kind] = (
                f"{ms(statistics.median(totals) if totals else math.nan)} / {ms(percentile(totals, 99))} ({len(totals)})"
            )
        p = r["peak"]
        kept = "yes" if r["kept_up"] else ("no (sim dropped the client)" if r["dropped"] else "no")
        print(
            f"| {r['rate']:,} | {r['achieved']:,.0f} | {r['handled']:,} / {r['sent']:,} | {ms(r['lag_p50'])} | {ms(r['lag_p99'])} "
            f"| {ms(r['lag_max'])} | {ms(r['head_lag'])} → {ms(r['tail_lag'])} | {p['sim_queue']:,} / {p['in_transit']:,} / {p['loop']:,} | {kept} "
            f"| {by_kind['RULE-001']} | {by_kind['RULE-004']} |"
        )
    print()
    print(
        "| target quotes/s | receive-thread CPU per quote | loop CPU per quote (sim + service) | of which service _deliver (parse + engine) | loop busy |"
    )
    print("|---|---|---|---|---|")
    for r in storms:
        print(
            f"| {r['rate']:,} | {r['recv_cpu_us']:.1f} µs | {r['loop_cpu_us']:.1f} µs | {r['deliver_us']:.1f} µs | {r['loop_busy']:.0%} |"
        )
    print()
    sustained = [r["rate"] for r in storms if r["kept_up"]]
    print(
        f"- highest rate sustained without falling behind: {max(sustained):,} quotes/s"
        if sustained
        else "- no tested rate was sustained without falling behind"
    )
    at_5k = next((r for r in storms if r["rate"] == 5000), None)
    if at_5k is not None:
        totals = [b.total_ms for b in at_5k["breaches"]]
        print(
            f"- enforcement latency under 5,000 quotes/s: p50 {ms(statistics.median(totals) if totals else math.nan)}, "
            f"p99 {ms(percentile(totals, 99))}, max {ms(max(totals) if totals else math.nan)} over {len(totals)} breaches"
        )
    for r in storms:
        for e in r["errors"]:
            print(f"- at {r['rate']:,}/s a breach did not complete: {e}")
    if stray:
        print(f"- {stray} enforcement request(s) arrived outside a measured round")


def run(
    breaches: int = 200,
    rates: list[int] | None = None,
    seconds: float = 4.0,
    breach_every: float = 0.2,
) -> None:
    logging.getLogger("core").setLevel(logging.ERROR)  # retries under a storm are expected
    asyncio.run(_run(breaches, rates or list(DEFAULT_RATES), seconds, breach_every))


if __name__ == "__main__":
    run()
