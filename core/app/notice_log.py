"""Plain-words log lines for what a trader (or a headless log reader) needs to see.

Rules are named as a trader says them, with the internal id in brackets after the name so a
log can still be searched by it ("Daily loss limit [RULE-003]").

The app's own state: a state file that cannot be written gets a "NOT PROTECTED" line here, as a
failing close does (the writer's own line is the technical one, with its traceback). A rebuilt
state file and the gap after an unclean stop are logged by the service itself, in plain words,
when it finds them (:mod:`core.app.state_guard`): they are not repeated here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.app.day_summary import DaySummary, describe_summary
from core.app.state_notices import StateWriteFailed, StateWriteRecovered
from core.app.state_words import named_rules
from core.domain.bus import EventBus
from core.domain.words import duration, money, rule_label
from core.engine.notices import (
    AccountStatusChanged,
    BreachDetected,
    DailyReset,
    EnforcementFailed,
    EnforcementRecovered,
    HubStatusChanged,
    LimitWarning,
    LockCleared,
    LockSet,
    LossWarning,
    RuleError,
    SymbolLockCleared,
    SymbolLockSet,
)

log = logging.getLogger("riskmanager")


class NoticeLog:
    def __init__(self, bus: EventBus, zone: str = "America/Chicago") -> None:
        self.zone = ZoneInfo(zone)
        self._unsubscribe = bus.subscribe(self.on_notice)

    def close(self) -> None:
        self._unsubscribe()

    def _when(self, at: datetime | None) -> str:
        if at is None:
            return "until the gateway allows trading again"
        local = at.astimezone(self.zone)
        return f"until {local:%a %Y-%m-%d %H:%M} {local.tzname()}"

    def on_notice(self, notice: Any) -> None:
        line = self.describe(notice)
        if line is None:
            return
        failing = EnforcementFailed | RuleError | StateWriteFailed
        level = logging.ERROR if isinstance(notice, failing) else logging.INFO
        log.log(level, line)

    def describe(self, notice: Any) -> str | None:
        if isinstance(notice, AccountStatusChanged):
            name = f" ({notice.name})" if notice.name else ""
            return f"account {notice.account_id}{name} {notice.status}"
        if isinstance(notice, LockSet):
            lock = notice.lock
            if lock.kind.value == "cooldown" and lock.until is not None:
                kind = f"{duration((lock.until - lock.locked_at).total_seconds())} cooldown"
            else:
                kind = "hard lock" if lock.kind.value == "hard" else lock.kind.value
            return (
                f"LOCK account {lock.account_id} {_rule(lock.rule_id)} {kind} "
                f"{self._when(lock.until)}: {lock.reason}"
            )
        if isinstance(notice, LockCleared):
            lock = notice.lock
            return f"UNLOCK account {lock.account_id} {_rule(lock.rule_id)} ({notice.why})"
        if isinstance(notice, SymbolLockSet):
            return f"LOCK account {notice.lock.account_id} symbol {notice.lock.symbol}: {notice.lock.reason}"
        if isinstance(notice, SymbolLockCleared):
            return f"UNLOCK account {notice.lock.account_id} symbol {notice.lock.symbol}"
        if isinstance(notice, BreachDetected):
            return f"BREACH account {notice.account_id} {_rule(notice.rule_id)}: {notice.reason}"
        if isinstance(notice, LossWarning):
            return (
                f"WARNING account {notice.account_id}: daily realized P&L {money(notice.net)} has "
                f"reached {notice.fraction:.0%} of the {money(-notice.limit)} loss limit"
            )
        if isinstance(notice, LimitWarning):
            return f"WARNING account {notice.account_id} {_rule(notice.rule_id)}: {notice.message}"
        if isinstance(notice, DaySummary):
            return describe_summary(notice, self.zone)  # the summary's one line in the log
        if isinstance(notice, StateWriteFailed):
            return (f"STATE NOT SAVED: {named_rules(notice.what)} could not be written to the "
                    f"state file ({notice.error}); protection goes on from memory, but a crash now "
                    "would lose it: NOT PROTECTED against a crash until it is written")
        if isinstance(notice, StateWriteRecovered):
            return "state saved again: everything that had failed is in the state file"
        if isinstance(notice, EnforcementFailed):
            c = notice.command
            return (
                f"ENFORCEMENT FAILED account {c.account_id} {_rule(c.rule_id)} after "
                f"{notice.attempts} attempts: {notice.error} — still retrying; NOT PROTECTED "
                f"until it goes through"
            )
        if isinstance(notice, EnforcementRecovered):
            c = notice.command
            return (f"enforcement recovered account {c.account_id} {_rule(c.rule_id)} after "
                    f"{notice.attempts} attempts")
        if isinstance(notice, DailyReset):
            return f"account {notice.account_id}: new trading day {notice.trading_day}"
        if isinstance(notice, HubStatusChanged):
            return f"{notice.hub} hub {notice.state}"
        if isinstance(notice, RuleError):
            return f"RULE ERROR {_rule(notice.rule_id)} account {notice.account_id}: {notice.error}"
        return None


_rule = rule_label
