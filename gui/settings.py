"""The settings window: every rule, General, Gateway, the Topstep account and Alerts, rendered
from the pydantic models, with an account picker on top of the shared rules
(:mod:`gui.settings_scope`).

Each edit validates the whole candidate config, so a mistake is shown next to the field it names
and OK stays off until it is fixed. Applying hands the config to :class:`ConfigManager`, which
decides what tightens (in force at once) and what loosens an active rule (waits for the next
reset, and needs the admin password when one is set); the window says which is which
(:mod:`gui.settings_applying`).

Non-modal throughout: the password is asked for in a field on the window, never in a dialog, since
a nested event loop would stall the qasync loop that enforces the rules (libraries.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.app.autostart import Backend
from core.app.config_manager import ConfigManager
from core.app.words import table_name
from core.config.models import AppConfig, GatewayConfig, GeneralConfig
from core.config.rules import RulesConfig
from gui.admin_password_page import ADMIN_PAGE, AdminPasswordPage, password_field
from gui.autostart_setting import AutostartSetting
from gui.model_page import ModelPage
from gui.settings_alerts import AlertsAccess, AlertsPage
from gui.settings_applying import SettingsApplying
from gui.settings_fields import (
    ERROR_STYLE,
    EditorError,
    FieldEditor,
    boxed,
    button,
    set_text,
)
from gui.settings_fields import text_label as label
from gui.settings_keys import KeyWords, doc, put, reason
from gui.settings_scope import AccountScope
from gui.settings_topstep import TopstepPage

WARNING_MARK = "⚠ "
GREY_TEXT = "#8a8f98"


class SettingsWindow(SettingsApplying, QWidget):
    """Non-modal settings. ``applied(config in force)`` after each accepted proposal."""

    applied = Signal(object)
    closed = Signal()

    def __init__(self, manager: ConfigManager, parent: QWidget | None = None,
                 autostart: Backend | None = None, *,
                 accounts: Callable[[], Mapping[int, str]] | None = None,
                 alerts: AlertsAccess | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.setWindowTitle("Risk Manager — Settings")
        self.pages: dict[str, Any] = {}  # ModelPage-like: key, title, editors, show_error
        self.scope = AccountScope(accounts)
        self.scope.picked.connect(self._scope_picked)
        self.editors: dict[str, FieldEditor] = {}
        self.keys = KeyWords(self.editors, self.pages, self.scope)
        self.candidate: AppConfig | None = None
        self.problems: dict[str, str] = {}  # owner key (editor, page or "") → message
        self._shown: AppConfig = manager.editable()
        self._loading = self._close_when_done = False

        self.page_list, self.stack = QListWidget(), QStackedWidget()
        self.page_list.setMaximumWidth(260)
        self.page_list.currentRowChanged.connect(self.stack.setCurrentIndex)
        self._add_page(ModelPage("general", "General", GeneralConfig, doc(GeneralConfig)))
        # Not a config key: applies at once (gui/autostart_setting.py). Above the page's stretch.
        self.autostart = AutostartSetting(
            autostart, zone=lambda: ZoneInfo(manager.config.general.timezone))
        general_body = self.pages["general"].widget().layout()
        assert isinstance(general_body, QVBoxLayout)
        general_body.insertWidget(general_body.count() - 1, self.autostart)
        self._add_page(ModelPage("gateway", "Gateway", GatewayConfig, doc(GatewayConfig)))
        for table, info in RulesConfig.model_fields.items():
            model = info.annotation
            assert isinstance(model, type) and issubclass(model, BaseModel)
            self._add_page(ModelPage(f"rules.{table}", table_name(table), model, doc(model)))
        self.topstep_page = TopstepPage(accounts)
        self._add_page(self.topstep_page)
        self.alerts_page = AlertsPage(alerts, self.validate)
        self._add_page(self.alerts_page)
        self.admin_page = AdminPasswordPage(
            manager.admin, lambda: ZoneInfo(manager.config.general.timezone))
        self.page_list.addItem(self.admin_page.title)
        self.stack.addWidget(self.admin_page)
        self.page_list.setCurrentRow(0)

        self.pending_label, self.result_label = label(), label()
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem_label = label("", ERROR_STYLE)
        self.discard_button = button("Discard waiting changes", self.discard_pending)
        # The password prompt lives on the window: a modal dialog would nest an event loop.
        self.password_row = QWidget()
        self.password_prompt, self.password_error = label(), label("", ERROR_STYLE)
        self.password_edit = password_field("admin password")
        self.password_edit.returnPressed.connect(self.confirm_password)
        self.password_button = button("Confirm", self.confirm_password)
        row = boxed(QVBoxLayout(self.password_row), self.password_prompt,
                   boxed(QHBoxLayout(), self.password_edit, self.password_button),
                   self.password_error)
        row.setContentsMargins(0, 0, 0, 0)
        self.password_row.hide()

        self.ok_button = button("OK", self.accept)
        self.apply_button = button("Apply", self.apply)
        self.cancel_button = button("Cancel", self.close)
        self.ok_button.setDefault(True)
        body = boxed(QHBoxLayout(), self.page_list)
        body.addWidget(self.stack, 1)
        self.scope_note = label(self.scope.note(), "color: palette(placeholder-text);")
        picker = boxed(QHBoxLayout(), QLabel("Settings for:"), self.scope.combo, self.scope_note)
        picker.setStretch(2, 1)
        pending = boxed(QHBoxLayout(), self.discard_button)
        pending.insertWidget(0, self.pending_label, 1)
        layout = boxed(QVBoxLayout(self), self.problem_label, self.result_label,
                      self.password_row, pending,
                      boxed(QHBoxLayout(), 1, self.ok_button, self.apply_button,
                           self.cancel_button))
        layout.insertLayout(0, body, 1)
        layout.insertLayout(0, picker)
        self.resize(860, 600)
        self.load(self._shown)

    # --- pages and editors --------------------------------------------------------------------

    def _add_page(self, page: Any) -> None:
        self.pages[page.key] = page
        self.editors.update(page.editors)
        for editor in page.editors.values():
            self.keys.page_of[editor.key] = page
            editor.changed.connect(lambda key=editor.key: self._edited(key))
            self.scope.attach(editor, self.use_shared)
        self.page_list.addItem(page.title)
        self.stack.addWidget(page)

    def show_page(self, key: str) -> None:
        keys = [*self.pages, ADMIN_PAGE]
        self.page_list.setCurrentRow(keys.index(key))

    def load(self, config: AppConfig) -> None:
        """Fill every editor from ``config`` (the config in force, or what waits for the reset)."""
        self._shown = config
        self._base = config.model_dump(mode="json")
        self.scope.refresh(self._base.get("accounts", {}))
        self._load_editors()

    def _load_editors(self) -> None:
        """The working copy into the editors, as the account picker says (shared or one's own)."""
        self.scope.load(self._base)
        self._loading = True  # one validation at the end, not one per editor
        try:
            for key, editor in self.editors.items():
                handled, node = self.scope.value(self._base, key)
                if not handled:
                    node = self._base
                    for part in key.split("."):
                        node = node.get(part) if isinstance(node, dict) else None
                editor.set_value(node)
        finally:
            self._loading = False
        self.scope.show_markers(self._base)
        self.topstep_page.set_account(self.scope.account_id)
        set_text(self.scope_note, self.scope.note())
        self._show_pending()
        self.validate()

    def _scope_picked(self) -> None:
        """Another account picked: keep what was edited in the working copy, then show it."""
        self._base = self._collect()[0]
        self._load_editors()

    def _edited(self, key: str) -> None:
        if self._loading:
            return
        if self.scope.account_id is not None and key.startswith("rules."):
            self.scope.overridden.add(key)  # edited for this account: its own value now
            self.scope.show_markers(self._base)
        self._on_edit()

    def use_shared(self, key: str) -> None:
        """The picked account follows the shared value of ``key`` again."""
        self.scope.overridden.discard(key)
        _, table, name = key.split(".")
        self._loading = True
        try:
            self.editors[key].set_value(self._base.get("rules", {}).get(table, {}).get(name))
        finally:
            self._loading = False
        self.scope.show_markers(self._base)
        self._on_edit()

    def _on_edit(self) -> None:
        if self._loading:
            return
        self._close_when_done = False
        if not self.password_row.isHidden():
            # The password was asked for another candidate: the trader applies again.
            self._hide_password()
        set_text(self.result_label, None)
        self.validate()

    # --- validation ---------------------------------------------------------------------------

    def validate(self) -> AppConfig | None:
        """Check the whole candidate; show each problem beside the field it names."""
        data, problems = self._collect()
        candidate: AppConfig | None = None
        try:
            candidate = AppConfig.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                owner, text = self.keys.describe(tuple(err["loc"]), reason(err))
                problems.setdefault(owner, text)
        self.candidate = None if problems else candidate
        self.problems = problems
        for key, editor in self.editors.items():
            editor.show_error(problems.get(key))
        for index, (key, page) in enumerate(self.pages.items()):
            page.show_error(problems.get(key))
            bad = any(owner == key or owner.startswith(key + ".") for owner in problems)
            item = self.page_list.item(index)
            item.setText(f"{WARNING_MARK if bad else ''}{page.title}{self._switch_text(key)}")
            self._grey_if_off(item, key)
        first = next(iter(problems.values()), "")
        count = f"{len(problems)} problems" if len(problems) > 1 else "A problem"
        set_text(self.problem_label, first and f"{count} to fix before applying. {first}")
        self.ok_button.setEnabled(self.candidate is not None)
        # Values the config file asked for wait for the password: applying them as they are
        # is how they are confirmed.
        unconfirmed = self.manager.pending_needs_password
        self.apply_button.setEnabled(self.candidate is not None
                                     and (self.candidate != self._shown or unconfirmed))
        return self.candidate

    def _collect(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The working copy with every editor's value put where the picker says."""
        problems: dict[str, str] = {}
        data = copy.deepcopy(self._base)
        for key, editor in self.editors.items():
            try:
                value = editor.value()
            except EditorError as exc:  # keep the shown value there, so other checks still run
                problems[key] = f"{editor.title}: {exc}"
                continue
            if not self.scope.put(data, key, value):
                put(data, key, value)
        self.scope.finish(data)
        return data, problems

    def _switch_text(self, key: str) -> str:
        """A rule page's on/off state, as the list shows it: "Daily loss limit — on"."""
        editor = self.editors.get(f"{key}.enabled")
        if editor is None:
            return ""
        own = " · own" if key.startswith("rules.") and key[6:] in self.scope.own_tables() else ""
        return f"  —  {'on' if editor.value() else 'off'}{own}"

    def _grey_if_off(self, item: QListWidgetItem, key: str) -> None:
        editor = self.editors.get(f"{key}.enabled")
        off = editor is not None and not editor.value()
        item.setForeground(QBrush(QColor(GREY_TEXT)) if off else QBrush())

    def label_for(self, key: str) -> str:
        return self.keys.label_for(key)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        # The app reuses one window: closing discarded the edits, and a waiting change may have
        # come into force since. Reopening shows the current state (not on un-minimising).
        if not event.spontaneous():
            set_text(self.result_label, None)
            self.admin_page.refresh()
            self.autostart.refresh()
            self.alerts_page.refresh()
            self.load(self.manager.editable())
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        self._hide_password()
        self._close_when_done = False
        super().closeEvent(event)
        self.closed.emit()
