"""Replay: a month of about 5,000 fills with its one-minute bars through candidate rule sets.

The goal (issue 13) is a month in under 5 s on this machine. The input is the generated demo
month (MNQ and MES bars for every Globex minute, the trader's orders and fills written by the
simulated exchange), cut to exactly the requested number of fills; generating it is not timed.
The last table measures what the "What if…" window's job does to an event loop that keeps
enforcing meanwhile, on a worker thread (the GIL is shared) and in a worker process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
import tomllib
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import date

from bench.measure import ms, percentile
from core.app.demo_month import generate_month
from core.app.replay_service import DayRange, WhatIfSource, run_what_if
from core.config.io import DEFAULT_CONFIG_RESOURCE, parse_config
from core.config.models import AppConfig
from core.replay.inputs import ReplayInput
from core.replay.run import Candidate, replay_report

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 27)  # 20 trading days
FILLS_PER_DAY_FOR_5000 = 330


def strict_config() -> AppConfig:
    return parse_config({"rules": {
        "max_contracts": {"enabled": True, "limit": 3},
        "max_contracts_per_instrument": {"enabled": True, "default_limit": 2},
        "daily_realized_loss": {"enabled": True, "limit": 300},
        "daily_unrealized_loss": {"enabled": True, "limit": 150},
        "max_unrealized_profit": {"enabled": True, "target": 400},
        "trade_frequency_limit": {"enabled": True, "per_minute": 2, "per_hour": 20, "per_session": 60},
        "cooldown_after_loss": {"enabled": True},
        "no_stop_loss_grace": {"enabled": True, "grace_seconds": 20},
        "session_block_outside": {"enabled": True},
        "trade_management": {"enabled": True},
        "daily_realized_profit": {"enabled": True, "target": 800},
    }})


def month_input(fills: int) -> ReplayInput:
    month = generate_month(FIRST, LAST, seed=7,
                           fills_per_day=max(1, round(FILLS_PER_DAY_FOR_5000 * fills / 5000 * 1.1)))
    data = month.replay_input()
    trades = data.trades[:fills]
    cut = trades[-1].created_at
    orders = tuple(o for o in data.orders or () if o.created_at is not None and o.created_at <= cut)
    return replace(data, trades=trades, orders=orders)


def timed(data: ReplayInput, candidates: list[Candidate], repeat: int) -> tuple[list[float], int]:
    times, breaches = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        report = replay_report(data, candidates, first_day=FIRST, last_day=LAST)
        times.append(time.perf_counter() - start)
        breaches = sum(c.breaches for c in report.candidates)
    return times, breaches


async def loop_lag(executor: Executor | None, config: AppConfig, seconds: float = 2.0) -> list[float]:
    """Lateness of a 5 ms sleep on the loop while the What-if window's job (generate the demo
    month, fetch it over REST, replay it) runs on ``executor``; None: the loop alone."""
    late: list[float] = []

    async def probe(job: asyncio.Future[object] | None) -> None:
        end = time.perf_counter() + seconds
        while (job is None and time.perf_counter() < end) or (job is not None and not job.done()):
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            late.append(max(0.0, time.perf_counter() - start - 0.005) * 1000)

    if executor is None:
        await probe(None)
        return late
    days = DayRange(FIRST, LAST)
    job = asyncio.ensure_future(run_what_if(WhatIfSource(config, demo=True), [Candidate("c", config)],
                                            days, executor=executor))
    await probe(job)
    await job
    return late


def run(fills: int = 5000, repeat: int = 3) -> None:
    started = time.perf_counter()
    data = month_input(fills)
    made = time.perf_counter() - started
    bars = sum(len(b) for b in (data.bars or {}).values())
    default = parse_config(tomllib.loads(DEFAULT_CONFIG_RESOURCE.read_text()))
    print(f"Replay: {len(data.trades)} fills, {len(data.orders or ())} orders, {bars} one-minute bars "
          f"({FIRST} to {LAST}; generated in {made:.1f} s, not timed)")
    print(f"{'candidates':<44} {'best':>8} {'median':>8} {'breaches':>9}")
    for label, candidates in (
        ("default_config.toml", [Candidate("default", default)]),
        ("every rule on, strict limits", [Candidate("strict", strict_config())]),
        ("both, side by side", [Candidate("default", default), Candidate("strict", strict_config())]),
    ):
        times, breaches = timed(data, candidates, repeat)
        print(f"{label:<44} {min(times):>7.2f}s {statistics.median(times):>7.2f}s {breaches:>9}")
    print("What-if job (demo month: generate, fetch over REST, replay) beside an event loop:")
    print(f"  {'the loop lateness of a 5 ms sleep':<42} {'p50':>9} {'p99':>9} {'max':>9}")
    spawn = multiprocessing.get_context("spawn")
    for label, make in (
        ("loop alone", lambda: None),
        ("job on a worker thread", lambda: ThreadPoolExecutor(1)),
        ("job in a worker process (the window's)", lambda: ProcessPoolExecutor(1, mp_context=spawn)),
    ):
        executor = make()
        try:
            late = asyncio.run(loop_lag(executor, default))
        finally:
            if executor is not None:
                executor.shutdown()
        print(f"  {label:<42} {ms(percentile(late, 50)):>9} {ms(percentile(late, 99)):>9} {ms(max(late)):>9}")


if __name__ == "__main__":
    run()
