"""The tray icon: one glance tells the trader the worst true state of every account.

The controller only renders what it is given (the latest AccountSnapshots); the app decides when
to call :meth:`TrayController.update`. The state, its words and its order (failing enforcement,
not connected, no limit enabled, locked, cooldown, warning, protected) come from
:mod:`core.app.protection`, so the tray, the dashboard and the log never disagree. Menu choices
are signals, so the app wires the windows and the quit sequence (which must await core's
shutdown, see main.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from core.app.protection import (
    PROTECTED_STATUS,
    TITLES,
    account_state,
    closest_to_mll,
    headline,
    overall_headline,
    overall_state,
)
from core.app.snapshot import AccountSnapshot
from gui.icons import TrayState, icon_for

APP_NAME = "Risk Manager"
PROTECTED = PROTECTED_STATUS
# Windows cuts tray tooltips at 127 characters: the state first, detail after.
TOOLTIP_LIMIT = 127


def tray_state(snapshots: Sequence[AccountSnapshot]) -> TrayState:
    """Worst first: one account failing, unreachable or locked decides for all."""
    return overall_state(snapshots)


def signed_money(value: float | Decimal) -> str:
    amount = float(value)
    if abs(amount) < 0.005:
        return "$0.00"
    return f"{'+' if amount > 0 else '-'}${abs(amount):,.2f}"


def account_line(snapshot: AccountSnapshot, now: datetime, zone: ZoneInfo) -> str:
    """ "PA-1: Locked until 17:00 CST (daily loss) · -$512.40 today"."""
    parts = [headline(snapshot, now, zone)]
    pnl = f"{signed_money(snapshot.realized)} today"
    if snapshot.open_pnl is not None and abs(snapshot.open_pnl) >= 0.005:
        pnl += f", open {signed_money(snapshot.open_pnl)}"
    parts.append(pnl)
    label = snapshot.name or str(snapshot.account_id)
    return f"{label}: " + " · ".join(parts)


def tooltip_text(
    snapshots: Sequence[AccountSnapshot], demo: bool, now: datetime, zone: ZoneInfo
) -> str:
    title = f"{APP_NAME}{' (DEMO)' if demo else ''}"
    if not snapshots:
        return f"{title}\nConnecting: not protected yet"
    lines = [f"{title}: {TITLES[overall_state(snapshots)]}"]
    # Second, so that it survives Windows cutting the tooltip: what ends a Topstep account.
    mll = closest_to_mll(snapshots)
    if mll is not None:
        lines.append(mll)
    lines += [account_line(s, now, zone) for s in snapshots]
    return "\n".join(lines)


class TrayController(QObject):
    dashboardRequested = Signal()
    historyRequested = Signal()
    settingsRequested = Signal()
    lockOutRequested = Signal()
    whatIfRequested = Signal()
    aboutRequested = Signal()
    quitRequested = Signal()
    stateChanged = Signal(str)  # the TrayState value

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        zone: str | ZoneInfo = "America/Chicago",
        refresh_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self._now = now or (lambda: datetime.now(UTC))
        self._zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._snapshots: list[AccountSnapshot] = []
        self._demo = False
        self._state = TrayState.DISCONNECTED
        self._tray = QSystemTrayIcon(self)
        # QSystemTrayIcon does not own its menu: keep it here so it lives as long as the icon.
        self._menu = QMenu()
        self._status_action = self._menu.addAction("Connecting: not protected yet")
        self._status_action.setEnabled(False)
        # One line per account, between the status and the actions (rebuilt when accounts change).
        self._account_actions: list[QAction] = []
        self._accounts_end = self._menu.addSeparator()
        self.dashboard_action = self._add("Dashboard", self.dashboardRequested.emit)
        self.history_action = self._add("History", self.historyRequested.emit)
        self.settings_action = self._add("Settings…", self.settingsRequested.emit)
        self.lock_out_action = self._add("Lock me out now…", self.lockOutRequested.emit)
        self.what_if_action = self._add("What if…", self.whatIfRequested.emit)
        self.about_action = self._add("About", self.aboutRequested.emit)
        self._menu.addSeparator()
        self.quit_action = self._add("Quit", self.quitRequested.emit)
        self._tray.setContextMenu(self._menu)
        self._tray.activated.connect(self._activated)
        self._tray.messageClicked.connect(self.dashboardRequested)
        self._tray.setIcon(icon_for(self._state, self._demo))
        self._tray.setToolTip(tooltip_text(self._snapshots, self._demo, self._now(), self._zone))
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

    @property
    def account_texts(self) -> list[str]:
        return [action.text() for action in self._account_actions]

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
        self.refresh()
        if changed:
            self.stateChanged.emit(state.value)

    def refresh(self) -> None:
        now = self._now()
        text = tooltip_text(self._snapshots, self._demo, now, self._zone)
        if len(text) > TOOLTIP_LIMIT and sys.platform == "win32":
            text = text[: TOOLTIP_LIMIT - 1] + "…"
        if text != self._tray.toolTip():
            self._tray.setToolTip(text)
        if len(self._snapshots) > 1:
            # The accounts' own lines follow: the first line only says how it stands overall.
            status = f"{APP_NAME}: {TITLES[self._state]}"
        else:
            status = overall_headline(self._snapshots, now, self._zone)
        status += " (demo)" if self._demo else ""
        if status != self._status_action.text():
            self._status_action.setText(status)
        self._render_accounts(now)

    def _render_accounts(self, now: datetime) -> None:
        # With one account the status line already is its line.
        lines = [account_line(s, now, self._zone) for s in self._snapshots] if len(
            self._snapshots) > 1 else []
        if len(lines) != len(self._account_actions):
            for action in self._account_actions:
                self._menu.removeAction(action)
            self._account_actions = []
            for line in lines:
                action = QAction(line, self._menu)
                action.setEnabled(False)
                self._menu.insertAction(self._accounts_end, action)
                self._account_actions.append(action)
        for action, line, snapshot in zip(self._account_actions, lines, self._snapshots,
                                          strict=False):
            if action.text() != line:
                action.setText(line)
            icon = icon_for(account_state(snapshot), self._demo)
            if action.icon().cacheKey() != icon.cacheKey():
                action.setIcon(icon)

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
