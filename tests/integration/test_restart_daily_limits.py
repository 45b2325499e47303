"""The headless app, restarted with its daily loss limit lowered below today's loss while it was
stopped, locks the account from its state file at once: before the gateway has answered
anything, so before any trade or position could be re-read. Once the gateway is back the
position still open is closed."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest

from core.sim.server import SimulatedGateway
from tests.integration.support import (
    ACCT,
    BUY,
    MNQ,
    Trader,
    config_toml,
    lock_rows,
    start_headless,
    until,
)

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
    pytest.mark.slow,
]

UNREACHABLE = 10**9  # every REST request fails until the faults are cleared


def held_in_file(db_path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5.0)
    try:
        return [row[0] for row in conn.execute("SELECT contract_id FROM positions")]
    finally:
        conn.close()


def declared_protected(line: str) -> bool:
    return str(ACCT) in line and line.endswith(" protected") and not line.endswith("not protected")


async def test_a_limit_lowered_while_stopped_locks_from_the_file_before_the_gateway_answers(
    sim: SimulatedGateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(config_toml(sim, data_dir, {"daily_realized_loss": {"limit": 1000}}))
    trader = Trader(sim)
    first = await start_headless(tmp_path, config)
    try:
        await first.expect("protected", str(ACCT))
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))  # −$600 and fees
        await first.expect("WARNING", str(ACCT), "daily realized P&L")  # the loss is on file
        trader.market(MNQ, BUY, 2)
        await until(lambda: held_in_file(data_dir / "state.db") == [MNQ], "the position on file")
        assert await first.signal(signal.SIGTERM) == 0
    finally:
        await first.kill()
    assert lock_rows(data_dir / "state.db") == []  # −$600 of $1,000: no lock

    config.write_text(config.read_text().replace("limit = 1000", "limit = 500"))
    sim.faults.inject(503, UNREACHABLE)
    second = await start_headless(tmp_path, config)
    try:
        line = await second.expect("LOCK", str(ACCT), "RULE-003")
        # Judged on the restored P&L alone: the gateway has not answered a single request.
        assert not any(declared_protected(seen) for seen in second.lines)
        assert "hard lock" in line
        sim.faults.clear()
        await second.expect("protected", str(ACCT))
        await until(lambda: trader.net(MNQ) == 0, "the position held at the restart to be closed")
        assert await second.signal(signal.SIGTERM) == 0
    finally:
        await second.kill()
    assert [r["rule_id"] for r in lock_rows(data_dir / "state.db")] == ["RULE-003"]
