"""A real crash: a worker process trips RULE-003, reports it, and is SIGKILLed mid-write.

A fresh engine on the same file must get back the same lock and the same day's P&L, and
must still enforce the lock.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.domain.clock import ManualClock
from core.domain.commands import CloseContract
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, MNQ, REPO, T0, make_engine, position, trade
from tests.crash_worker import LOCKOUT_TRADE_ID, crash_config
from tests.persistence_support import rows, store_pool

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

LINE_TIMEOUT = 60.0  # a safety net against a hung worker, not a timing assertion


class Worker:
    def __init__(self, db_path: Path, mode: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "tests/crash_worker.py", str(db_path), T0.isoformat(), mode],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, prefix: str) -> str:
        try:
            line = self._lines.get(timeout=LINE_TIMEOUT)
        except queue.Empty:
            line = None
        if line is None or not line.startswith(prefix):
            self.kill()
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"worker said {line!r} instead of {prefix!r}; stderr:\n{stderr}")
        return line[len(prefix) :].strip()

    def kill(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.mark.parametrize(
    "mode",
    [
        "busy",  # killed while batched rows are being written
        "freeze",  # frozen the moment it reported: the report must already be durable
    ],
)
def test_a_lock_and_the_days_pnl_survive_sigkill(tmp_path: Path, mode: str) -> None:
    db_path = tmp_path / "state.db"
    worker = Worker(db_path, mode)
    try:
        ready = json.loads(worker.expect("READY"))
        if mode == "busy":
            worker.expect("WRITING")
    finally:
        code = worker.kill()
    assert code == -signal.SIGKILL
    assert ready["rule"] == "RULE-003" and ready["kind"] == "hard"
    assert Decimal(ready["net"]) == Decimal("-550.72")

    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
    now = datetime.fromisoformat(ready["now"])
    with store_pool() as stores:
        store = stores.open(db_path)
        engine, _, port = make_engine(crash_config(), clock=ManualClock(now), store=store)
        engine.restore()

        hard = engine.lockouts.get(ACCOUNT, "RULE-003")
        assert hard is not None
        assert hard.kind is LockKind.HARD
        assert hard.until == datetime.fromisoformat(ready["until"])
        cooldown = engine.lockouts.get(ACCOUNT, "RULE-007")
        assert cooldown is not None and cooldown.kind is LockKind.COOLDOWN
        assert cooldown.until == datetime.fromisoformat(ready["cooldown_until"])
        day = date(2026, 8, 19)
        assert engine.pnl.realized(ACCOUNT, day) == Decimal(ready["net"])
        assert rows(db_path, "SELECT realized_pnl FROM daily_pnl") == [(ready["net"],)]

        # The stream re-sends the trade that tripped the lock: counted once, still locked.
        engine.handle(trade("-400", at=now, trade_id=LOCKOUT_TRADE_ID))
        assert engine.pnl.realized(ACCOUNT, day) == Decimal(ready["net"])
        port.clear()
        engine.handle(position(MNQ, 0, 0.0))
        engine.handle(position(MNQ, 1, 20000.0))  # a position appears during the lock
        assert [(type(c), c.rule_id, c.contract_id) for c in port.commands] == [
            (CloseContract, "RULE-003", MNQ)
        ]
