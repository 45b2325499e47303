"""Crash-test worker: trip RULE-003 durably, say READY, then keep writing until SIGKILLed.

Usage: ``python tests/crash_worker.py <db path> <ISO time> [busy|freeze]`` (cwd = the repo,
repo on PYTHONPATH). The time is the ManualClock's: the test restores with the same instant.
Prints ``READY {json}`` as soon as the LockSet and RealizedPnlChanged notices have been
published (the engine publishes them only after their rows are committed). Then:

- ``busy``: prints ``WRITING`` once it is flushing batched rows (quotes, positions, the
  enforcement log) and never stops on its own, so the kill lands mid-write;
- ``freeze``: stops itself (SIGSTOP) at once, writer thread included: whatever was not
  committed when the notices went out never will be.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from datetime import datetime
from typing import Any

from core.config import AppConfig
from core.domain.clock import ManualClock
from core.engine.notices import LockSet, RealizedPnlChanged
from tests.builders import MNQ, config, make_engine, open_store, position, quote, trade

COOLDOWN_TRADE_ID = 7_000_000_001
LOCKOUT_TRADE_ID = 7_000_000_002


def crash_config() -> AppConfig:
    return config({"daily_realized_loss": {"limit": 500}, "cooldown_after_loss": {}})


def main(argv: list[str]) -> int:
    db_path, start = argv[1], datetime.fromisoformat(argv[2])
    mode = argv[3] if len(argv) > 3 else "busy"
    store = open_store(db_path, batch_interval=0.01)
    engine, clock, _ = make_engine(crash_config(), clock=ManualClock(start), store=store)
    locks: dict[str, Any] = {}
    nets: list[RealizedPnlChanged] = []
    engine.bus.subscribe(lambda n: locks.__setitem__(n.lock.rule_id, n.lock), LockSet)
    engine.bus.subscribe(nets.append, RealizedPnlChanged)

    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(trade("-150", at=clock.now(), trade_id=COOLDOWN_TRADE_ID))  # RULE-007
    clock.advance(30)
    engine.handle(trade("-400", at=clock.now(), trade_id=LOCKOUT_TRADE_ID))  # RULE-003
    while "RULE-003" not in locks or len(nets) < 2:
        engine.inbox.drain()  # report the moment the engine may: do not wait for the writer
        time.sleep(0.0002)
    hard, cooldown = locks["RULE-003"], locks["RULE-007"]
    ready = {
        "rule": hard.rule_id,
        "kind": hard.kind.value,
        "until": hard.until.isoformat(),
        "cooldown_until": cooldown.until.isoformat(),
        "net": str(nets[-1].net),
        "now": clock.now().isoformat(),
    }
    print("READY " + json.dumps(ready), flush=True)
    if mode == "freeze":
        os.kill(os.getpid(), signal.SIGSTOP)

    n = 0
    while True:  # busy until killed: batched rows are being flushed when the kill lands
        n += 1
        engine.handle(quote(MNQ, last=20000.0 + n % 8))
        engine.handle(position(MNQ, 1 + n % 3, 20000.0))
        engine.tick()
        if n == 50:
            print("WRITING", flush=True)
        time.sleep(0.001)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
