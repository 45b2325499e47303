"""The Alerts page of the settings window: Discord, Telegram, ntfy and a JSON webhook.

What is safe in the config file (on/off, which events, a chat id, a server address) is edited
like every other setting and applies with OK or Apply. The secrets (webhook addresses, tokens,
the ntfy topic) never go in the file: each service's Save button puts them in the OS keyring at
once (or, on a computer without one and with the trader's consent, a file only they can read),
and Test sends a message now and says in plain words whether it arrived. Keyring calls run in a
daemon thread: a desktop unlock prompt never stalls the loop that enforces the rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.app.alerts import AlertDispatcher, SecretStore, TestResult
from core.app.alerts.secrets import (
    SECRET_FIELDS,
    _in_daemon_thread,
    check_secret,
    read_secrets,
    save_secret,
)
from core.app.alerts.services import TITLES
from core.app.secret_store import AppSecretStore
from core.config.alerts import ALL_EVENTS, SERVICES, AlertsConfig, ServiceAlerts
from core.config.models import AppConfig
from gui.model_page import editor_for
from gui.settings_fields import (
    ERROR_STYLE,
    HELP_STYLE,
    FieldEditor,
    boxed,
    button,
    set_text,
    text_label,
)

EVENT_WORDS = {
    "lock_set": "Locks and cooldowns",
    "lock_lifted": "Locks lifted",
    "enforcement_failing": "Enforcement failing (check your platform)",
    "enforcement_recovered": "Enforcement working again",
    "warning": "Warnings before a limit",
    "connection_lost": "Connection lost, and back",
    "day_summary": "End-of-day summary",
    "breach": "Every breach (noisy)",
}
OK_STYLE = "color: #2e7d32; font-weight: bold;"


class AlertsAccess:
    """What the page needs of the running alerts: the dispatcher's Test and the secret store."""

    def __init__(self, dispatcher: AlertDispatcher, store: SecretStore) -> None:
        self.dispatcher, self.store = dispatcher, store

    def where(self) -> str:
        if isinstance(self.store, AppSecretStore):
            return self.store.where()
        return "memory only, until the app stops (the demo never touches your keyring)"

    @property
    def needs_consent(self) -> bool:
        return isinstance(self.store, AppSecretStore) and not self.store.has_keyring

    def allow_file(self, allowed: bool) -> None:
        if isinstance(self.store, AppSecretStore):
            self.store.allow_file = allowed

    async def stored(self, service: str) -> dict[str, str]:
        return await read_secrets(self.store, service)

    async def save(self, service: str, values: Mapping[str, str]) -> None:
        """Store each value (an empty one removes that secret), then let the alerts read them."""
        def work() -> dict[str, str]:
            for key, value in values.items():
                save_secret(self.store, service, key, value)
            return {}

        await _in_daemon_thread(work)
        await self.dispatcher.reload_secrets()

    async def test(self, service: str, config: AlertsConfig, typed: Mapping[str, str]) -> TestResult:
        """Send a test with the page's settings; secrets typed and not saved yet take part."""
        secrets = None
        if typed:
            secrets = {**await self.stored(service), **typed}
        return await self.dispatcher.send_test(service, config=config, secrets=secrets)


class EventsEditor(FieldEditor):
    """Which events go to a service: one tick box per event, in the trader's words."""

    def __init__(self, key: str, title: str) -> None:
        self.boxes: dict[str, QCheckBox] = {}
        grid_owner = QWidget()
        grid = QGridLayout(grid_owner)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, event in enumerate(ALL_EVENTS):
            box = self.boxes[event] = QCheckBox(EVENT_WORDS.get(event, event))
            box.setObjectName(f"{key}.{event}")
            grid.addWidget(box, index // 2, index % 2)
        super().__init__(key, title, None, grid_owner)
        for box in self.boxes.values():
            box.toggled.connect(self.changed)

    def value(self) -> list[str]:
        return [event for event in ALL_EVENTS if self.boxes[event].isChecked()]

    def set_value(self, value: Any) -> None:
        chosen = set(value or [])
        for event, box in self.boxes.items():
            box.setChecked(event in chosen)


class ServiceBox(QGroupBox):
    """One service: its settings, its secrets with Save and Forget, and the Test button."""

    def __init__(self, service: str, page: AlertsPage) -> None:
        super().__init__(TITLES[service].removeprefix("The ").capitalize())
        self.service, self.page = service, page
        self.setObjectName(f"alerts:{service}")
        model: type[ServiceAlerts] = type(AlertsConfig().service(service))
        form = QFormLayout(self)
        self.editors: dict[str, FieldEditor] = {}
        for name, info in model.model_fields.items():
            key = f"alerts.{service}.{name}"
            editor = (EventsEditor(key, info.title or "Send") if name == "events"
                      else editor_for(key, name, info))
            self.editors[key] = editor
            form.addRow(QLabel(editor.title), editor.row)
        self.secret_edits: dict[str, QLineEdit] = {}
        for field in SECRET_FIELDS[service]:
            edit = QLineEdit()
            edit.setObjectName(f"secret:{field.name}")
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setToolTip(field.description)
            self.secret_edits[field.key] = edit
            help_label = text_label(field.description, HELP_STYLE)
            row = boxed(QVBoxLayout(), edit, help_label)
            row.setContentsMargins(0, 0, 0, 0)
            holder = QWidget()
            holder.setLayout(row)
            form.addRow(QLabel(field.title + ("" if field.required else " (optional)")), holder)
        self.save_button = button("Save secrets", lambda: page.run(self.save()))
        self.forget_button = button("Forget secrets", lambda: page.run(self.forget()))
        self.test_button = button("Test", lambda: page.run(self.test()))
        self.result_label = text_label("")
        self.result_label.setObjectName(f"result:{service}")
        form.addRow(boxed(QHBoxLayout(), self.save_button, self.forget_button, self.test_button, 1))
        form.addRow(self.result_label)

    def typed(self) -> dict[str, str]:
        """The secrets typed in, checked: ValueError names the first one that is wrong."""
        out: dict[str, str] = {}
        for field in SECRET_FIELDS[self.service]:
            text = self.secret_edits[field.key].text()
            if text.strip():
                try:
                    out[field.key] = check_secret(self.service, field.key, text)
                except ValueError as exc:
                    raise ValueError(f"{field.title}: {exc}") from None
        return out

    def say(self, text: str, ok: bool | None = None) -> None:
        style = "" if ok is None else OK_STYLE if ok else ERROR_STYLE
        self.result_label.setStyleSheet(style)
        set_text(self.result_label, text)

    async def show_stored(self) -> None:
        try:
            stored = await self.page.access.stored(self.service)
        except Exception as exc:
            self.say(f"The secrets cannot be read: {exc}", False)
            return
        for field in SECRET_FIELDS[self.service]:
            edit = self.secret_edits[field.key]
            edit.setPlaceholderText("stored: type to replace" if field.key in stored else "not set")

    async def save(self) -> None:
        try:
            typed = self.typed()
        except ValueError as exc:
            self.say(f"Not saved: {exc}.", False)
            return
        if not typed:
            self.say("Type a secret first: the fields left empty keep what is stored.", False)
            return
        try:
            await self.page.access.save(self.service, typed)
        except Exception as exc:
            self.say(f"Not saved: {exc}.", False)
            return
        for edit in self.secret_edits.values():
            edit.clear()
        self.say(f"Saved in {self.page.access.where()}.", True)
        await self.show_stored()

    async def forget(self) -> None:
        try:
            await self.page.access.save(self.service, {f.key: "" for f in SECRET_FIELDS[self.service]})
        except Exception as exc:
            self.say(f"Not removed: {exc}.", False)
            return
        self.say("Forgotten: this service has no secrets stored any more.", True)
        await self.show_stored()

    async def test(self) -> None:
        config = self.page.candidate()
        if config is None:
            self.say("Fix the problems shown first, then test.", False)
            return
        try:
            typed = self.typed()
        except ValueError as exc:
            self.say(f"Not sent: {exc}.", False)
            return
        self.say("Sending a test message…")
        try:
            result = await self.page.access.test(self.service, config.alerts, typed)
        except Exception as exc:  # the words must reach the trader, never a traceback
            self.say(f"Not sent: {type(exc).__name__}: {exc}", False)
            return
        self.say(result.message, result.ok)


class AlertsPage(QScrollArea):
    """The page: the settings every service shares, then one box per service."""

    def __init__(self, access: AlertsAccess | None,
                 candidate: Callable[[], AppConfig | None]) -> None:
        super().__init__()
        self.key, self.title = "alerts", "Alerts"
        self.setObjectName("page:alerts")
        self.setWidgetResizable(True)
        self.access_or_none, self.candidate = access, candidate
        self.attempt: asyncio.Task[None] | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(text_label("<b>Alerts</b>"))
        layout.addWidget(text_label(
            "Hear about a lock or a failing close away from the screen. Switches and events "
            "apply with OK or Apply; secrets are saved with each service's Save button and "
            "never written to the config file."))
        self.error_label = text_label("", ERROR_STYLE)
        layout.addWidget(self.error_label)
        self.editors: dict[str, FieldEditor] = {}
        common = QFormLayout()
        for name, info in AlertsConfig.model_fields.items():
            if name in SERVICES:
                continue
            editor = editor_for(f"alerts.{name}", name, info)
            self.editors[editor.key] = editor
            common.addRow(QLabel(editor.title), editor.row)
        layout.addLayout(common)
        self.where_label = text_label("")
        self.consent = QCheckBox("Keep alert secrets in a file only my user account can read "
                                 "(this computer has no keyring)")
        self.consent.toggled.connect(lambda on: access.allow_file(on) if access else None)
        layout.addWidget(self.where_label)
        layout.addWidget(self.consent)
        self.boxes: dict[str, ServiceBox] = {}
        for service in SERVICES:
            box = self.boxes[service] = ServiceBox(service, self)
            self.editors.update(box.editors)
            layout.addWidget(box)
            box.setEnabled(access is not None)
        layout.addStretch(1)
        self.setWidget(body)
        if access is None:
            set_text(self.where_label, "Alerts are not running in this window: the settings "
                     "above still apply when saved, but secrets cannot be stored or tested here.")
            self.consent.hide()
        else:
            set_text(self.where_label, f"Secrets are kept in {access.where()}.")
            self.consent.setVisible(access.needs_consent)

    @property
    def access(self) -> AlertsAccess:
        assert self.access_or_none is not None
        return self.access_or_none

    def show_error(self, text: str | None) -> None:
        set_text(self.error_label, text)

    def run(self, work: Any) -> None:
        """Start one of the boxes' coroutines on the running loop (one at a time per page)."""
        try:
            self.attempt = asyncio.ensure_future(work)
        except RuntimeError:  # no loop: nothing can be sent or stored from here
            work.close()

    def refresh(self) -> None:
        """Show which secrets are stored (read in a thread when the page is shown)."""
        if self.access_or_none is None:
            return

        async def all_services() -> None:
            for box in self.boxes.values():
                await box.show_stored()

        self.run(all_services())
