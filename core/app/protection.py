"""The one state a trader reads at a glance, never better than the truth.

Worst first: failing enforcement (the gateway keeps refusing a close: act by hand, or the
state file cannot be written: a crash would lose the locks), not connected (the gateway is
unreachable, the account is not yet reconciled, or its trade history is still being read
after the state file was rebuilt), no limit
enabled, hard-locked, cooling down, a warning, protected. One account in a worse state makes
the whole app show that state: the tray icon has room for one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.app.snapshot import OK, AccountSnapshot, LimitUsage, LockView
from core.app.state_notices import HISTORY_LOCK
from core.app.state_words import not_saved_line
from core.app.words import local_time, rule_cause, side_word
from core.domain.words import duration, money

PROTECTED_STATUS = "protected"


class Protection(StrEnum):
    FAILING = "failing"
    DISCONNECTED = "disconnected"
    NO_LIMITS = "no_limits"
    LOCKED = "locked"
    COOLDOWN = "cooldown"
    WARNING = "warning"
    PROTECTED = "protected"


WORST_FIRST = tuple(Protection)

TITLES = {
    Protection.FAILING: "NOT PROTECTED",
    Protection.DISCONNECTED: "Not protected",
    Protection.NO_LIMITS: "No limit enabled",
    Protection.LOCKED: "Locked",
    Protection.COOLDOWN: "Cooldown",
    Protection.WARNING: "Warning",
    Protection.PROTECTED: "Protected",
}


def account_state(snapshot: AccountSnapshot) -> Protection:
    if snapshot.failing or snapshot.state_not_saved:
        return Protection.FAILING
    if snapshot.status != PROTECTED_STATUS:
        return Protection.DISCONNECTED
    if not snapshot.protecting:
        return Protection.NO_LIMITS
    if snapshot.hard_locked:
        return Protection.LOCKED
    if snapshot.in_cooldown:
        return Protection.COOLDOWN
    if snapshot.warning:
        return Protection.WARNING
    return Protection.PROTECTED


def overall_state(snapshots: Sequence[AccountSnapshot]) -> Protection:
    """No account known yet is not protected: nothing is being watched."""
    if not snapshots:
        return Protection.DISCONNECTED
    return min((account_state(s) for s in snapshots), key=WORST_FIRST.index)


# --- locks ----------------------------------------------------------------------------------


def remaining(lock: LockView, now: datetime) -> float | None:
    if lock.until is not None:
        return max(0.0, (lock.until - now).total_seconds())
    return lock.remaining_seconds


def ruling_lock(snapshot: AccountSnapshot, now: datetime) -> LockView | None:
    """The lock that binds longest: a hard lock before a cooldown, then the latest end."""
    candidates = [lk for lk in snapshot.locks if lk.kind == "hard"] or [
        lk for lk in snapshot.locks if lk.kind == "cooldown"
    ]
    if not candidates:
        return None

    def length(lock: LockView) -> float:
        left = remaining(lock, now)
        return math.inf if left is None else left

    return max(candidates, key=length)


def lock_text(lock: LockView, now: datetime, zone: ZoneInfo) -> str:
    """ "Locked until 17:00 CST (daily loss)", "Cooldown 12 min 40 s left (losing trade)"."""
    cause = rule_cause(lock.rule_id)
    if lock.kind == "cooldown":
        left = remaining(lock, now)
        return f"Cooldown {duration(left)} left ({cause})" if left is not None else f"Cooldown ({cause})"
    if lock.until is None:
        return f"Locked until the gateway allows trading again ({cause})"
    return f"Locked until {local_time(lock.until, zone, now=now)} ({cause})"


# --- one line per account ---------------------------------------------------------------------


def closeness(usage: LimitUsage) -> float:
    """How near the rule is to acting: a loss limit acts at 100 %; a count limit that allows
    its limit (5 of 5 contracts) acts only at one more, so 5 of 5 is 5/6 of the way there."""
    if usage.breach_at_limit or usage.limit <= 0:
        return usage.fraction
    return usage.used / (usage.limit + 1)


def _worst_limit(snapshot: AccountSnapshot) -> LimitUsage | None:
    warned = [u for u in snapshot.limits if u.level != OK]
    return max(warned, key=lambda u: (u.level == "breach", closeness(u))) if warned else None


def headline(snapshot: AccountSnapshot, now: datetime, zone: ZoneInfo) -> str:
    """The account's state in one line, worst first (the dashboard header, the tray menu)."""
    state = account_state(snapshot)
    if state is Protection.FAILING:
        if not snapshot.failing:
            return not_saved_line(snapshot.state_not_saved)
        todo = "; ".join(dict.fromkeys(f.todo for f in snapshot.failing))
        return f"NOT PROTECTED: {todo} on the platform now"
    if state is Protection.DISCONNECTED:
        if snapshot.status == "reconnecting":
            return "Gateway unreachable: not protected"
        if any(lock.rule_id == HISTORY_LOCK for lock in snapshot.locks):
            return "Reading today's trade history: not protected yet, new entries are closed"
        return "Connecting: not protected yet"
    if state is Protection.NO_LIMITS:
        return "No limit enabled: nothing is enforced"
    if state in (Protection.LOCKED, Protection.COOLDOWN):
        lock = ruling_lock(snapshot, now)
        assert lock is not None
        return lock_text(lock, now, zone)
    if state is Protection.WARNING:
        return warning_text(snapshot)
    return "Protected"


def warning_text(snapshot: AccountSnapshot) -> str:
    """The warning that matters most: the Maximum Loss Limit ends the account, so it comes
    first; then a restrict step in force; then the limit bar nearest its rule acting."""
    topstep = snapshot.topstep
    if topstep is not None and topstep.mll.level != OK and topstep.mll.distance is not None:
        return f"Warning: {money(topstep.mll.distance)} from the Maximum Loss Limit"
    restricted = [step for step in snapshot.ladder if step.step == "restricted"]
    if restricted:
        step = restricted[0]
        return f"Restricted near the {step.name.lower()} ({step.used}): " + step.text.split(
            ": ", 1)[-1]
    usage = _worst_limit(snapshot)
    if usage is not None:
        return f"Warning: {usage.label.lower()} {usage.text}"
    warned = [step for step in snapshot.ladder if step.step != "normal"]
    if warned:
        return f"Warning: {warned[0].name.lower()} {warned[0].used}"
    return "Warning"


def closest_to_mll(snapshots: Sequence[AccountSnapshot]) -> str | None:
    """The tray's line on the Maximum Loss Limit: the smallest distance over the accounts
    that have one; an account whose distance cannot be said comes first (it could be nearer).
    None when no account has a plan or a typed-in floor."""
    guarded = [s for s in snapshots if s.topstep is not None]
    if not guarded:
        return None
    unknown = [s for s in guarded if s.topstep is not None and s.topstep.mll.distance is None]
    if unknown:
        first = unknown[0]
        assert first.topstep is not None
        return f"MLL distance unknown on {first.name or first.account_id} ({first.topstep.mll.unknown})"

    def distance(s: AccountSnapshot) -> float:
        assert s.topstep is not None and s.topstep.mll.distance is not None
        return s.topstep.mll.distance

    nearest = min(guarded, key=distance)
    line = f"MLL: {money(distance(nearest))} left on {nearest.name or nearest.account_id}"
    behind = [s.name or str(s.account_id) for s in guarded
              if s.topstep is not None and s.topstep.mll.floor_behind]
    if behind:  # the distance may be less than it says
        line += f" (floor not up to date on {', '.join(behind)})"
    return line


def overall_headline(snapshots: Sequence[AccountSnapshot], now: datetime, zone: ZoneInfo) -> str:
    if not snapshots:
        return "Connecting: not protected yet"
    # Of the accounts in the worst state, the one nearest its Maximum Loss Limit first: that
    # limit ends the account itself.
    worst = min(snapshots, key=lambda s: (WORST_FIRST.index(account_state(s)), _mll_rank(s)))
    line = headline(worst, now, zone)
    if len(snapshots) > 1 and account_state(worst) is not Protection.PROTECTED:
        return f"{worst.name or worst.account_id}: {line}"
    return line


def _mll_rank(snapshot: AccountSnapshot) -> float:
    topstep = snapshot.topstep
    if topstep is None or topstep.mll.level == OK or topstep.mll.distance is None:
        return math.inf
    return topstep.mll.distance


def since_lock_text(snapshot: AccountSnapshot) -> str | None:
    """ "-$56.00 since the lock, 3 entries closed": losses that kept coming while locked."""
    since = snapshot.since_lock
    if since is None or (since.entries == 0 and since.net == 0):
        return None
    entries = f"{since.entries} entr{'ies' if since.entries != 1 else 'y'} closed"
    return f"{money(since.net)} since the lock, {entries}"


# --- what quitting gives up -------------------------------------------------------------------


def quit_risks(snapshots: Sequence[AccountSnapshot], now: datetime, zone: ZoneInfo) -> list[str]:
    """Per account that is locked or holds a position: what stops being protected on quit."""
    lines: list[str] = []
    for snapshot in snapshots:
        label = snapshot.name or str(snapshot.account_id)
        parts: list[str] = []
        lock = ruling_lock(snapshot, now)
        if lock is not None:
            parts.append(lock_text(lock, now, zone) + ": nothing would stop new trades")
        held = [f"{p.name} {side_word(p.signed_size)}" for p in snapshot.positions if p.signed_size]
        if held:
            parts.append(", ".join(held) + " open: its limits would no longer be watched")
        if parts:
            lines.append(f"{label}: " + "; ".join(parts))
    return lines


def any_hard_lock(snapshots: Sequence[AccountSnapshot]) -> bool:
    return any(s.hard_locked for s in snapshots)
