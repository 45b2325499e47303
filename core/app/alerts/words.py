"""What an alert says: each notice in the trader's words, with how urgent it is.

No rule ids, no Python: "Daily loss limit", "30-minute cooldown", times in the trading-day
timezone. Everything here is plain formatting, cheap enough to run inside a bus callback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from core.app import state_words
from core.app.day_summary import DaySummary, summary_lines
from core.app.state_notices import (
    ProtectionGap,
    StateRebuildDone,
    StateRebuilt,
    StateWriteFailed,
    StateWriteRecovered,
)
from core.app.words import rule_name
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)
from core.domain.words import length, money
from core.engine.notices import (
    BreachDetected,
    EnforcementFailed,
    EnforcementRecovered,
    LimitWarning,
    LockCleared,
    LockSet,
    LossWarning,
    SymbolLockCleared,
    SymbolLockSet,
)
from core.modules.lockouts import Lock, LockKind

MLL_GUARD = "RULE-014"  # the Maximum Loss Limit guard: its warnings name the distance


class Priority(IntEnum):
    """ntfy's scale, used by every service: 5 makes a phone ring through Do Not Disturb."""

    LOW = 2
    DEFAULT = 3
    HIGH = 4
    URGENT = 5


@dataclass(frozen=True, slots=True)
class Alert:
    event: str  # the AlertEvent it belongs to: lock_set, warning, …
    title: str
    text: str
    priority: Priority
    at: datetime
    account_id: int | None = None
    account_name: str = ""
    tags: tuple[str, ...] = ()  # ntfy tags (emoji short codes)
    data: Mapping[str, Any] = field(default_factory=dict)  # structured extras for the webhook


_WHY = {
    "expired": "its time ran out",
    "can trade again": "the gateway allows trading again",
    "config": "the rule was changed in the settings",
}


class AlertWords:
    """Builds :class:`Alert` objects. ``names`` maps account ids to the names the gateway gave
    them; ``contract_name`` turns a contract id into its symbol; ``locks_in_force`` lists an
    account's locks (so "lifted" can say whether trading is really allowed again)."""

    def __init__(
        self,
        zone: str | ZoneInfo = "America/Chicago",
        *,
        contract_name: Callable[[str], str] | None = None,
        locks_in_force: Callable[[int], list[Lock]] | None = None,
    ) -> None:
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.names: dict[int, str] = {}
        self.contract_name = contract_name or (lambda contract_id: contract_id)
        self.locks_in_force = locks_in_force

    # --- small parts ---------------------------------------------------------------------

    def account(self, account_id: int) -> str:
        name = self.names.get(account_id, "")
        return f"{name} ({account_id})" if name else f"account {account_id}"

    def account_title(self, account_id: int) -> str:
        """:meth:`account` to start a sentence with."""
        text = self.account(account_id)
        return text[:1].upper() + text[1:]

    def when(self, at: datetime) -> str:
        local = at.astimezone(self.zone)
        return f"{local:%a %H:%M} {local.tzname()}"

    def clock_time(self, at: datetime) -> str:
        local = at.astimezone(self.zone)
        return f"{local:%H:%M} {local.tzname()}"

    def action(self, command: EnforcementCommand) -> str:
        """What the app was doing, as a verb phrase: "close MNQU6"."""
        contract = getattr(command, "contract_id", "")
        what = self.contract_name(contract) if contract else ""
        if isinstance(command, CloseContract):
            return f"close the {what} position"
        if isinstance(command, PartialClose):
            return f"close {command.size} contract(s) of {what}"
        if isinstance(command, CancelOrder):
            return f"cancel order {command.order_id}" + (f" in {what}" if what else "")
        if isinstance(command, Flatten):
            return "close every position and cancel every order"
        if isinstance(command, ModifyStop):
            return f"adjust the stop on {what}"
        if isinstance(command, PlaceStop):
            return f"place a stop on {what}"
        return "carry out an enforcement"

    def _alert(self, event: str, title: str, text: str, priority: Priority, at: datetime,
               account_id: int | None, tags: tuple[str, ...],
               data: Mapping[str, Any] | None = None) -> Alert:
        name = self.names.get(account_id, "") if account_id is not None else ""
        return Alert(event, title, text, priority, at, account_id, name, tags, data or {})

    # --- notices -------------------------------------------------------------------------

    def describe(self, notice: Any, now: datetime) -> Alert | None:
        """The alert for a notice, or None when the notice is not one alerts speak about."""
        if isinstance(notice, LockSet):
            return self.lock_set(notice.lock, now)
        if isinstance(notice, LockCleared):
            return self.lock_lifted(notice, now)
        if isinstance(notice, SymbolLockSet):
            lock = notice.lock
            return self._alert(
                "lock_set",
                f"{lock.symbol} blocked on {self.account(lock.account_id)}",
                f"{rule_name(lock.rule_id)}: {lock.reason}. The app closes any {lock.symbol} "
                f"position and cancels its orders while it stays blocked.",
                Priority.HIGH, now, lock.account_id, ("lock",),
            )
        if isinstance(notice, SymbolLockCleared):
            lock = notice.lock
            return self._alert(
                "lock_lifted",
                f"{lock.symbol} no longer blocked on {self.account(lock.account_id)}",
                f"{lock.symbol} may be traded again ({rule_name(lock.rule_id)}).",
                Priority.DEFAULT, now, lock.account_id, ("unlock",),
            )
        if isinstance(notice, EnforcementFailed):
            return self.enforcement_failed(notice, now)
        if isinstance(notice, EnforcementRecovered):
            c = notice.command
            return self._alert(
                "enforcement_recovered",
                f"{self.account_title(c.account_id)}: enforcement working again",
                f"The app managed to {self.action(c)} after {notice.attempts} attempts "
                f"({rule_name(c.rule_id)}).",
                Priority.DEFAULT, now, c.account_id, ("white_check_mark",),
            )
        if isinstance(notice, LossWarning):
            return self._alert(
                "warning",
                f"{self.account_title(notice.account_id)}: daily loss at {notice.fraction:.0%} of the limit",
                f"Realized P&L today is {money(notice.net)} of the {money(-notice.limit)} daily "
                "loss limit. At the limit the app closes every position and locks the account "
                "until the daily reset.",
                Priority.HIGH, now, notice.account_id, ("warning",),
                {"fraction": notice.fraction, "net": str(notice.net), "limit": notice.limit},
            )
        if isinstance(notice, LimitWarning):
            return self.limit_warning(notice, now)
        if isinstance(notice, BreachDetected):
            return self._alert(
                "breach",
                f"{self.account_title(notice.account_id)}: {rule_name(notice.rule_id)}",
                f"{_sentence(notice.reason)} The app is acting on it.",
                Priority.DEFAULT, now, notice.account_id, ("no_entry",),
            )
        if isinstance(notice, DaySummary):
            return self.day_summary(notice, now)
        return self.app_state(notice, now)

    def app_state(self, notice: Any, now: datetime) -> Alert | None:
        """The app's own state: a state file that cannot be written (as urgent as a failing
        close), a state file rebuilt from the trade history, the gap an unclean stop left."""
        if isinstance(notice, StateWriteFailed):
            title, text = state_words.not_saved(notice)
            return self._alert("enforcement_failing", f"URGENT {title}", text, Priority.URGENT,
                               now, None, ("rotating_light",), {"error": notice.error})
        if isinstance(notice, StateWriteRecovered):
            title, text = state_words.saved_again()
            return self._alert("enforcement_recovered", title, text, Priority.DEFAULT, now, None,
                               ("white_check_mark",))
        if isinstance(notice, StateRebuilt):
            title, text = state_words.rebuilt(notice)
            return self._alert("warning", title, text, Priority.HIGH, now, None, ("warning",),
                               {"why": notice.why})
        if isinstance(notice, StateRebuildDone):
            title, text = state_words.rebuild_done(notice)
            return self._alert("warning", title, text, Priority.DEFAULT, now, None,
                               ("white_check_mark",))
        if isinstance(notice, ProtectionGap):
            title, text = state_words.gap(notice, self.zone, self.contract_name)
            return self._alert(
                "connection_lost", f"{self.account_title(notice.account_id)}: {title.lower()}",
                text, Priority.HIGH, now, notice.account_id, ("warning",),
                {"stopped_at": notice.stopped_at.isoformat(),
                 "resumed_at": notice.resumed_at.isoformat(),
                 "net": str(notice.net) if notice.net is not None else None},
            )
        return None

    def limit_warning(self, notice: LimitWarning, now: datetime) -> Alert:
        """A limit is near: the Maximum Loss Limit guard's distance, or a ladder's warning."""
        who = self.account_title(notice.account_id)
        data = {"rule": rule_name(notice.rule_id), "threshold": notice.threshold}
        if notice.rule_id == MLL_GUARD:
            return self._alert(
                "warning",
                f"{who}: {money(notice.threshold)} from the Maximum Loss Limit",
                f"{_sentence(notice.message)} Topstep fails the account when equity touches the "
                "floor; the app closes everything and locks the account before it does.",
                Priority.HIGH, now, notice.account_id, ("warning",), data,
            )
        limit, _, used = notice.message.partition(": ")
        title = f"{who}: {limit.lower()} {used}" if used else f"{who}: {rule_name(notice.rule_id)}"
        return self._alert(
            "warning", title,
            f"{_sentence(notice.message)} The limit's own rule still acts at the limit.",
            Priority.HIGH, now, notice.account_id, ("warning",), data,
        )

    def lock_set(self, lock: Lock, now: datetime) -> Alert:
        who, name = self.account_title(lock.account_id), rule_name(lock.rule_id)
        if lock.kind is LockKind.COOLDOWN and lock.until is not None:
            how_long = length((lock.until - lock.locked_at).total_seconds())
            return self._alert(
                "lock_set",
                f"{who}: {how_long} cooldown ({name})",
                f"{_sentence(lock.reason)} No new positions until {self.clock_time(lock.until)}; "
                "open positions are left alone, added size is closed.",
                Priority.HIGH, now, lock.account_id, ("lock",),
                {"rule": name, "kind": "cooldown", "until": lock.until.isoformat()},
            )
        until = (
            f"until {self.when(lock.until)}" if lock.until is not None
            else "until the gateway allows trading again"
        )
        return self._alert(
            "lock_set",
            f"{who} locked: {name}",
            f"{_sentence(lock.reason)} Trading is locked {until}: the app closes every position "
            "and cancels working orders, and keeps the account flat.",
            Priority.HIGH, now, lock.account_id, ("lock",),
            {"rule": name, "kind": "hard lock",
             "until": lock.until.isoformat() if lock.until else None},
        )

    def lock_lifted(self, notice: LockCleared, now: datetime) -> Alert:
        lock = notice.lock
        who, name = self.account_title(lock.account_id), rule_name(lock.rule_id)
        remaining = [
            other for other in (self.locks_in_force(lock.account_id) if self.locks_in_force else [])
            if other.rule_id != lock.rule_id and other.active_at(now)
        ]
        if remaining:
            still = "; ".join(
                f"{rule_name(o.rule_id)} "
                + (f"until {self.when(o.until)}" if o.until else "until the gateway allows trading")
                for o in remaining
            )
            after = f"Still locked: {still}."
        elif self.locks_in_force is not None:
            after = "Trading allowed again."
        else:
            after = "Other locks, if any, still apply."
        if lock.kind is LockKind.COOLDOWN:
            title, ended = f"{who}: cooldown over ({name})", "The cooldown has ended"
        else:
            title, ended = f"{who}: {name} lock lifted", f"The {name} lock has ended"
        return self._alert(
            "lock_lifted",
            title,
            f"{ended} ({_WHY.get(notice.why, notice.why)}). {after}",
            Priority.DEFAULT, now, lock.account_id, ("unlock",),
        )

    def enforcement_failed(self, notice: EnforcementFailed, now: datetime) -> Alert:
        c = notice.command
        return self._alert(
            "enforcement_failing",
            f"URGENT {self.account(c.account_id)}: the app cannot {self.action(c)}",
            f"{rule_name(c.rule_id)}: the attempt to {self.action(c)} failed "
            f"{notice.attempts} times (the gateway said: {notice.error}). The app keeps "
            "trying; check your positions on the trading platform now.",
            Priority.URGENT, now, c.account_id, ("rotating_light",),
        )

    def connection_lost(self, what: str, since: datetime, seconds: float, now: datetime) -> Alert:
        return self._alert(
            "connection_lost",
            "Connection to TopstepX lost",
            f"{_sentence(what)} Down since {self.clock_time(since)} (over "
            f"{_spoken(seconds)}). Until it is back the app cannot see new fills or enforce "
            "your rules; it keeps reconnecting.",
            Priority.HIGH, now, None, ("electric_plug",),
        )

    def connection_restored(self, since: datetime, now: datetime) -> Alert:
        return self._alert(
            "connection_lost",
            "Connection to TopstepX restored",
            f"The connection lost at {self.clock_time(since)} is back after "
            f"{_spoken((now - since).total_seconds())}; your accounts are protected again.",
            Priority.DEFAULT, now, None, ("white_check_mark",),
        )

    def day_summary(self, summary: DaySummary, now: datetime) -> Alert:
        lines = summary_lines(summary, self.zone)
        return self._alert(
            "day_summary",
            f"{self.account_title(summary.account_id)}: {summary.trading_day:%a %d %b} summary, "
            f"net {money(summary.net)}",
            "\n".join(lines),
            Priority.LOW, now, summary.account_id, ("bar_chart",),
            {
                "trading_day": summary.trading_day.isoformat(),
                "net": str(summary.net),
                "gross": str(summary.gross),
                "fees": str(summary.fees),
                "fills": summary.fills,
                "exits": summary.exits,
                "winners": summary.winners,
                "losers": summary.losers,
                "breaches": {b.name: b.count for b in summary.breaches},
                "locks": [{"rule": lk.name, "kind": lk.kind, "count": lk.count}
                          for lk in summary.locks],
            },
        )


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _spoken(seconds: float) -> str:
    """45 → "45 seconds", 90 → "1 minute 30 s", 3600 → "1 hour", 5400 → "1 hour 30 min"."""
    total = max(0, int(round(seconds)))
    if total < 60:
        return f"{total} second{'' if total == 1 else 's'}"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}" + (f" {secs} s" if secs else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} hour{'' if hours == 1 else 's'}" + (f" {minutes} min" if minutes else "")
