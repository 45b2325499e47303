"""Popup words for the warnings before a limit, the end-of-day summary and the app's own state.

A warning before a limit (:class:`LimitWarning`) is either the Maximum Loss Limit guard's (the
distance to Topstep's floor fell to a warning amount) or a ladder's (a money limit's share
used); the end-of-day summary (:class:`DaySummary`) tells the day that just ended. Plain words,
no rule ids: the notifier shows what this returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from core.app import state_words
from core.app.day_summary import DaySummary, summary_lines
from core.app.state_notices import ProtectionGap, StateRebuildDone, StateRebuilt, StateWriteFailed
from core.app.words import rule_name
from core.domain.words import money
from core.engine.notices import LimitWarning, RuleError
from gui.popup_window import CRITICAL, INFO, WARNING

MLL_GUARD = "RULE-014"


def limit_warning_popup(notice: LimitWarning, who: str) -> tuple[str, str, str, str]:
    """(kind, title, body, level) for a warning before a limit."""
    if notice.rule_id == MLL_GUARD:
        return ("limit_warning", f"{money(notice.threshold)} from the Maximum Loss Limit",
                f"{who}: {_sentence(notice.message)} Topstep fails the account when equity "
                "touches the floor.", WARNING)
    limit, _, used = notice.message.partition(": ")
    title = f"Warning: {limit.lower()} {used}" if used else f"Warning: {rule_name(notice.rule_id)}"
    return ("limit_warning", title,
            f"{who}: {_sentence(notice.message)} At the limit its rule acts.", WARNING)


def day_summary_popup(summary: DaySummary, who: str, zone: ZoneInfo) -> tuple[str, str, str, str]:
    """(kind, title, body, level) for the end-of-day summary."""
    title = f"{summary.trading_day:%a %d %b}: net {money(summary.net)}"
    return ("day_summary", title, f"{who}\n" + "\n".join(summary_lines(summary, zone)), INFO)


def state_popup(notice: Any, who: Callable[[int], str], zone: ZoneInfo,
                contract_name: Callable[[str], str] = str,
                ) -> tuple[str, str, str, str, int | None] | None:
    """(kind, title, body, level, account) for a rebuilt state file or a protection gap; None
    for any other notice."""
    if isinstance(notice, StateRebuilt):
        return ("state_rebuilt", *state_words.rebuilt(notice), WARNING, None)
    if isinstance(notice, StateRebuildDone):
        return ("state_rebuilt", *state_words.rebuild_done(notice), INFO, None)
    if isinstance(notice, ProtectionGap):
        title, text = state_words.gap(notice, zone, contract_name)
        return ("protection_gap", title, f"{who(notice.account_id)}: {text}", WARNING,
                notice.account_id)
    if isinstance(notice, RuleError):
        return ("rule_error", f"{rule_name(notice.rule_id)} could not judge an update",
                f"{who(notice.account_id)}: it took no decision on that update; the other "
                "rules still ran. If this repeats, restart Risk Manager and keep the log for "
                "support.", WARNING, notice.account_id)
    return None


def not_saved_popup(notice: StateWriteFailed, repeat: bool) -> tuple[str, str, str, str]:
    """The critical alarm, repeated like a failing close's until everything is written."""
    title, text = state_words.not_saved(notice)
    return ("state_not_saved", title + (" (still)" if repeat else ""), text, CRITICAL)


def saved_again_popup() -> tuple[str, str, str, str]:
    return ("state_saved", *state_words.saved_again(), INFO)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
