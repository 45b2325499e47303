"""Popup words for locks and the warning before the daily loss limit.

A lock or a cooldown set and lifted, a symbol blocked and unblocked, and the daily loss nearing
its limit: each as (kind, title, body, level) for the notifier (:mod:`gui.popups`) to show, in
the trader's words ("30-minute cooldown: Cooldown after a loss"), never a rule id.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core.app.words import SELF_LOCK, local_time, percent, rule_name
from core.domain.words import duration, money
from core.engine.notices import LockCleared, LossWarning, SymbolLockCleared, SymbolLockSet
from core.modules.lockouts import Lock, LockKind
from gui.popup_window import INFO, WARNING

Popup = tuple[str, str, str, str]  # kind, title, body, level


def lock_set_popup(lock: Lock, who: str, zone: ZoneInfo) -> Popup:
    """A lock or a cooldown just set; ``who`` names its account."""
    name = rule_name(lock.rule_id)
    if lock.kind is LockKind.COOLDOWN:
        length = "Cooldown" if lock.until is None else (
            f"{duration((lock.until - lock.locked_at).total_seconds())} cooldown")
        until = "" if lock.until is None else (
            f" New trades are closed until {local_time(lock.until, zone, with_day=True)}.")
        return ("cooldown", f"{length}: {name}", f"{who}: {lock.reason}.{until}", WARNING)
    until = ("until the gateway allows trading again" if lock.until is None
             else f"until {local_time(lock.until, zone, with_day=True)}")
    if lock.rule_id == SELF_LOCK:
        return ("lock", f"You are locked out {until}",
                f"{who}: positions closed, orders cancelled. Nobody can undo this lock.", WARNING)
    return ("lock", f"Locked: {name}",
            f"{who}: {lock.reason}. Positions closed, orders cancelled; no trading {until}.",
            WARNING)


def lock_cleared_popup(notice: LockCleared, who: str) -> Popup:
    lock = notice.lock
    if lock.kind is LockKind.COOLDOWN:
        return ("cooldown_end", f"Cooldown over: {rule_name(lock.rule_id)}",
                f"{who}: trading allowed again.", INFO)
    why = {"expired": "its time is up", "can trade again":
           "the gateway allows trading again"}.get(notice.why, notice.why)
    return ("unlock", f"Lock lifted: {rule_name(lock.rule_id)}",
            f"{who}: trading allowed again ({why}).", INFO)


def symbol_lock_popup(notice: SymbolLockSet, who: str) -> Popup:
    blocked = notice.lock
    return ("symbol_lock", f"{blocked.symbol} blocked: {rule_name(blocked.rule_id)}",
            f"{who}: {blocked.reason}", WARNING)


def symbol_unlock_popup(notice: SymbolLockCleared, who: str) -> Popup:
    freed = notice.lock
    return ("symbol_unlock", f"{freed.symbol} unblocked",
            f"{who}: {freed.symbol} may be traded again.", INFO)


def loss_warning_popup(notice: LossWarning, who: str) -> Popup:
    return ("loss_warning", f"Daily loss at {percent(notice.fraction)} of the limit",
            f"{who}: {money(notice.net)} realized today; "
            f"at {money(-notice.limit)} you are locked out until the reset.", WARNING)
