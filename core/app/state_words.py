"""The app's own state in the trader's words: a state file rebuilt from the trade history, the
state that cannot be saved, and the gap an unclean stop left in protection.

One wording for the tray popups, the alerts and the log (:mod:`core.app.state_notices` holds
the facts). Times are in the trading day's timezone; rule ids become rule names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from core.app.state_notices import (
    ProtectionGap,
    StateRebuildDone,
    StateRebuilt,
    StateWriteFailed,
)
from core.app.words import local_time, rule_name
from core.domain.words import duration, money

_RULE_ID = re.compile(r"\b(?:RULE-\d{3}|SELF-LOCK|HISTORY|RESTRICT|CLEANUP|STOP-SIZE)\b")

NOT_SAVED_TITLE = "NOT PROTECTED against a crash: the state cannot be saved"


def named_rules(text: str) -> str:
    """ "the RULE-003 lock of account 7" → "the Daily loss limit lock of account 7"."""
    return _RULE_ID.sub(lambda m: rule_name(m.group(0)), text)


def rebuilt(notice: StateRebuilt) -> tuple[str, str]:
    """(title, text): the state file was damaged or missing and is rebuilt."""
    if notice.why == "damaged":
        kept = f" (kept aside as {notice.kept_as})" if notice.kept_as else ""
        what = f"The state file was damaged{kept}"
    else:
        what = "The state file was missing"
    return ("State file rebuilt from the trade history",
            f"{what}: a new one was started, and today's P&L and daily locks are rebuilt from "
            "TopstepX's trade history. Until an account's history is read it is not protected "
            "and new entries are closed; open positions are left alone.")


def rebuild_done(notice: StateRebuildDone) -> tuple[str, str]:
    accounts = ", ".join(str(a) for a in notice.account_ids)
    return ("State file rebuilt: protected again",
            f"Today's trade history has been read for every account ({accounts}): the day's "
            "P&L and daily locks are back in the state file.")


def not_saved(notice: StateWriteFailed) -> tuple[str, str]:
    """(title, text) of the critical alarm: as serious as a close the gateway keeps refusing."""
    what = named_rules(notice.what)
    return (NOT_SAVED_TITLE,
            f"{what[:1].upper()}{what[1:]} could not be written to the state file "
            f"({notice.error}). Protection goes on from memory, but if the app stopped now it "
            "would be lost. Free disk space or check the disk; the app keeps trying.")


def not_saved_line(error: str) -> str:
    """The state a trader reads at a glance (the tray, the dashboard's banner)."""
    return f"NOT PROTECTED: the state cannot be saved ({error}): free disk space now"


def saved_again() -> tuple[str, str]:
    return ("State saved again",
            "Everything that could not be written is in the state file now: a crash or a "
            "restart keeps it again.")


def gap(notice: ProtectionGap, zone: ZoneInfo,
        contract_name: Callable[[str], str] = lambda contract_id: contract_id) -> tuple[str, str]:
    """(title, text): protection stopped without a clean shutdown, and what happened meanwhile."""
    seconds = (notice.resumed_at - notice.stopped_at).total_seconds()
    stopped = _when(notice.stopped_at, notice.resumed_at, zone)
    resumed = local_time(notice.resumed_at, zone)
    text = (f"The risk manager did not shut down cleanly: protection stopped at about {stopped} "
            f"and resumed at {resumed}. ")
    if notice.closed is None:
        text += ("What was traded in between could not be read from TopstepX: check your trades "
                 "on the platform.")
    elif not notice.closed:
        text += "Nothing was opened and closed in between."
    else:
        contracts = sum(close.size for close in notice.closed)
        per_contract: dict[str, int] = {}
        for close in notice.closed:
            name = contract_name(close.contract_id)
            per_contract[name] = per_contract.get(name, 0) + close.size
        listed = ", ".join(f"{name} {size}" for name, size in per_contract.items())
        net = f", net {money(notice.net)}" if notice.net is not None else ""
        counted = "1 contract was" if contracts == 1 else f"{contracts} contracts were"
        text += f"In between, {counted} opened and closed ({listed}){net}."
    return f"Protection was stopped for {duration(seconds)}", text


def _when(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    return local_time(at, zone, now=now)
