"""The first-run setup window: TopstepX username and API key, checked by a real login first.

The key goes to the OS keyring (never the config file) and the username into the config, and only
after the gateway accepted them: a typo found now is better than a tray app that cannot connect.

The login check is a coroutine scheduled on the running asyncio loop (qasync's, in the app), so the
window stays responsive and no nested Qt event loop is ever started (libraries.md). Everything
with a side effect is injected: tests pass fakes, never the real keyring or network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.app.config_manager import ConfigManager, ProposalStatus
from core.app.credentials import store_api_key
from core.config.io import DEFAULT_CONFIG_RESOURCE, load_config, save_config
from core.config.models import AppConfig
from gui.settings_fields import ERROR_STYLE

log = logging.getLogger(__name__)

LoginTester = Callable[[str, str], Awaitable[None]]  # (username, api_key); raises when refused
KeyStore = Callable[[str, str], None]  # (username, api_key)
UsernameSaver = Callable[[str], None]

MASK = "••••"


def _with_username(config: AppConfig, username: str) -> AppConfig:
    data = config.model_dump(mode="json")
    data["gateway"]["username"] = username
    return AppConfig.model_validate(data)


def username_saver(path: Path) -> UsernameSaver:
    """Writes the username into the config file at ``path`` (atomically), starting from the
    shipped default when there is no file yet. Use before a ConfigManager owns that file."""

    def save(username: str) -> None:
        config = load_config(path if path.exists() else DEFAULT_CONFIG_RESOURCE)
        save_config(_with_username(config, username), path)

    return save


def manager_username_saver(manager: ConfigManager) -> UsernameSaver:
    """The same through a running ConfigManager, so its config in force stays the file's. A
    username changes no protection: it applies at once and keeps any change waiting for the reset."""

    def save(username: str) -> None:
        result = manager.propose(_with_username(manager.editable(), username))
        if result.status not in (ProposalStatus.APPLIED, ProposalStatus.NO_CHANGE,
                                 ProposalStatus.DEFERRED):
            raise ValueError(result.message)

    return save


class FirstRunWindow(QWidget):
    """Non-modal. ``completed(username)`` once the login worked and both were saved; the app then
    closes this window and starts. ``closed`` whenever the window closes."""

    completed = Signal(str)
    closed = Signal()

    def __init__(self, test_login: LoginTester, save_username: UsernameSaver, *,
                 store_key: KeyStore = store_api_key, username: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._test_login, self._save_username, self._store_key = test_login, save_username, store_key
        self._task: asyncio.Task[None] | None = None
        self.setWindowTitle("Risk Manager — Setup")
        intro = QLabel(
            "Enter your TopstepX username and API key (TopstepX: Settings → API). The key is "
            "kept in this computer's keychain, never in the config file.")
        intro.setWordWrap(True)
        self.username_edit = QLineEdit(username)
        self.username_edit.setPlaceholderText("trader@example.com")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QCheckBox("Show")
        self.show_key.toggled.connect(self._toggle_key)
        self.test_button = QPushButton("Test login")
        self.test_button.setDefault(True)
        self.test_button.clicked.connect(self.start_test)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        for field in (self.username_edit, self.key_edit):
            field.textChanged.connect(self._on_edit)
            field.returnPressed.connect(self.start_test)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key)
        form = QFormLayout()
        form.addRow("Username", self.username_edit)
        form.addRow("API key", key_row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.test_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        self.resize(480, 220)
        self._on_edit()

    @property
    def attempt(self) -> asyncio.Task[None] | None:
        """The login check in progress or last run (the app and tests may await it)."""
        return self._task

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _fields(self) -> tuple[str, str]:
        return self.username_edit.text().strip(), self.key_edit.text().strip()

    def _on_edit(self) -> None:
        self.test_button.setEnabled(all(self._fields()) and not self.busy)

    def _toggle_key(self, shown: bool) -> None:
        self.key_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def start_test(self) -> None:
        username, key = self._fields()
        if self.busy or not (username and key):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # only when someone runs this window without qasync
            self._show(error="Cannot test the login: the app's event loop is not running.")
            return
        self._set_busy(True)
        self._show(status="Testing the login…")
        self._task = loop.create_task(self._run(username, key))

    async def _run(self, username: str, key: str) -> None:
        try:
            await self._test_login(username, key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure (refused, offline, timeout) is shown, never raised
            self._set_busy(False)
            self._show(error=f"Login failed: {self._redact(exc, key)}")
            return
        self._set_busy(False)
        try:
            self._store_key(username, key)
        except Exception as exc:  # keyring backends raise many kinds; say what happened
            log.warning("storing the API key failed: %s", type(exc).__name__)
            self._show(error=f"The login works, but the API key could not be saved: "
                             f"{self._redact(exc, key)}")
            return
        try:
            self._save_username(username)
        except (OSError, ValueError) as exc:  # ConfigError is a ValueError
            self._show(error=f"The key is saved, but the config file could not be written: {exc}")
            return
        self._show(status=f"Login works. The key is saved for {username}.")
        self.completed.emit(username)

    @staticmethod
    def _redact(exc: BaseException, key: str) -> str:
        # An error from a library could echo the request: the key must never be on screen.
        text = str(exc) or type(exc).__name__
        return text.replace(key, MASK) if key else text

    def _set_busy(self, busy: bool) -> None:
        self.username_edit.setEnabled(not busy)
        self.key_edit.setEnabled(not busy)
        self.test_button.setText("Testing…" if busy else "Test login")
        self.test_button.setEnabled(not busy and all(self._fields()))

    def _show(self, *, status: str = "", error: str = "") -> None:
        self.status_label.setText(status)
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the widgets it would update are going away
        super().closeEvent(event)
        self.closed.emit()
