"""MOD-002 LockoutManager: per (account, rule) locks; the most restrictive wins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from core.modules.lockouts import Lock, LockKind, LockoutManager, SymbolLock
from tests.builders import ACCOUNT, ES, MNQ, OTHER_ACCOUNT, T0

HARD, COOL = LockKind.HARD, LockKind.COOLDOWN


def lock(
    rule: str,
    kind: LockKind,
    until: datetime | None,
    *,
    at: datetime = T0,
    account_id: int = ACCOUNT,
    baseline: dict[str, int] | None = None,
    reason: str = "why",
) -> Lock:
    return Lock(account_id, rule, kind, reason, at, until, baseline or {})


def mins(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class FakeStore:
    """Records every call; a write becomes durable only when the test says so."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Callable[[], None]]] = []

    def save_lock(self, lock: Lock, then: Callable[[], None]) -> None:
        self.calls.append(("save_lock", lock, then))

    def delete_lock(self, lock: Lock, then: Callable[[], None]) -> None:
        self.calls.append(("delete_lock", lock, then))

    def save_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        self.calls.append(("save_symbol_lock", lock, then))

    def delete_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None:
        self.calls.append(("delete_symbol_lock", lock, then))

    def durable(self) -> None:
        for _, _, then in self.calls:
            then()
        self.calls.clear()


# --- several locks, most restrictive wins -------------------------------------------------------


def test_locks_are_kept_per_account_and_rule() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-003", HARD, mins(60)))
    m.set_lock(lock("RULE-009", HARD, mins(30)))
    m.set_lock(lock("RULE-006", COOL, mins(5)))
    m.set_lock(lock("RULE-003", HARD, mins(10), account_id=OTHER_ACCOUNT))
    assert {lk.rule_id for lk in m.locks(ACCOUNT)} == {"RULE-003", "RULE-009", "RULE-006"}
    assert len(m.all_locks()) == 4
    assert m.get(ACCOUNT, "RULE-009").until == mins(30)  # type: ignore[union-attr]
    assert m.get(OTHER_ACCOUNT, "RULE-003").until == mins(10)  # type: ignore[union-attr]
    assert m.get(OTHER_ACCOUNT, "RULE-009") is None


def test_hard_lock_reports_the_latest() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-009", HARD, mins(30)))
    m.set_lock(lock("RULE-003", HARD, mins(60)))
    m.set_lock(lock("RULE-013", HARD, mins(45)))
    assert m.hard_lock(ACCOUNT, T0).rule_id == "RULE-003"  # type: ignore[union-attr]
    assert m.hard_lock(ACCOUNT, mins(59)).rule_id == "RULE-003"  # type: ignore[union-attr]
    assert m.hard_lock(ACCOUNT, mins(60)) is None
    assert m.hard_lock(OTHER_ACCOUNT, T0) is None


def test_indefinite_beats_any_time() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-003", HARD, mins(24 * 60)))
    m.set_lock(lock("RULE-010", HARD, None))
    m.set_lock(lock("RULE-009", HARD, mins(48 * 60)))
    hard = m.hard_lock(ACCOUNT, mins(10 * 24 * 60))
    assert hard is not None and hard.rule_id == "RULE-010" and hard.until is None
    assert hard.remaining_seconds(T0) is None


def test_cooldown_never_shortens_a_hard_lock() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-003", HARD, mins(120)))
    m.set_lock(lock("RULE-007", COOL, mins(5)))
    assert m.hard_lock(ACCOUNT, mins(10)).rule_id == "RULE-003"  # type: ignore[union-attr]
    assert m.cooldown(ACCOUNT, mins(10)) is None
    assert m.get(ACCOUNT, "RULE-003").until == mins(120)  # type: ignore[union-attr]


def test_hard_lock_is_reported_while_a_longer_cooldown_exists() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-006", COOL, mins(60)))
    m.set_lock(lock("RULE-009", HARD, mins(10)))
    assert m.hard_lock(ACCOUNT, mins(5)).rule_id == "RULE-009"  # type: ignore[union-attr]
    assert m.cooldown(ACCOUNT, mins(5)).rule_id == "RULE-006"  # type: ignore[union-attr]
    assert m.hard_lock(ACCOUNT, mins(11)) is None
    assert m.cooldown(ACCOUNT, mins(11)) is not None


def test_new_cooldown_for_same_rule_extends_never_shortens() -> None:
    m = LockoutManager()
    first = m.set_lock(lock("RULE-007", COOL, mins(15)))
    assert first is not None and first.until == mins(15)
    assert m.set_lock(lock("RULE-007", COOL, mins(5), at=mins(1))) is None
    assert m.set_lock(lock("RULE-007", COOL, mins(15), at=mins(2))) is None  # equal: no change
    assert m.get(ACCOUNT, "RULE-007").until == mins(15)  # type: ignore[union-attr]
    longer = m.set_lock(lock("RULE-007", COOL, mins(30), at=mins(3)))
    assert longer is not None and longer.until == mins(30)
    assert longer.locked_at == T0  # the cooldown's start is kept
    assert m.cooldown(ACCOUNT, mins(20)).until == mins(30)  # type: ignore[union-attr]


def test_timed_lock_never_replaces_an_indefinite_one() -> None:
    m = LockoutManager()
    assert m.set_lock(lock("RULE-010", HARD, None)) is not None
    assert m.set_lock(lock("RULE-010", HARD, mins(600), at=mins(1))) is None
    assert m.get(ACCOUNT, "RULE-010").until is None  # type: ignore[union-attr]
    # The other way round an indefinite lock extends a timed one.
    assert m.set_lock(lock("RULE-003", HARD, mins(60))) is not None
    assert m.set_lock(lock("RULE-003", HARD, None, at=mins(1))) is not None
    assert m.get(ACCOUNT, "RULE-003").until is None  # type: ignore[union-attr]


def test_a_lock_after_the_old_one_ended_starts_afresh() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-007", COOL, mins(5), baseline={MNQ: 2}))
    fresh = m.set_lock(lock("RULE-007", COOL, mins(8), at=mins(6), baseline={MNQ: 1}))
    assert fresh is not None and fresh.locked_at == mins(6) and dict(fresh.baseline) == {MNQ: 1}


def test_extended_cooldown_keeps_first_baseline_even_when_flat() -> None:
    # Flat when the first cooldown began ({}): a repeat breach must not raise it to what is
    # held now, or growth during the cooldown would become allowed.
    m = LockoutManager()
    m.set_lock(lock("RULE-007", COOL, mins(5), baseline={}))
    again = m.set_lock(lock("RULE-007", COOL, mins(15), at=mins(1), baseline={MNQ: 3}))
    assert again is not None and dict(again.baseline) == {}
    assert m.cooldown(ACCOUNT, mins(2)).baseline.get(MNQ, 0) == 0  # type: ignore[union-attr]


def test_extended_cooldown_keeps_first_nonempty_baseline() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-007", COOL, mins(5), baseline={MNQ: 1}))
    again = m.set_lock(lock("RULE-007", COOL, mins(15), at=mins(1), baseline={MNQ: 4}))
    assert again is not None and dict(again.baseline) == {MNQ: 1}


def test_several_cooldowns_merge_to_the_tightest_baseline() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-006", COOL, mins(60), baseline={MNQ: 3, ES: -2}))
    m.set_lock(lock("RULE-007", COOL, mins(10), baseline={MNQ: 1, ES: -2}))
    cool = m.cooldown(ACCOUNT, mins(1))
    assert cool is not None and cool.rule_id == "RULE-006"  # the latest end
    assert dict(cool.baseline) == {MNQ: 1, ES: -2}


def test_several_cooldowns_report_the_earliest_start() -> None:
    # The gate leaves alone orders created before the cooldown began: with two overlapping
    # cooldowns that is the first one's start, not the later-ending one's.
    m = LockoutManager()
    m.set_lock(lock("RULE-007", COOL, mins(10), at=T0))
    m.set_lock(lock("RULE-006", COOL, mins(60), at=mins(5)))
    cool = m.cooldown(ACCOUNT, mins(6))
    assert cool is not None and cool.rule_id == "RULE-006" and cool.until == mins(60)
    assert cool.locked_at == T0
    m.expire(mins(10))
    assert m.cooldown(ACCOUNT, mins(11)).locked_at == mins(5)  # type: ignore[union-attr]


def test_merged_baseline_on_opposite_sides_is_flat() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-006", COOL, mins(60), baseline={MNQ: 2}))
    m.set_lock(lock("RULE-007", COOL, mins(10), baseline={MNQ: -1}))
    assert m.cooldown(ACCOUNT, mins(1)).baseline[MNQ] == 0  # type: ignore[union-attr]


# --- expiry and clearing -------------------------------------------------------------------------


def test_expire_clears_only_due_locks_and_calls_back() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-006", COOL, mins(1)))
    m.set_lock(lock("RULE-007", COOL, mins(10)))
    m.set_lock(lock("RULE-003", HARD, mins(60)))
    m.set_lock(lock("RULE-010", HARD, None))
    seen: list[str] = []
    assert m.expire(mins(0.5), lambda lk: seen.append(lk.rule_id)) == []
    gone = m.expire(mins(10), lambda lk: seen.append(lk.rule_id))
    assert sorted(lk.rule_id for lk in gone) == ["RULE-006", "RULE-007"] == sorted(seen)
    assert {lk.rule_id for lk in m.locks(ACCOUNT)} == {"RULE-003", "RULE-010"}
    assert m.cooldown(ACCOUNT, mins(10)) is None
    m.expire(mins(10_000), lambda lk: seen.append(lk.rule_id))
    assert [lk.rule_id for lk in m.locks(ACCOUNT)] == ["RULE-010"]
    assert m.hard_lock(ACCOUNT, mins(10_000)).rule_id == "RULE-010"  # type: ignore[union-attr]


def test_clear_removes_one_rule_and_resummarises() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-010", HARD, None))
    m.set_lock(lock("RULE-003", HARD, mins(60)))
    cleared: list[Lock] = []
    assert m.clear(ACCOUNT, "RULE-010", cleared.append) is not None
    assert [lk.rule_id for lk in cleared] == ["RULE-010"]
    assert m.hard_lock(ACCOUNT, mins(1)).rule_id == "RULE-003"  # type: ignore[union-attr]
    assert m.clear(ACCOUNT, "RULE-010") is None


# --- symbol locks --------------------------------------------------------------------------------


def test_symbol_locks_are_separate_from_account_locks() -> None:
    m = LockoutManager()
    assert m.set_symbol_lock(SymbolLock(ACCOUNT, "ES", "RULE-011", "blocked", T0))
    assert not m.set_symbol_lock(SymbolLock(ACCOUNT, "ES", "RULE-011", "again", mins(1)))
    assert m.symbol_locked(ACCOUNT, "ES")
    assert not m.symbol_locked(ACCOUNT, "MES")
    assert not m.symbol_locked(OTHER_ACCOUNT, "ES")
    assert m.hard_lock(ACCOUNT, T0) is None and m.cooldown(ACCOUNT, T0) is None
    assert m.locks(ACCOUNT) == []
    m.set_lock(lock("RULE-003", HARD, mins(5)))
    m.expire(mins(6))
    assert m.symbol_locked(ACCOUNT, "ES")  # expiry of account locks leaves symbols alone
    assert m.clear_symbol_lock(ACCOUNT, "ES") is not None
    assert not m.symbol_locked(ACCOUNT, "ES")
    assert m.clear_symbol_lock(ACCOUNT, "ES") is None


# --- baseline ratchet ----------------------------------------------------------------------------


def test_shrink_baseline_ratchets_toward_flat() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-007", COOL, mins(30), baseline={MNQ: 3, ES: -2}))
    m.shrink_baseline(ACCOUNT, MNQ, 1)
    assert m.get(ACCOUNT, "RULE-007").baseline[MNQ] == 1  # type: ignore[union-attr]
    m.shrink_baseline(ACCOUNT, MNQ, 3)  # grows back: the baseline stays at 1
    assert m.get(ACCOUNT, "RULE-007").baseline[MNQ] == 1  # type: ignore[union-attr]
    assert m.cooldown(ACCOUNT, mins(1)).baseline[MNQ] == 1  # type: ignore[union-attr]
    m.shrink_baseline(ACCOUNT, ES, 1)  # sign flip
    assert m.get(ACCOUNT, "RULE-007").baseline[ES] == 0  # type: ignore[union-attr]
    m.shrink_baseline(ACCOUNT, ES, -2)
    assert m.get(ACCOUNT, "RULE-007").baseline[ES] == 0  # type: ignore[union-attr]
    m.shrink_baseline(ACCOUNT, MNQ, 0)
    assert m.cooldown(ACCOUNT, mins(1)).baseline[MNQ] == 0  # type: ignore[union-attr]


def test_shrink_baseline_leaves_hard_locks_alone() -> None:
    m = LockoutManager()
    m.set_lock(lock("RULE-003", HARD, mins(30), baseline={MNQ: 3}))
    m.shrink_baseline(ACCOUNT, MNQ, 1)
    assert m.get(ACCOUNT, "RULE-003").baseline[MNQ] == 3  # type: ignore[union-attr]


# --- restore -------------------------------------------------------------------------------------


def test_restore_rebuilds_locks_and_summaries() -> None:
    m = LockoutManager()
    m.restore(
        [
            lock("RULE-003", HARD, mins(60)),
            lock("RULE-007", COOL, mins(5), baseline={MNQ: 2}),
            lock("RULE-010", HARD, None, account_id=OTHER_ACCOUNT),
        ],
        [SymbolLock(ACCOUNT, "NQ", "RULE-011", "blocked", T0)],
    )
    assert m.hard_lock(ACCOUNT, mins(1)).rule_id == "RULE-003"  # type: ignore[union-attr]
    assert m.cooldown(ACCOUNT, mins(1)).baseline == {MNQ: 2}  # type: ignore[union-attr]
    assert m.hard_lock(OTHER_ACCOUNT, mins(10_000)) is not None
    assert m.symbol_locked(ACCOUNT, "NQ")
    assert sorted(lk.rule_id for lk in m.expire(mins(60))) == ["RULE-003", "RULE-007"]


# --- durability before reporting -----------------------------------------------------------------


def test_set_lock_reports_only_once_durable() -> None:
    store = FakeStore()
    m = LockoutManager(store)
    reported: list[Lock] = []
    applied = m.set_lock(lock("RULE-003", HARD, mins(60)), reported.append)
    assert applied is not None
    assert [c[0] for c in store.calls] == ["save_lock"] and store.calls[0][1] == applied
    assert reported == []  # not durable yet
    assert m.hard_lock(ACCOUNT, mins(1)) is not None  # but already enforced
    store.durable()
    assert reported == [applied]


def test_no_write_when_a_lock_would_not_extend() -> None:
    store = FakeStore()
    m = LockoutManager(store)
    m.set_lock(lock("RULE-003", HARD, mins(60)))
    store.durable()
    assert m.set_lock(lock("RULE-003", HARD, mins(30), at=mins(1))) is None
    assert store.calls == []


def test_clear_and_symbol_locks_report_only_once_durable() -> None:
    store = FakeStore()
    m = LockoutManager(store)
    m.set_lock(lock("RULE-006", COOL, mins(1)))
    store.durable()
    cleared: list[Lock] = []
    m.expire(mins(2), cleared.append)
    assert [c[0] for c in store.calls] == ["delete_lock"] and cleared == []
    store.durable()
    assert [lk.rule_id for lk in cleared] == ["RULE-006"]
    symbol_set: list[SymbolLock] = []
    m.set_symbol_lock(SymbolLock(ACCOUNT, "ES", "RULE-011", "blocked", T0), symbol_set.append)
    assert [c[0] for c in store.calls] == ["save_symbol_lock"] and symbol_set == []
    store.durable()
    assert [s.symbol for s in symbol_set] == ["ES"]
    symbol_gone: list[SymbolLock] = []
    m.clear_symbol_lock(ACCOUNT, "ES", symbol_gone.append)
    assert [c[0] for c in store.calls] == ["delete_symbol_lock"] and symbol_gone == []
    store.durable()
    assert [s.symbol for s in symbol_gone] == ["ES"]


def test_baseline_shrink_is_persisted() -> None:
    store = FakeStore()
    m = LockoutManager(store)
    m.set_lock(lock("RULE-007", COOL, mins(30), baseline={MNQ: 3}))
    store.durable()
    m.shrink_baseline(ACCOUNT, MNQ, 2)
    assert [(c[0], dict(c[1].baseline)) for c in store.calls] == [("save_lock", {MNQ: 2})]
    m.shrink_baseline(ACCOUNT, MNQ, 2)  # no change, no write
    assert len(store.calls) == 1
