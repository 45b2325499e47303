"""The tray application: wires the running service to the tray, popups and windows.

It renders; it never decides. Snapshots are taken on the loop's thread (qasync makes it the
Qt thread) a few times a second and handed to the tray and the dashboard.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from core.app.admin_password import AdminPassword
from core.app.service import RiskService
from core.app.snapshot import AccountSnapshot, EnforcementView
from core.app.snapshot_builder import take_snapshot
from core.domain.commands import ACTIONS
from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementIssued
from gui.bridge import CoreBridge
from gui.dashboard import DashboardWindow
from gui.popups import Notifier
from gui.tray import TrayController

log = logging.getLogger(__name__)

RECENT_ENFORCEMENT = 50


class QuitGate(QWidget):
    """Asks for the admin password before quitting while an account is hard-locked.

    A window, not a modal dialog: a nested Qt loop would freeze the asyncio tasks that keep
    enforcing while the question is on screen.
    """

    def __init__(self, admin: AdminPassword, on_granted: Callable[[], None]) -> None:
        super().__init__()
        self.setWindowTitle("Quit Risk Manager")
        self._admin, self._on_granted = admin, on_granted
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("An account is locked. Quitting stops its protection.\nAdmin password:")
        )
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #c62828")
        button = QPushButton("Quit anyway", self)
        button.clicked.connect(self.try_quit)
        self.password.returnPressed.connect(self.try_quit)
        for widget in (self.password, self.error, button):
            layout.addWidget(widget)

    def try_quit(self) -> None:
        if self._admin.verify(self.password.text()):
            self.hide()
            self._on_granted()
        else:
            self.error.setText("Wrong password.")
            self.password.clear()


class TrayApp(QObject):
    def __init__(
        self,
        service: RiskService,
        *,
        demo: bool,
        quit_requested: asyncio.Event,
        admin: AdminPassword | None = None,
        open_settings: Callable[[], None] | None = None,
        snapshot_ms: int = 250,
    ) -> None:
        super().__init__()
        self.service = service
        self.demo = demo
        self._quit_requested = quit_requested
        self._admin = admin
        self._open_settings = open_settings
        zone = service.config.general.timezone
        self.bridge = CoreBridge(service.bus)
        self.tray = TrayController()
        self.notifier = Notifier(self.bridge, self.tray.tray, zone=zone)
        self.dashboard = DashboardWindow(zone=zone)
        self._recent: dict[int, deque[EnforcementView]] = {}
        self._quit_gate: QuitGate | None = None
        self._about: QLabel | None = None
        self.bridge.notice.connect(self._on_notice)
        self.tray.dashboardRequested.connect(self.dashboard.show_and_raise)
        self.tray.settingsRequested.connect(self._settings)
        self.tray.aboutRequested.connect(self._show_about)
        self.tray.quitRequested.connect(self.request_quit)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(snapshot_ms)
        self.tray.show()
        if not self.tray.available:
            # Some Linux desktops have no tray: the window is then the only face the app has.
            self.dashboard.show_and_raise()

    # --- rendering -----------------------------------------------------------------------------

    def snapshots(self) -> list[AccountSnapshot]:
        service = self.service
        if not hasattr(service, "engine"):
            return []
        return [
            take_snapshot(
                service.engine,
                account_id,
                status=status,
                name=service.names.get(account_id, ""),
                recent_enforcement=tuple(self._recent.get(account_id, ())),
            )
            for account_id, status in sorted(service.status.items())
        ]

    def refresh(self) -> None:
        try:
            snapshots = self.snapshots()
        except Exception:
            log.exception("snapshot failed")
            return
        self.tray.update(snapshots, self.demo)
        self.dashboard.set_snapshots(snapshots, self.demo)

    def _on_notice(self, notice: Any) -> None:
        if isinstance(notice, EnforcementIssued | EnforcementDone | EnforcementFailed):
            command = notice.command
            outcome = {EnforcementIssued: "issued", EnforcementDone: "done", EnforcementFailed: "failed"}[
                type(notice)
            ]
            view = EnforcementView(
                at=self.service.clock.now(),
                rule_id=command.rule_id,
                action=ACTIONS[type(command)],
                outcome=outcome,
                reason=command.reason,
            )
            self._recent.setdefault(command.account_id, deque(maxlen=RECENT_ENFORCEMENT)).append(view)

    # --- menu actions --------------------------------------------------------------------------

    def _settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings()

    def _show_about(self) -> None:
        if self._about is None:
            self._about = QLabel(
                "<b>Risk Manager</b><br>Enforces your own risk rules on TopstepX accounts.<br>"
                "Locks end only by their timer, the daily reset, or the gateway."
            )
            self._about.setWindowTitle("About Risk Manager")
            self._about.setMargin(16)
        self._about.show()
        self._about.raise_()

    def request_quit(self) -> None:
        locked = any(s.hard_locked for s in self.snapshots())
        if locked and self._admin is not None and self._admin.is_set():
            if self._quit_gate is None:
                self._quit_gate = QuitGate(self._admin, self._quit_requested.set)
            self._quit_gate.show()
            self._quit_gate.raise_()
            return
        self._quit_requested.set()

    def close(self) -> None:
        """Before the service stops: the hubs going down at shutdown must not pop up as a loss."""
        self._timer.stop()
        self.notifier.close()
        self.bridge.close()
        self.tray.close()
        for window in (self.dashboard, self._quit_gate, self._about):
            if window is not None:
                window.hide()
