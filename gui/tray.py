"""The tray icon: one glance tells the trader whether every account is protected, warned or locked.

The controller only renders what it is given (the latest AccountSnapshots); the app decides when
to call :meth:`TrayController.update`. Menu choices are signals, so the app wires the windows and
the quit sequence (which must await core's shutdown, see main.py).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from core.app.snapshot import AccountSnapshot, LockView
from gui.icons import TrayState, icon_for

APP_NAME = "Risk Manager"
PROTECTED = "protected"

_STATE_TEXT = {
    TrayState.PROTECTED: "Protected",
    TrayState.WARNING: "Warning: a limit is at least 80% used",
    TrayState.LOCKED: "Locked",
    TrayState.DISCONNECTED: "Not protected",
}


def tray_state(snapshots: Sequence[AccountSnapshot]) -> TrayState:
    """Worst first: an account we cannot see beats a lock, a lock beats a warning."""
    if not snapshots or any(s.status != PROTECTED for s in snapshots):
        return TrayState.DISCONNECTED
    if any(s.hard_locked or s.in_cooldown for s in snapshots):
        return TrayState.LOCKED
    if any(s.warning for s in snapshots):
        return TrayState.WARNING
    return TrayState.PROTECTED


def format_duration(seconds: float) -> str:
    """1h 12m, 4m 10s, 45s, 2d 3h. Rounded up: a lock never reads 0s while it still holds."""
    total = max(0, math.ceil(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def signed_money(value: float | Decimal) -> str:
    amount = float(value)
    if abs(amount) < 0.005:
        return "$0.00"
    return f"{'+' if amount > 0 else '-'}${abs(amount):,.2f}"


def _remaining(lock: LockView, now: datetime) -> float | None:
    if lock.until is not None:
        return max(0.0, (lock.until - now).total_seconds())
    return lock.remaining_seconds


def ruling_lock(snapshot: AccountSnapshot, now: datetime) -> LockView | None:
    """The most restrictive lock: any hard lock before a cooldown, then the longest (None = open-ended)."""
    candidates = [lock for lock in snapshot.locks if lock.kind == "hard"] or [
        lock for lock in snapshot.locks if lock.kind == "cooldown"
    ]
    if not candidates:
        return None

    def length(lock: LockView) -> float:
        left = _remaining(lock, now)
        return math.inf if left is None else left

    return max(candidates, key=length)


def lock_text(snapshot: AccountSnapshot, now: datetime) -> str | None:
    lock = ruling_lock(snapshot, now)
    if lock is None:
        return None
    word = "Locked" if lock.kind == "hard" else "Cooldown"
    left = _remaining(lock, now)
    when = "until trading is allowed again" if left is None else format_duration(left)
    return f"{word} {when} ({lock.rule_id})"


def account_line(snapshot: AccountSnapshot, now: datetime) -> str:
    # The lock goes first: Windows cuts tray tooltips at 127 characters.
    parts: list[str] = []
    if snapshot.status != PROTECTED:
        parts.append(snapshot.status)
    locked = lock_text(snapshot, now)
    if locked:
        parts.append(locked)
    pnl = f"{signed_money(snapshot.realized)} today"
    if snapshot.open_pnl is not None and abs(snapshot.open_pnl) >= 0.005:
        pnl += f", open {signed_money(snapshot.open_pnl)}"
    parts.append(pnl)
    label = snapshot.name or str(snapshot.account_id)
    return f"{label}: " + " · ".join(parts)


def tooltip_text(snapshots: Sequence[AccountSnapshot], demo: bool, now: datetime) -> str:
    state = tray_state(snapshots)
    title = f"{APP_NAME}{' (DEMO)' if demo else ''}: {_STATE_TEXT[state].split(':')[0]}"
    if not snapshots:
        return f"{title}\nStarting…"
    return "\n".join([title, *(account_line(s, now) for s in snapshots)])


class TrayController(QObject):
    dashboardRequested = Signal()
    settingsRequested = Signal()
    aboutRequested = Signal()
    quitRequested = Signal()
    stateChanged = Signal(str)  # the TrayState value

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        refresh_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        self._snapshots: list[AccountSnapshot] = []
        self._demo = False
        self._state = TrayState.DISCONNECTED
        self._tray = QSystemTrayIcon(self)
        # QSystemTrayIcon does not own its menu: keep it here so it lives as long as the icon.
        self._menu = QMenu()
        self._status_action = self._menu.addAction(_STATE_TEXT[self._state])
        self._status_action.setEnabled(False)
        self._menu.addSeparator()
        self.dashboard_action = self._add("Dashboard", self.dashboardRequested.emit)
        self.settings_action = self._add("Settings…", self.settingsRequested.emit)
        self.about_action = self._add("About", self.aboutRequested.emit)
        self._menu.addSeparator()
        self.quit_action = self._add("Quit", self.quitRequested.emit)
        self._tray.setContextMenu(self._menu)
        self._tray.activated.connect(self._activated)
        self._tray.messageClicked.connect(self.dashboardRequested)
        self._tray.setIcon(icon_for(self._state, self._demo))
        self._tray.setToolTip(tooltip_text(self._snapshots, self._demo, self._now()))
        # Lock countdowns move between snapshots: keep the tooltip's minutes honest.
        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def _add(self, text: str, emit: Callable[[], None]) -> QAction:
        action = self._menu.addAction(text)
        action.triggered.connect(lambda _checked=False: emit())
        return action

    # --- what the app reads -------------------------------------------------------------------

    @property
    def tray(self) -> QSystemTrayIcon:
        return self._tray

    @property
    def menu(self) -> QMenu:
        return self._menu

    @property
    def available(self) -> bool:
        """Asked each time: a desktop panel can start after an autostarted app."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    @property
    def state(self) -> TrayState:
        return self._state

    @property
    def demo(self) -> bool:
        return self._demo

    @property
    def status_text(self) -> str:
        return self._status_action.text()

    def tooltip(self) -> str:
        return self._tray.toolTip()

    # --- changes ------------------------------------------------------------------------------

    def update(self, snapshots: Sequence[AccountSnapshot], demo: bool) -> None:
        self._snapshots = list(snapshots)
        state = tray_state(self._snapshots)
        changed = state != self._state or demo != self._demo
        self._state, self._demo = state, demo
        if changed:
            self._tray.setIcon(icon_for(state, demo))
        self._status_action.setText(self._status_line())
        self.refresh()
        if changed:
            self.stateChanged.emit(state.value)

    def refresh(self) -> None:
        text = tooltip_text(self._snapshots, self._demo, self._now())
        if text != self._tray.toolTip():
            self._tray.setToolTip(text)

    def _status_line(self) -> str:
        text = _STATE_TEXT[self._state]
        if self._state is TrayState.DISCONNECTED:
            statuses = {s.status for s in self._snapshots}
            text += ": starting" if not statuses else f": {', '.join(sorted(statuses - {PROTECTED}))}"
        return f"{text}{' (demo)' if self._demo else ''}"

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # On macOS a click opens the menu; elsewhere a click means "show me".
        click = reason is QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin"
        if click or reason is QSystemTrayIcon.ActivationReason.DoubleClick:
            self.dashboardRequested.emit()

    def show(self) -> None:
        self._tray.show()

    def close(self) -> None:
        self._timer.stop()
        self._tray.hide()
        self._tray.setContextMenu(None)  # type: ignore[arg-type]
        self._menu.deleteLater()
