"""Plain-words log lines for what a trader (or a headless log reader) needs to see.

Rules are named as a trader says them, with the internal id in brackets after the name so a
log can still be searched by it ("Daily loss limit [RULE-003]").

The app's own state: a state file that cannot be written gets a "NOT PROTECTED" line here, as a
failing close does (the writer's own line is the technical one, with its traceback). A rebuilt
state file and the gap after an unclean stop are logged by the service itself, in plain words,
when it finds them (:mod:`core.app.state_guard`): they are not repeated here.

An account is "protected" only when something is enforced on it: connected with no limit
enabled, its line says so (as the tray's "No limit enabled" state does), and says again when a
config coming into force changes that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.app.day_summary import DaySummary, describe_summary
from core.app.protection import PROTECTED_STATUS
from core.app.state_notices import ConfigInForceChanged, StateWriteFailed, StateWriteRecovered
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

NOTHING_ENFORCED = "connected, but no limit is enabled: nothing is enforced"


class NoticeLog:
    """``enforces_anything(account_id)``: whether a connected account has a limit enabled
    (:meth:`core.app.service.RiskService.enforces_anything`); without it every connected account
    is taken to have one."""

    def __init__(self, bus: EventBus, zone: str = "America/Chicago", *,
                 enforces_anything: Callable[[int], bool] | None = None) -> None:
        self.zone = ZoneInfo(zone)
        self._enforces_anything = enforces_anything
        # Each connected account's name and what its last line said about enforcing.
        self._connected: dict[int, tuple[str, bool]] = {}
        self._unsubscribe = bus.subscribe(self.on_notice)

    def close(self) -> None:
        self._unsubscribe()

    def _when(self, at: datetime | None) -> str:
        if at is None:
            return "until the gateway allows trading again"
        local = at.astimezone(self.zone)
        return f"until {local:%a %Y-%m-%d %H:%M} {local.tzname()}"

    def on_notice(self, notice: Any) -> None:
        if isinstance(notice, ConfigInForceChanged):
            self._judge_again()
            return
        line = self.describe(notice)
        if line is None:
            return
        failing = EnforcementFailed | RuleError | StateWriteFailed
        level = logging.ERROR if isinstance(notice, failing) else logging.INFO
        if line.endswith(NOTHING_ENFORCED):
            level = logging.WARNING
        log.log(level, line)

    def _status_line(self, notice: AccountStatusChanged) -> str:
        name = f" ({notice.name})" if notice.name else ""
        if notice.status != PROTECTED_STATUS or self._enforces_anything is None:
            self._connected.pop(notice.account_id, None)
            return f"account {notice.account_id}{name} {notice.status}"
        enforcing = self._enforces_anything(notice.account_id)
        self._connected[notice.account_id] = (notice.name, enforcing)
        return f"account {notice.account_id}{name} {notice.status if enforcing else NOTHING_ENFORCED}"

    def _judge_again(self) -> None:
        """A new config in force: say so for each connected account whose state it changed."""
        if self._enforces_anything is None:
            return
        for account_id, (name, was) in sorted(self._connected.items()):
            enforcing = self._enforces_anything(account_id)
            if enforcing == was:
                continue
            self._connected[account_id] = (name, enforcing)
            named = f"account {account_id}" + (f" ({name})" if name else "")
            if enforcing:
                log.info("%s protected: a limit is enabled now", named)
            else:
                log.warning("%s %s", named, NOTHING_ENFORCED)

    def describe(self, notice: Any) -> str | None:
        if isinstance(notice, AccountStatusChanged):
            return self._status_line(notice)
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
            # The exception and its traceback are in the engine's own line just before.
            return (f"RULE ERROR {_rule(notice.rule_id)} account {notice.account_id}: the rule "
                    "could not judge an update and took no decision on it; the other rules "
                    "still ran")
        return None


_rule = rule_label
