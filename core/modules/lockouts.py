"""MOD-002: lockouts per (account, rule) plus symbol locks; the most restrictive wins.

A hard lock flattens and keeps the account flat; a cooldown blocks new exposure for a while.
Several locks may be active at once; a short cooldown never shortens a hard lock because
each rule has its own row. Locks end only by their timer, the schedule, or the API
(RULE-010): there is no manual unlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class LockKind(StrEnum):
    HARD = "hard"
    COOLDOWN = "cooldown"


@dataclass(frozen=True, slots=True)
class Lock:
    account_id: int
    rule_id: str
    kind: LockKind
    reason: str
    locked_at: datetime
    until: datetime | None  # None: until an API event lifts it (RULE-010)
    # Cooldown only: signed size per contract at the cooldown's start; the gate closes growth.
    baseline: Mapping[str, int] = field(default_factory=dict)

    def active_at(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def remaining_seconds(self, now: datetime) -> float | None:
        if self.until is None:
            return None
        return max(0.0, (self.until - now).total_seconds())


@dataclass(frozen=True, slots=True)
class SymbolLock:
    account_id: int
    symbol: str
    rule_id: str
    reason: str
    locked_at: datetime


def _later(a: datetime | None, b: datetime | None) -> bool:
    """Is ``a`` a later (more restrictive) end than ``b``? None means indefinite."""
    if a is None:
        return b is not None
    if b is None:
        return False
    return a > b


class LockStore(Protocol):
    def save_lock(self, lock: Lock, then: Callable[[], None]) -> None: ...
    def delete_lock(self, lock: Lock, then: Callable[[], None]) -> None: ...
    def save_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None: ...
    def delete_symbol_lock(self, lock: SymbolLock, then: Callable[[], None]) -> None: ...


class LockoutManager:
    def __init__(self, store: LockStore | None = None) -> None:
        self._store = store
        self._locks: dict[int, dict[str, Lock]] = {}
        self._symbol_locks: dict[int, dict[str, SymbolLock]] = {}
        # Summaries the gate reads on every event, rebuilt only when a lock changes.
        self._hard: dict[int, Lock] = {}
        self._cooldown: dict[int, Lock] = {}

    # --- queries (hot path) -------------------------------------------------------------------

    def hard_lock(self, account_id: int, now: datetime) -> Lock | None:
        lock = self._hard.get(account_id)
        if lock is not None and lock.active_at(now):
            return lock
        return None

    def cooldown(self, account_id: int, now: datetime) -> Lock | None:
        lock = self._cooldown.get(account_id)
        if lock is not None and lock.active_at(now):
            return lock
        return None

    def symbol_locked(self, account_id: int, symbol: str) -> bool:
        locks = self._symbol_locks.get(account_id)
        return bool(locks) and symbol in locks  # type: ignore[operator]

    def locks(self, account_id: int) -> list[Lock]:
        return list(self._locks.get(account_id, {}).values())

    def all_locks(self) -> list[Lock]:
        return [lock for per in self._locks.values() for lock in per.values()]

    def symbol_locks(self, account_id: int) -> list[SymbolLock]:
        return list(self._symbol_locks.get(account_id, {}).values())

    def get(self, account_id: int, rule_id: str) -> Lock | None:
        return self._locks.get(account_id, {}).get(rule_id)

    # --- changes ------------------------------------------------------------------------------

    def set_lock(self, lock: Lock, then: Callable[[Lock], None] | None = None) -> Lock | None:
        """Apply a lock; returns the lock now in force for its (account, rule) if it changed.

        A new lock for the same rule extends the old one but never shortens it; a cooldown's
        baseline is kept from the first cooldown so repeated breaches cannot reset it upward.
        ``then`` runs once the change is durable.
        """
        per = self._locks.setdefault(lock.account_id, {})
        old = per.get(lock.rule_id)
        if old is not None and old.active_at(lock.locked_at):
            if not _later(lock.until, old.until):
                return None
            # An empty baseline is meaningful (flat at the cooldown's start): keep it as it is.
            baseline = old.baseline if old.kind is LockKind.COOLDOWN else lock.baseline
            lock = replace(lock, locked_at=old.locked_at, baseline=baseline)
        per[lock.rule_id] = lock
        self._summarise(lock.account_id)
        self._persist_save(lock, then)
        return lock

    def clear(
        self, account_id: int, rule_id: str, then: Callable[[Lock], None] | None = None
    ) -> Lock | None:
        lock = self._locks.get(account_id, {}).pop(rule_id, None)
        if lock is None:
            return None
        self._summarise(account_id)
        if self._store is None:
            if then:
                then(lock)
        else:
            self._store.delete_lock(lock, (lambda: then(lock)) if then else _noop)
        return lock

    def expire(self, now: datetime, then: Callable[[Lock], None] | None = None) -> list[Lock]:
        expired = [
            lock
            for per in self._locks.values()
            for lock in per.values()
            if lock.until is not None and now >= lock.until
        ]
        for lock in expired:
            self.clear(lock.account_id, lock.rule_id, then)
        return expired

    def shrink_baseline(self, account_id: int, contract_id: str, signed_size: int) -> None:
        """Cooldown baselines only ratchet toward flat: reduce-then-re-add is growth too."""
        for rule_id, lock in list(self._locks.get(account_id, {}).items()):
            if lock.kind is not LockKind.COOLDOWN:
                continue
            base = lock.baseline.get(contract_id, 0)
            if base == 0:
                continue
            if signed_size == 0 or (signed_size > 0) != (base > 0):
                new = 0
            else:
                new = base if abs(signed_size) >= abs(base) else signed_size
            if new != base:
                baseline = dict(lock.baseline)
                baseline[contract_id] = new
                updated = replace(lock, baseline=baseline)
                self._locks[account_id][rule_id] = updated
                self._summarise(account_id)
                self._persist_save(updated, None)

    def set_symbol_lock(
        self, lock: SymbolLock, then: Callable[[SymbolLock], None] | None = None
    ) -> bool:
        per = self._symbol_locks.setdefault(lock.account_id, {})
        if lock.symbol in per:
            return False
        per[lock.symbol] = lock
        if self._store is None:
            if then:
                then(lock)
        else:
            self._store.save_symbol_lock(lock, (lambda: then(lock)) if then else _noop)
        return True

    def clear_symbol_lock(
        self, account_id: int, symbol: str, then: Callable[[SymbolLock], None] | None = None
    ) -> SymbolLock | None:
        lock = self._symbol_locks.get(account_id, {}).pop(symbol, None)
        if lock is None:
            return None
        if self._store is None:
            if then:
                then(lock)
        else:
            self._store.delete_symbol_lock(lock, (lambda: then(lock)) if then else _noop)
        return lock

    def restore(self, locks: Iterable[Lock], symbol_locks: Iterable[SymbolLock]) -> None:
        """Startup: what the file holds is enforced even if the gateway remembers nothing."""
        for lock in locks:
            self._locks.setdefault(lock.account_id, {})[lock.rule_id] = lock
        for slock in symbol_locks:
            self._symbol_locks.setdefault(slock.account_id, {})[slock.symbol] = slock
        for account_id in list(self._locks):
            self._summarise(account_id)

    # --- internals ----------------------------------------------------------------------------

    def _persist_save(self, lock: Lock, then: Callable[[Lock], None] | None) -> None:
        if self._store is None:
            if then:
                then(lock)
        else:
            self._store.save_lock(lock, (lambda: then(lock)) if then else _noop)

    def _summarise(self, account_id: int) -> None:
        hard: Lock | None = None
        cool: Lock | None = None
        for lock in self._locks.get(account_id, {}).values():
            if lock.kind is LockKind.HARD:
                if hard is None or _later(lock.until, hard.until):
                    hard = lock
            elif cool is None or _later(lock.until, cool.until):
                cool = lock
        if hard is None:
            self._hard.pop(account_id, None)
        else:
            self._hard[account_id] = hard
        if cool is None:
            self._cooldown.pop(account_id, None)
        else:
            # Several cooldowns: the latest end wins, the tightest baseline applies.
            cooldowns = [
                lk for lk in self._locks[account_id].values() if lk.kind is LockKind.COOLDOWN
            ]
            baselines = [lk.baseline for lk in cooldowns]
            # A contract missing from a baseline was flat when that cooldown began.
            # Sizes on opposite sides leave nothing both cooldowns allow: flat.
            merged: dict[str, int] = {}
            for contract in set().union(*baselines):
                sizes = [base.get(contract, 0) for base in baselines]
                if all(size > 0 for size in sizes) or all(size < 0 for size in sizes):
                    merged[contract] = min(sizes, key=abs)
                else:
                    merged[contract] = 0
            # The account has been cooling down since the earliest of them began.
            since = min(lk.locked_at for lk in cooldowns)
            self._cooldown[account_id] = replace(cool, baseline=merged, locked_at=since)


def _noop() -> None:
    return None
