"""The first-run setup window: username and API key checked by a real login, where the key is
kept, then the limits that will apply, shown to confirm or change. Setup always finishes.

Order matters: the username is saved first (a key saved without it would be found by nobody);
a key from ``PROJECTX_API_KEY`` is used as it is and stored nowhere; otherwise the key goes to
the OS keyring, and on a desktop with no keyring the trader is offered, and must accept, a key
file only their user account can read (the window says where, and what that means). Declining
still finishes setup: the key is used for this session only.

The login check is a coroutine scheduled on the running asyncio loop (qasync's, in the app), so
the window stays responsive and no nested Qt event loop is ever started (libraries.md).
Everything with a side effect is injected: tests pass fakes, never the real keyring or network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.app.config_manager import ConfigManager, ProposalStatus
from core.app.credentials import (
    ENV_API_KEY,
    Credentials,
    default_key_file,
    keyring_available,
    login_problem,
    store_api_key,
    store_api_key_file,
)
from core.config.io import DEFAULT_CONFIG_RESOURCE, load_config, save_config
from core.config.models import AppConfig
from gui.first_limits import FirstLimits, LimitsPage, with_limits
from gui.settings_fields import ERROR_STYLE

log = logging.getLogger(__name__)

LoginTester = Callable[[str, str], Awaitable[None]]  # (username, api_key); raises when refused
KeyStore = Callable[[str, str], None]  # (username, api_key)
KeyFileStore = Callable[[str, str, Path], Path]  # (username, api_key, file) → the file written
UsernameSaver = Callable[[str], None]
LimitsSaver = Callable[[FirstLimits], None]

MASK = "••••"
LOGIN, KEY_FILE, LIMITS = 0, 1, 2


def _with_username(config: AppConfig, username: str) -> AppConfig:
    data = config.model_dump(mode="json")
    data["gateway"]["username"] = username
    return AppConfig.model_validate(data)


def _current(path: Path) -> AppConfig:
    return load_config(path if path.exists() else DEFAULT_CONFIG_RESOURCE)


def username_saver(path: Path) -> UsernameSaver:
    """Writes the username into the config file at ``path`` (atomically), starting from the
    shipped default when there is no file yet. Use before a ConfigManager owns that file."""

    def save(username: str) -> None:
        save_config(_with_username(_current(path), username), path)

    return save


def limits_saver(path: Path) -> LimitsSaver:
    """Writes the limits confirmed at setup into the config file at ``path``."""

    def save(limits: FirstLimits) -> None:
        save_config(with_limits(_current(path), limits), path)

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


def _label(text: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(style)
    return label


class FirstRunWindow(QWidget):
    """Non-modal. ``completed(Credentials)`` once setup is done (login checked, username saved,
    key kept where the trader chose, limits confirmed); the app then closes this window and
    starts. ``closed`` whenever the window closes."""

    completed = Signal(object)
    closed = Signal()

    def __init__(self, test_login: LoginTester, save_username: UsernameSaver, *,
                 store_key: KeyStore = store_api_key,
                 store_key_file: KeyFileStore = store_api_key_file,
                 key_file: Path | None = None,
                 keyring_ok: Callable[[], bool] = keyring_available,
                 env_key: str = "",
                 limits: FirstLimits | None = None,
                 save_limits: LimitsSaver | None = None,
                 username: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._test_login, self._save_username = test_login, save_username
        self._store_key, self._store_key_file = store_key, store_key_file
        self._key_file = key_file or default_key_file()
        self._keyring_ok = keyring_ok
        self._env_key = env_key.strip()
        self._save_limits = save_limits
        self._task: asyncio.Task[None] | None = None
        self._credentials: Credentials | None = None
        self.setWindowTitle("Risk Manager — Setup")
        self.setObjectName("setup")
        self.setMinimumWidth(560)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._login_page(username))
        self.pages.addWidget(self._key_file_page())
        self.limits_page = LimitsPage(limits or FirstLimits(), self.finish)
        self.pages.addWidget(self.limits_page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self._on_edit()

    # --- page 1: the login ------------------------------------------------------------------

    def _login_page(self, username: str) -> QWidget:
        page = QWidget()
        where = ("kept in this computer's keyring" if self._keyring_ok() else
                 "kept where you choose next (this computer has no keyring)")
        intro = _label(
            "Enter your TopstepX username and API key (TopstepX: Settings → API). The login is "
            f"tested first; the key is {where}, never in the config file.")
        self.username_edit = QLineEdit(username)
        self.username_edit.setPlaceholderText("trader@example.com")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_key = QCheckBox("Show")
        self.show_key.toggled.connect(self._toggle_key)
        self.env_label = _label(f"Using the API key from {ENV_API_KEY}: it is not stored.")
        self.env_label.setVisible(bool(self._env_key))
        if self._env_key:
            self.key_edit.setText(MASK * 3)
            self.key_edit.setEnabled(False)
            self.show_key.hide()
        self.test_button = QPushButton("Test login")
        self.test_button.setDefault(True)
        self.test_button.clicked.connect(self.start_test)
        self.status_label = _label()
        self.error_label = _label(style=ERROR_STYLE)
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
        layout = QVBoxLayout(page)
        for item in (intro, form, self.env_label, self.status_label, self.error_label, buttons):
            if isinstance(item, QWidget):
                layout.addWidget(item)
            else:
                layout.addLayout(item)
        layout.addStretch(1)
        return page

    @property
    def attempt(self) -> asyncio.Task[None] | None:
        """The login check in progress or last run (the app and tests may await it)."""
        return self._task

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _fields(self) -> tuple[str, str]:
        key = self._env_key or self.key_edit.text().strip()
        return self.username_edit.text().strip(), key

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
            self._show(error=f"Login failed: {self._redact(login_problem(exc), key)}")
            return
        self._set_busy(False)
        try:
            # First: the key's place in the keyring is found by this username.
            self._save_username(username)
        except (OSError, ValueError) as exc:  # ConfigError is a ValueError
            self._show(error=f"The login works, but the config file could not be written: {exc}")
            return
        self._credentials = Credentials(username, key)
        if self._env_key:
            self._show(status=f"Login works. The key comes from {ENV_API_KEY}.")
            self.pages.setCurrentIndex(LIMITS)
            return
        try:
            if not self._keyring_ok():
                raise RuntimeError("no keyring on this computer")
            self._store_key(username, key)
        except Exception as exc:  # keyring backends raise many kinds: offer the key file
            log.warning("the keyring cannot keep the API key: %s", type(exc).__name__)
            self.pages.setCurrentIndex(KEY_FILE)
            self.adjustSize()
            return
        self._show(status=f"Login works. The key is saved in the keyring for {username}.")
        self.pages.setCurrentIndex(LIMITS)
        self.adjustSize()

    # --- page 2: no keyring, so maybe a key file --------------------------------------------

    def _key_file_page(self) -> QWidget:
        page = QWidget()
        heading = _label("The login works. This computer has no keyring to keep the API key in.")
        heading.setStyleSheet("font-weight: bold;")
        self.key_file_text = _label(
            "Risk Manager can keep the key in a file that only your user account can read:\n"
            f"{self._key_file}\n\n"
            "Anyone who can log in as you, or read your backups, can read that file too. "
            f"Alternatively set {ENV_API_KEY} before starting Risk Manager, or don't save the "
            "key: protection starts now, and the next start asks for it again.")
        self.key_file_error = _label(style=ERROR_STYLE)
        self.key_file_error.hide()
        self.save_file_button = QPushButton("Save the key in this file")
        self.save_file_button.clicked.connect(self.save_key_file)
        self.skip_file_button = QPushButton("Don't save it")
        self.skip_file_button.clicked.connect(self.skip_key_file)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.skip_file_button)
        buttons.addWidget(self.save_file_button)
        layout = QVBoxLayout(page)
        for widget in (heading, self.key_file_text, self.key_file_error):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return page

    def save_key_file(self) -> None:
        assert self._credentials is not None
        try:
            path = self._store_key_file(self._credentials.username, self._credentials.api_key,
                                        self._key_file)
        except Exception as exc:
            self.key_file_error.setText(f"Could not write the key file: {exc}")
            self.key_file_error.show()
            return
        self._show(status=f"The key is saved in {path} (readable only by you).")
        self.pages.setCurrentIndex(LIMITS)

    def skip_key_file(self) -> None:
        self._show(status="The key is used for this session only.")
        self.pages.setCurrentIndex(LIMITS)

    # --- page 3: the limits that will apply -------------------------------------------------

    def finish(self, limits: FirstLimits) -> None:
        assert self._credentials is not None
        if self._save_limits is not None:
            try:
                self._save_limits(limits)
            except (OSError, ValueError) as exc:
                self.limits_page.show_error(f"Could not save the limits: {exc}")
                return
        self.completed.emit(self._credentials)

    # --- shared -------------------------------------------------------------------------------

    @staticmethod
    def _redact(text: str, key: str) -> str:
        # An error from a library could echo the request: the key must never be on screen.
        return text.replace(key, MASK) if key else text

    def _set_busy(self, busy: bool) -> None:
        self.username_edit.setEnabled(not busy)
        self.key_edit.setEnabled(not busy and not self._env_key)
        self.test_button.setText("Testing…" if busy else "Test login")
        self.test_button.setEnabled(not busy and all(self._fields()))

    def _show(self, *, status: str = "", error: str = "") -> None:
        self.status_label.setText(status)
        self.status_label.setVisible(bool(status))
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        self.adjustSize()  # a long message grows the window instead of being cut off

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the widgets it would update are going away
        super().closeEvent(event)
        self.closed.emit()
