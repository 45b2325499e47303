"""Tray messages for what the trader must know now: locks, warnings, enforcement and its trouble,
the link to the gateway, in the trader's words.

Notices arrive through :class:`gui.bridge.CoreBridge` (so always on the GUI thread); the app's
own state (a rebuilt state file, a state that cannot be saved, a gap after an unclean stop) is
told here too (the words: :mod:`gui.popup_words`, :mod:`gui.popup_lock_words`). Balloons go
through a queue (:mod:`gui.popup_queue`) so none replaces another unread. Where there is no
system tray, the same messages go to a small always-on-top window that never takes focus from
the trading platform and never runs a nested event loop. Each enforcement that went through is
announced, grouped per account over ``action_delay`` seconds ("Closed MNQU6 long 7; Cancelled
2 orders"). Time for the alarm repeat, the grouping and the connection rate limit comes from an
injected monotonic clock, so tests drive it by hand.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from core.app.day_summary import DaySummary
from core.app.enforcement_watch import CommandKey, command_key
from core.app.snapshot import EnforcementView
from core.app.state_notices import StateWriteFailed, StateWriteRecovered
from core.app.words import action_word, gateway_words, rule_name
from core.domain.commands import ACTIONS, EnforcementCommand, Flatten
from core.engine.notices import (
    AccountStatusChanged,
    EnforcementDone,
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
from gui.bridge import CoreBridge
from gui.popup_lock_words import (
    lock_cleared_popup,
    lock_set_popup,
    loss_warning_popup,
    symbol_lock_popup,
    symbol_unlock_popup,
)
from gui.popup_queue import MAX_LINES, BalloonQueue
from gui.popup_window import CRITICAL, INFO, WARNING, PopupWindow, Shown
from gui.popup_words import (
    day_summary_popup,
    limit_warning_popup,
    not_saved_popup,
    saved_again_popup,
    state_popup,
)

_HUB_WORDS = {"user": "account updates", "market": "market data"}
RULE_ERROR_EVERY = 600.0  # seconds between two messages about the same failing rule
_QUIET_ACTIONS = {"modify_stop", "place_stop"}  # trade management moves stops all day long


@dataclass(slots=True)
class _Alarm:
    notice: EnforcementFailed
    last_shown: float


@dataclass(slots=True)
class _Actions:
    first_at: float
    views: list[EnforcementView] = field(default_factory=list)


def _default_todo(command: EnforcementCommand) -> str:
    return f"{ACTIONS[type(command)].replace('_', ' ')} {getattr(command, 'contract_id', '')}".strip()


class Notifier(QObject):
    shown = Signal(object)  # a Shown, after it was displayed (or queued for the tray)

    def __init__(
        self,
        bridge: CoreBridge | None = None,
        tray: QSystemTrayIcon | None = None,
        *,
        zone: str | ZoneInfo = "America/Chicago",
        monotonic: Callable[[], float] = time.monotonic,
        alarm_every: float = 60.0,
        flap_window: float = 60.0,
        use_tray: bool | None = None,
        message_ms: int = 8000,
        critical_ms: int = 20000,
        tick_ms: int = 1000,
        history_limit: int = 500,
        gap: float = 4.0,
        action_delay: float = 1.5,
        todo: Callable[[EnforcementCommand], str] = _default_todo,
        contract_name: Callable[[str], str] = str,
        on_open_dashboard: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._tray = tray
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._monotonic = monotonic
        self.alarm_every = alarm_every
        self.flap_window = flap_window
        self.action_delay = action_delay
        self._todo = todo
        self._contract_name = contract_name
        self._on_open_dashboard = on_open_dashboard
        self._use_tray = use_tray
        self._message_ms, self._critical_ms = message_ms, critical_ms
        self._history_limit = history_limit
        self.history: list[Shown] = []
        self._window: PopupWindow | None = None
        self.balloons = (
            BalloonQueue(tray, monotonic, gap=gap, message_ms=message_ms, critical_ms=critical_ms)
            if tray is not None else None
        )
        self._names: dict[int, str] = {}
        self._alarms: dict[CommandKey, _Alarm] = {}
        self._rule_errors: dict[tuple[str, int], float] = {}  # (rule, account) → last told
        self._unsaved: tuple[StateWriteFailed, float] | None = None  # the alarm, last shown
        self._actions: dict[int, _Actions] = {}
        # Connection: the real state, and what the trader was last told about it.
        self._accounts: dict[int, str] = {}
        self._was_protected: set[int] = set()
        self._hubs: dict[str, str] = {}
        self._hub_was_connected: set[str] = set()
        self._told_up = True  # nothing said yet: starting up is not "lost"
        self._actually_up = True
        self._last_lost_at: float | None = None
        self._drops = 0
        if bridge is not None:
            bridge.notice.connect(self.on_notice)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.tick)
        self._timer.start()

    # --- input --------------------------------------------------------------------------------

    @Slot(object)
    def on_notice(self, notice: Any) -> None:
        if isinstance(notice, AccountStatusChanged):
            if notice.name:
                self._names[notice.account_id] = notice.name
            self._accounts[notice.account_id] = notice.status
            if notice.status == "protected":
                self._was_protected.add(notice.account_id)
            self._connection_changed()
        elif isinstance(notice, HubStatusChanged):
            self._hubs[notice.hub] = notice.state
            if notice.state == "connected":
                self._hub_was_connected.add(notice.hub)
            self._connection_changed()
        elif isinstance(notice, LockSet):
            lock = notice.lock
            self._show(*lock_set_popup(lock, self._account(lock.account_id), self.zone),
                       lock.account_id)
        elif isinstance(notice, LockCleared):
            lock = notice.lock
            self._show(*lock_cleared_popup(notice, self._account(lock.account_id)),
                       lock.account_id)
        elif isinstance(notice, SymbolLockSet):
            account_id = notice.lock.account_id
            self._show(*symbol_lock_popup(notice, self._account(account_id)), account_id)
        elif isinstance(notice, SymbolLockCleared):
            account_id = notice.lock.account_id
            self._show(*symbol_unlock_popup(notice, self._account(account_id)), account_id)
        elif isinstance(notice, LossWarning):
            self._show(*loss_warning_popup(notice, self._account(notice.account_id)),
                       notice.account_id)
        elif isinstance(notice, LimitWarning):
            self._show(*limit_warning_popup(notice, self._account(notice.account_id)),
                       notice.account_id)
        elif isinstance(notice, DaySummary) and not notice.quiet:  # a day without trading: no news
            self._show(*day_summary_popup(notice, self._account(notice.account_id), self.zone),
                       notice.account_id)
        elif isinstance(notice, EnforcementFailed):
            self._enforcement_failed(notice)
        elif isinstance(notice, EnforcementDone | EnforcementRecovered):
            self._enforcement_resolved(notice.command, notice.attempts)
        elif isinstance(notice, StateWriteFailed | StateWriteRecovered):
            self._state_write(notice)
        elif isinstance(notice, RuleError):
            # A rule that fails once fails on every quote: told once per rule and account
            # every RULE_ERROR_EVERY seconds, not a thousand times a second.
            key, now = (notice.rule_id, notice.account_id), self._monotonic()
            last = self._rule_errors.get(key)
            told = state_popup(notice, self._account, self.zone, self._contract_name)
            if told is not None and (last is None or now - last >= RULE_ERROR_EVERY):
                self._rule_errors[key] = now
                self._show(*told)
        else:
            told = state_popup(notice, self._account, self.zone, self._contract_name)
            if told is not None:
                self._show(*told)

    def announce_action(self, view: EnforcementView, account_id: int) -> None:
        """An enforcement that went through: told once per group of ``action_delay`` seconds."""
        if view.action in _QUIET_ACTIONS:
            return
        group = self._actions.get(account_id)
        if group is None:
            group = self._actions[account_id] = _Actions(self._monotonic())
        group.views.append(view)

    def announce_restored(self, lines: list[str]) -> None:
        """Locks read back from the state file at start-up: still in force, say so."""
        if lines:
            self._show("restored", "Locks still in force after the restart", "\n".join(lines),
                       WARNING)

    def tick(self) -> None:
        """Repeat unresolved alarms, announce grouped actions, tell a connection loss that the
        rate limit held back, and let queued balloons out."""
        now = self._monotonic()
        for alarm in list(self._alarms.values()):
            if now - alarm.last_shown >= self.alarm_every:
                alarm.last_shown = now
                self._show_alarm(alarm.notice, repeat=True)
        unsaved = self._unsaved
        if unsaved is not None and now - unsaved[1] >= self.alarm_every:
            self._unsaved = (unsaved[0], now)
            self._show(*not_saved_popup(unsaved[0], repeat=True))
        for account_id, group in list(self._actions.items()):
            if now - group.first_at >= self.action_delay:
                del self._actions[account_id]
                self._show_actions(account_id, group.views)
        self._connection_changed()
        if self.balloons is not None:
            self.balloons.pump()

    # --- enforcement --------------------------------------------------------------------------

    def _show_actions(self, account_id: int, views: list[EnforcementView]) -> None:
        lines = list(dict.fromkeys(
            f"{action_word(v.action)} {v.target or v.contract}".strip() for v in views))
        rules = list(dict.fromkeys(rule_name(v.rule_id) for v in views))
        body_lines = lines[:MAX_LINES] + (
            [f"… and {len(lines) - MAX_LINES} more"] if len(lines) > MAX_LINES else [])
        self._show("enforcement", f"Enforced: {', '.join(rules)}",
                   f"{self._account(account_id)}: " + "; ".join(body_lines), INFO, account_id)

    def _enforcement_failed(self, notice: EnforcementFailed) -> None:
        key = command_key(notice.command)
        alarm = self._alarms.get(key)
        if alarm is not None:
            alarm.notice = notice  # core's own repeat: keep the latest error, the timer repeats
            return
        self._alarms[key] = _Alarm(notice, self._monotonic())
        self._show_alarm(notice, repeat=False)

    def _show_alarm(self, notice: EnforcementFailed, repeat: bool) -> None:
        c = notice.command
        try:
            todo = self._todo(c)
        except Exception:  # words must never stop an alarm
            todo = _default_todo(c)
        still = " (still)" if repeat else ""
        self._show("enforcement_failed", f"NOT PROTECTED{still}: {rule_name(c.rule_id)}",
                   f"{self._account(c.account_id)}: {todo} on the platform now. The gateway "
                   f"refused it {notice.attempts} times ({gateway_words(notice.error)}); still retrying.",
                   CRITICAL, c.account_id)

    def _enforcement_resolved(self, command: EnforcementCommand, attempts: int) -> None:
        key = command_key(command)
        # A finished flatten leaves the account flat with no orders: every alarm on it is moot.
        done = [k for k in self._alarms
                if k == key or (isinstance(command, Flatten) and k[1] == command.account_id)]
        for k in done:
            del self._alarms[k]
        if done:
            self._show("enforcement_resolved", f"Protected again: {rule_name(command.rule_id)}",
                       f"{self._account(command.account_id)}: "
                       f"{action_word(ACTIONS[type(command)]).lower()} went through after "
                       f"{attempts} attempts.", INFO, command.account_id)

    def _state_write(self, notice: StateWriteFailed | StateWriteRecovered) -> None:
        """The state file cannot be written: the same repeating alarm as a failing close,
        once (each unwritten item reports), until everything is written again."""
        if isinstance(notice, StateWriteFailed):
            if self._unsaved is None:
                self._show(*not_saved_popup(notice, repeat=False))
            self._unsaved = (notice, self._monotonic())
        elif self._unsaved is not None:
            self._unsaved = None
            self._show(*saved_again_popup())

    def active_alarms(self) -> int:
        return len(self._alarms) + (self._unsaved is not None)

    # --- connection (rate limited) ------------------------------------------------------------

    def _connection_up(self) -> bool:
        accounts_down = any(a in self._was_protected and s != "protected" for a, s in self._accounts.items())
        hubs_down = any(h in self._hub_was_connected and s not in ("connected", "stopped")
                        for h, s in self._hubs.items())
        return not (accounts_down or hubs_down)

    def _connection_changed(self) -> None:
        up = self._connection_up()
        if up != self._actually_up:
            self._actually_up = up
            if not up:
                self._drops += 1
        if up == self._told_up:
            return
        now = self._monotonic()
        if up:
            # Always allowed: it closes the pair whose "lost" the trader has seen.
            self._told_up = True
            self._show("connection_restored", "Connection restored: protected again",
                       "Accounts re-read from the gateway and protected again.", INFO)
            return
        if self._last_lost_at is not None and now - self._last_lost_at < self.flap_window:
            return  # flapping: tick() tells the state that holds once the window has passed
        self._told_up = False
        self._last_lost_at = now
        drops = f" It dropped {self._drops} times recently." if self._drops > 1 else ""
        self._drops = 0
        self._show("connection_lost", "Gateway unreachable: not protected",
                   f"{self._down_parts()}: rules cannot act until it is back.{drops} "
                   "Reconnecting…", WARNING)

    def _down_parts(self) -> str:
        hubs = [_HUB_WORDS.get(h, h) for h in sorted(self._hubs)
                if h in self._hub_was_connected and self._hubs[h] not in ("connected", "stopped")]
        if hubs:
            return f"No {' and '.join(hubs)} from the gateway"
        accounts = [self._account(a) for a, s in sorted(self._accounts.items())
                    if a in self._was_protected and s != "protected"]
        return f"Not protected: {', '.join(accounts)}"

    # --- output -------------------------------------------------------------------------------

    def _account(self, account_id: int) -> str:
        name = self._names.get(account_id)
        return f"{name} ({account_id})" if name else f"Account {account_id}"

    @property
    def uses_tray(self) -> bool:
        if self._tray is None:
            return False
        if self._use_tray is not None:
            return self._use_tray
        return QSystemTrayIcon.isSystemTrayAvailable()

    @property
    def window(self) -> PopupWindow | None:
        return self._window

    def _show(self, kind: str, title: str, body: str, level: str, account_id: int | None = None) -> None:
        tray = self.uses_tray
        shown = Shown(kind, title, body, level, "tray" if tray else "window", self._monotonic(), account_id)
        self.history.append(shown)
        del self.history[: -self._history_limit]
        if tray and self.balloons is not None:
            self.balloons.put(shown)
        else:
            if self._window is None:
                self._window = PopupWindow(on_open_dashboard=self._on_open_dashboard)
            msecs = self._critical_ms if level == CRITICAL else self._message_ms
            self._window.add(shown, msecs)
        self.shown.emit(shown)

    def close(self) -> None:
        """Before core stops: shutdown's disconnects are not news."""
        self._timer.stop()
        if self.balloons is not None:
            self.balloons.clear()
        if self._bridge is not None:
            with contextlib.suppress(RuntimeError):  # the bridge may already be gone
                self._bridge.notice.disconnect(self.on_notice)
            self._bridge = None
        if self._window is not None:
            self._window.dismiss()
            self._window.deleteLater()
            self._window = None
