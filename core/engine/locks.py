"""Setting and ending locks for the engine: a breach's lock is recorded (durably, before anyone
is told), its expiry is armed on a timer, and a symbol lock ends when its symbol is unblocked.

There is no manual unlock: a lock ends only by its timer, the schedule, or the gateway
(RULE-010), and those paths all come through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.engine.notices import LockCleared, LockSet, SymbolLockCleared, SymbolLockSet
from core.engine.rules import Breach
from core.modules.lockouts import Lock, LockKind, LockoutManager, SymbolLock
from core.modules.mirror import PositionsMirror
from core.modules.timers import TimerManager


class LockKeeper:
    def __init__(
        self,
        lockouts: LockoutManager,
        timers: TimerManager,
        mirror: PositionsMirror,
        bus: EventBus,
        clock: Clock,
    ) -> None:
        self.lockouts = lockouts
        self.timers = timers
        self.mirror = mirror
        self.bus = bus
        self.clock = clock

    def apply(self, breach: Breach, now: datetime) -> bool | None:
        """Set the breach's lock and symbol lock. True if anything changed; None when the
        breach's own lock is already in force and this breach adds nothing to it."""
        acct = breach.account_id
        changed = False
        if breach.lock is not None:
            existing = self.lockouts.get(acct, breach.rule_id)
            if (
                existing is not None
                and existing.active_at(now)
                and not _extends(breach.lock.until, existing.until)
            ):
                return None  # enforced when the lock was set; the gate keeps it that way
            account = self.mirror.account(acct)
            baseline = (
                {cid: p.signed_size for cid, p in account.positions.items()}
                if breach.lock.kind is LockKind.COOLDOWN
                else {}
            )
            lock = Lock(
                acct, breach.rule_id, breach.lock.kind, breach.reason, now, breach.lock.until, baseline
            )
            applied = self.lockouts.set_lock(lock, lambda lk: self.bus.publish(LockSet(lk)))
            if applied is not None:
                self.arm_expiry(applied, now)
                changed = True
        if breach.symbol_lock is not None:
            changed = self.lockouts.set_symbol_lock(
                SymbolLock(acct, breach.symbol_lock, breach.rule_id, breach.reason, now),
                lambda sl: self.bus.publish(SymbolLockSet(sl)),
            ) or changed
        return changed

    def arm_expiry(self, lock: Lock, now: datetime) -> None:
        if lock.until is None:
            return
        name = f"lock:{lock.account_id}:{lock.rule_id}"
        self.timers.start(name, now, lambda: self._expire(lock.account_id, lock.rule_id), at=lock.until)

    def _expire(self, account_id: int, rule_id: str) -> None:
        lock = self.lockouts.get(account_id, rule_id)
        if lock is not None and not lock.active_at(self.clock.now()):
            self.lockouts.clear(account_id, rule_id, self.cleared("expired"))

    def expire_due(self, now: datetime) -> None:
        self.lockouts.expire(now, self.cleared("expired"))

    def clear(self, account_id: int, rule_id: str, why: str) -> None:
        self.lockouts.clear(account_id, rule_id, self.cleared(why))

    def cleared(self, why: str) -> Callable[[Lock], None]:
        return lambda lock: self.bus.publish(LockCleared(lock, why))

    def release_unblocked_symbols(self, account_ids: Iterable[int], blocked: set[str]) -> None:
        """A symbol lock lasts while its symbol is blocked; nothing else could ever lift it."""
        for lock in [sl for acct in list(account_ids) for sl in self.lockouts.symbol_locks(acct)]:
            if lock.symbol not in blocked:
                self.lockouts.clear_symbol_lock(
                    lock.account_id, lock.symbol, lambda sl: self.bus.publish(SymbolLockCleared(sl))
                )


def _extends(new: datetime | None, old: datetime | None) -> bool:
    if new is None:
        return old is not None
    return old is not None and new > old
