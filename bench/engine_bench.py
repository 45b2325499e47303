"""Engine throughput and event→command latency, in-process (no network, no disk).

Setup: every rule enabled (RULE-001…017, the Topstep guard on 150K Combine accounts) with limits
the quote stream does not reach, two accounts with five open positions each (10 positions in 5
contracts), every position with a protective stop, contracts from the live contract list. The
quote stream is a random walk.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.config.io import parse_config
from core.domain.clock import ManualClock
from core.domain.commands import RecordingPort
from core.domain.events import AccountEvent, OrderEvent, PositionEvent, QuoteEvent, TradeEvent
from core.engine.engine import Engine
from core.modules.contracts import Contract

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "projectx-live"
CONTRACTS = {
    "CON.F.US.MNQ.U26": 29500.0,
    "CON.F.US.MES.U26": 7700.0,
    "CON.F.US.EP.U26": 7700.0,
    "CON.F.US.ENQ.U26": 29500.0,
    "CON.F.US.CLE.V26": 85.0,
}
ACCOUNTS = (1001, 1002)
NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)


def all_rules_config(open_loss_limit: float = 10_000_000, mll_buffer: float = 250) -> Any:
    big = 10_000_000
    return parse_config(
        {
            "rules": {
                "max_contracts": {"enabled": True, "limit": 100},
                "max_contracts_per_instrument": {"enabled": True, "default_limit": 100},
                "daily_realized_loss": {"enabled": True, "limit": big},
                "daily_unrealized_loss": {"enabled": True, "limit": open_loss_limit},
                "max_unrealized_profit": {"enabled": True, "target": big},
                "trade_frequency_limit": {"enabled": True, "per_minute": 1000, "per_hour": 10000, "per_session": 100000},
                "cooldown_after_loss": {"enabled": True, "tiers": [{"loss": big, "seconds": 60}]},
                "no_stop_loss_grace": {"enabled": True, "grace_seconds": 30},
                "session_block_outside": {
                    "enabled": True,
                    "start": "00:00",
                    "end": "23:59",
                    "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "respect_holidays": False,
                },
                "auth_loss_guard": {"enabled": True},
                "symbol_blocks": {"enabled": True, "symbols": ["RTY"]},
                "trade_management": {"enabled": True, "breakeven_trigger_ticks": 1_000_000, "trail_activation_ticks": 1_000_000, "trailing": True},
                "daily_realized_profit": {"enabled": True, "target": big},
                "max_loss_guard": {"enabled": True, "buffer": mll_buffer},
                "plan_position_size": {"enabled": True},
                "firm_close": {"enabled": True},
                "loss_streak": {"enabled": True, "losses": 1000},
            }
        }
    )


def build_engine() -> tuple[Engine, ManualClock, RecordingPort]:
    clock = ManualClock(NOW)
    port = RecordingPort()
    engine = Engine(all_rules_config(), clock, port)
    for raw in json.loads((FIXTURES / "contracts_available.json").read_text()):
        engine.contracts.put(Contract.from_gateway(raw), persist=False)
    order_id = 9_000_000_000
    for account_id in ACCOUNTS:
        # A 150K Combine (floor 145,500 at the start), far from its floor.
        engine.handle(AccountEvent(account_id, name=f"150KTC-V2-BENCH-{account_id}",
                                   balance=1_000_000.0, can_trade=True))
        for n, (contract_id, price) in enumerate(CONTRACTS.items()):
            long = (n + account_id) % 2 == 0
            engine.handle(
                PositionEvent(n + 1, account_id, contract_id, 1 if long else 2, 2, price, NOW)
            )
            order_id += 1
            engine.handle(
                OrderEvent(
                    order_id=order_id,
                    account_id=account_id,
                    contract_id=contract_id,
                    status=1,
                    type=4,
                    side=1 if long else 0,
                    size=2,
                    stop_price=price * (0.99 if long else 1.01),
                    created_at=NOW,
                )
            )
    port.clear()
    return engine, clock, port


def quote_stream(count: int, seed: int = 7) -> list[QuoteEvent]:
    rng = random.Random(seed)
    prices = dict(CONTRACTS)
    ids = list(CONTRACTS)
    out = []
    for i in range(count):
        contract_id = ids[i % len(ids)]
        prices[contract_id] += rng.choice((-0.25, 0.0, 0.25))
        p = prices[contract_id]
        if i % 3 == 0:  # live quotes are often partial: bid/ask only
            out.append(QuoteEvent(contract_id, None, p - 0.25, p))
        else:
            out.append(QuoteEvent(contract_id, p, p - 0.25, p + 0.25))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def throughput(quotes: int) -> dict[str, float]:
    engine, _, port = build_engine()
    stream = quote_stream(quotes)
    handle = engine.handle
    for event in stream[:5000]:  # warm up
        handle(event)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for event in stream:
            handle(event)
        elapsed = time.perf_counter() - start
        # per-event handling time on a sample
        sample = stream[:20_000]
        per_event = []
        perf = time.perf_counter
        for event in sample:
            t = perf()
            handle(event)
            per_event.append((perf() - t) * 1e6)
    finally:
        gc.enable()
    assert not port.commands, "the quote stream must not breach anything"
    return {
        "events_per_s": quotes / elapsed,
        "handle_p50_us": percentile(per_event, 50),
        "handle_p99_us": percentile(per_event, 99),
    }


def latency(scenario: str, breaches: int) -> dict[str, float]:
    """Time from an event entering the engine to its enforcement command reaching the port."""
    engine, clock, port = build_engine()
    account_id = ACCOUNTS[0]
    contract_id = "CON.F.US.MNQ.U26"
    price = CONTRACTS[contract_id]
    events: list[Any] = []
    if scenario == "hard-lock gate":
        engine.handle(
            TradeEvent(1, account_id, contract_id, NOW, price, 1, 1, Decimal("0.36"), Decimal(-20_000_000))
        )
        port.clear()
        # every event grows the position: the gate must close each one
        events = [
            PositionEvent(7, account_id, "CON.F.US.M2K.U26", 1, 1 + i, 2500.0, NOW)
            for i in range(breaches)
        ]
    elif scenario == "RULE-001 reduce":
        events = [
            PositionEvent(8, account_id, "CON.F.US.M2K.U26", 1, 101 + i, 2500.0, NOW)
            for i in range(breaches)
        ]
    elif scenario == "RULE-014 quote":
        # The account stands $300 above its floor before open P&L; each quote's open loss
        # takes it inside the $250 buffer (the guard flattens and locks; the lock is lifted,
        # unmeasured, so the next quote breaches afresh).
        engine.resend.resend_after = 0.0
        long = (0 + account_id) % 2 == 0
        bad = price - 30.0 if long else price + 30.0  # MNQ 2 lots: −$120, past the buffer
        engine.handle(QuoteEvent(contract_id, price))  # every other position at its entry
        for other in CONTRACTS:
            engine.handle(QuoteEvent(other, CONTRACTS[other]))
        # The balance as read over REST (a pushed drop that no fill explains is read again
        # before the guard acts on it).
        engine.handle(AccountEvent(account_id, balance=145_800.0, read_at=clock.now()))
        clock.advance(3)
        port.clear()

        def unlock() -> None:  # not measured: lets every quote breach afresh
            engine.lockouts.clear(account_id, "RULE-014", lambda _lock: None)

        events = []
        for i in range(breaches):
            events.append(unlock)
            events.append(QuoteEvent(contract_id, bad + (0.25 if i % 2 else 0.0)))
    elif scenario == "RULE-004 quote":
        engine.apply_config(all_rules_config(open_loss_limit=100.0))
        engine.resend.resend_after = 0.0  # measure every breach, not just the first
        long = (0 + account_id) % 2 == 0
        bad = price - 200.0 if long else price + 200.0  # MNQ: $2/pt x 2 = -$800
        events = [QuoteEvent(contract_id, bad + (0.25 if i % 2 else 0.0)) for i in range(breaches)]
    gc.collect()
    gc.disable()
    try:
        for event in events:
            if callable(event):
                event()
            else:
                engine.handle(event)
    finally:
        gc.enable()
    samples = [
        (arrived - command.event_at) * 1e3
        for command, arrived in zip(port.commands, port.arrived_at, strict=True)
    ]
    if not samples:
        return {"count": 0, "p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {
        "count": len(samples),
        "p50_ms": statistics.median(samples),
        "p99_ms": percentile(samples, 99),
        "max_ms": max(samples),
    }


def run(quotes: int = 200_000, breaches: int = 2_000) -> None:
    print("Engine benchmark: every rule enabled (001-017), 2 accounts x 5 positions in 5 contracts, in-process")
    tp = throughput(quotes)
    print()
    print("| measure | value |")
    print("|---|---|")
    print(f"| quote events/s through the engine ({quotes:,} quotes) | {tp['events_per_s']:,.0f} |")
    print(f"| handle() per quote, p50 | {tp['handle_p50_us']:.1f} µs |")
    print(f"| handle() per quote, p99 | {tp['handle_p99_us']:.1f} µs |")
    print()
    print("| breach scenario | commands | event→command p50 | p99 | max |")
    print("|---|---|---|---|---|")
    for scenario in ("hard-lock gate", "RULE-001 reduce", "RULE-004 quote", "RULE-014 quote"):
        r = latency(scenario, breaches)
        print(
            f"| {scenario} | {r['count']:,} | {r['p50_ms']:.3f} ms | {r['p99_ms']:.3f} ms | {r['max_ms']:.3f} ms |"
        )
