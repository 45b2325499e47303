"""The lockout gate across a restart: persisted locks are enforced on what the reconcile finds."""

from __future__ import annotations

from pathlib import Path

from core.domain.commands import CloseContract, RecordingPort
from tests.builders import ACCOUNT, ES, MES, MNQ, T0, config, make_engine, position, trade
from tests.persistence_support import store_pool

LOSS = "RULE-003"


def closes(port: RecordingPort) -> list[tuple[str, str]]:
    return [(c.rule_id, c.contract_id) for c in port.commands if isinstance(c, CloseContract)]


def test_a_persisted_hard_lock_closes_what_the_reconcile_finds_after_a_restart(
    tmp_path: Path,
) -> None:
    cfg = config({"daily_realized_loss": {"limit": 300}})
    with store_pool() as pool:
        store = pool.open(tmp_path / "state.db")
        engine, _, _ = make_engine(cfg, store=store)
        engine.handle(position(MNQ, 1, 20000.0))
        engine.handle(position(MES, -1, 5000.0, position_id=2))
        engine.handle(trade("-350", fees="0", at=T0))  # flatten issued, then the app dies
        engine.flush()
        pool.close(store)
        store = pool.open(tmp_path / "state.db")
        engine, clock, port = make_engine(cfg, store=store)
        clock.advance(600)
        engine.restore()
        engine.flush()
        assert engine.lockouts.hard_lock(ACCOUNT, clock.now()) is not None
        assert set(engine.mirror.account(ACCOUNT).positions) == {MNQ, MES}  # as they were
        engine.handle(position(MNQ, 1, 20000.0))  # Position/searchOpen after connecting
        engine.handle(position(MES, -1, 5000.0, position_id=2))
        assert sorted(closes(port)) == [(LOSS, MES), (LOSS, MNQ)]


def test_a_symbol_unblocked_while_the_app_was_stopped_is_released_on_restore(
    tmp_path: Path,
) -> None:
    blocked = config({"symbol_blocks": {"symbols": ["ES"]}})
    with store_pool() as pool:
        store = pool.open(tmp_path / "state.db")
        engine, _, _ = make_engine(blocked, store=store)
        engine.handle(position(ES, 1, 6400.0))
        engine.handle(position(ES, 0, 0.0))  # flat: the account has nothing left to mirror
        engine.flush()
        pool.close(store)
        store = pool.open(tmp_path / "state.db")
        engine, _, port = make_engine(config(), store=store)  # ES no longer blocked
        engine.restore()
        engine.flush()
        assert engine.lockouts.symbol_locks(ACCOUNT) == []
        engine.handle(position(ES, 1, 6400.0, position_id=2))
        assert port.commands == []
