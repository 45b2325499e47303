"""Lock me out now: the trader's own hard lock, until the next daily reset.

As on the trader's own platform: one confirmation, then nobody can undo it. It is an ordinary
hard lock in every other way, set through the engine's :class:`LockKeeper` (so it is written
to the state file before anyone is told, and survives a restart) and enforced by the same
gate: everything is flattened and cancelled now, and any position that appears while it holds
is closed. It ends only at the reset, like a daily loss limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

from core.app.words import SELF_LOCK
from core.domain.commands import Flatten
from core.engine.engine import Engine
from core.engine.notices import BreachDetected
from core.engine.rules import Breach, LockRequest
from core.modules.lockouts import Lock, LockKind

REASON = "you locked yourself out until the next reset"


def self_lock_until(engine: Engine) -> datetime:
    """When a lock set now would end: the next daily reset."""
    return engine.calendar.next_reset(engine.clock.now())


def lock_me_out(engine: Engine, account_ids: Iterable[int]) -> list[Lock]:
    """Hard-lock each account until the next reset, flatten it and cancel its orders.

    Returns the locks now in force. Calling it again while locked changes nothing (a lock is
    never shortened; the same reset is the same end)."""
    started = time.perf_counter()  # latency measurement only, like the engine's own
    now = engine.clock.now()
    until = engine.calendar.next_reset(now)
    locks: list[Lock] = []
    for account_id in sorted(set(account_ids)):
        account = engine.mirror.accounts.get(account_id)
        flatten = Flatten(
            account_id=account_id,
            rule_id=SELF_LOCK,
            reason=REASON,
            contract_ids=tuple(account.positions) if account is not None else (),
            order_ids=tuple(account.orders) if account is not None else (),
        )
        breach = Breach(SELF_LOCK, account_id, REASON, (flatten,), LockRequest(LockKind.HARD, until))
        changed = engine.locks.apply(breach, now)
        if changed:
            engine.bus.publish(BreachDetected(account_id, SELF_LOCK, REASON, now))
            if account is not None and (account.positions or account.orders):
                engine.dispatch.issue_all(breach.commands, started)
        lock = engine.lockouts.get(account_id, SELF_LOCK)
        if lock is not None:
            locks.append(lock)
    return locks
