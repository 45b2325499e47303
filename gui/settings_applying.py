"""The settings window's applying half: OK, Apply, the admin password and what waits.

Applying proposes the validated candidate to :class:`ConfigManager` and says, change by change,
what is in force now ("tightens: in force now") and what loosens an active rule and waits for
the next reset ("loosens an active rule: it applies at the next reset, Wed 17:00 CDT"). When a
loosening needs the admin password, the window asks for it in its own row, never in a modal
dialog (a nested event loop would stall the loop that enforces the rules); a wrong password
changes nothing. Changes waiting for the reset, or for the password when the config file asked
for them, are listed with a button that discards them. :class:`gui.settings.SettingsWindow`
builds the widgets and validates; this mixin holds what it does with a valid candidate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from core.app.config_manager import ConfigManager, ProposalResult, ProposalStatus
from core.config.changes import Change, classify
from core.config.models import AppConfig
from gui.admin_password_page import AdminPasswordPage
from gui.settings_fields import set_text
from gui.settings_fields import show_value as show


class SettingsApplying:
    """Mixed into :class:`gui.settings.SettingsWindow`, which provides these."""

    manager: ConfigManager
    applied: SignalInstance
    candidate: AppConfig | None
    _shown: AppConfig
    _close_when_done: bool
    admin_page: AdminPasswordPage
    result_label: QLabel
    pending_label: QLabel
    discard_button: QPushButton
    password_row: QWidget
    password_prompt: QLabel
    password_error: QLabel
    password_edit: QLineEdit

    if TYPE_CHECKING:  # only declared: at run time these are the window's (and QWidget's)
        def validate(self) -> AppConfig | None: ...
        def load(self, config: AppConfig) -> None: ...
        def label_for(self, key: str) -> str: ...
        def close(self) -> bool: ...

    # --- applying -----------------------------------------------------------------------------

    def accept(self) -> None:
        """OK: apply, then close once the change is accepted (after the password, if asked)."""
        if self.validate() is None:
            return
        if self.candidate == self._shown and not self.manager.pending_needs_password:
            self.close()
            return
        self._close_when_done = True
        if self.apply():
            self.close()

    def apply(self) -> bool:
        """Propose the candidate. True when the manager accepted it (now or at the reset)."""
        candidate = self.validate()
        if candidate is None:
            return False
        return self._propose(candidate, None)

    def confirm_password(self) -> None:
        password = self.password_edit.text()
        self.password_edit.clear()  # never kept: retyped for each attempt
        candidate = self.validate()
        if candidate is None or not password:
            set_text(self.password_error, "Type the admin password.")
            return
        if self._propose(candidate, password) and self._close_when_done:
            self.close()

    def _propose(self, candidate: AppConfig, password: str | None) -> bool:
        try:
            result = self.manager.propose(candidate, password)
        except (OSError, ValueError) as exc:  # the file could not be written: nothing is in force
            set_text(self.result_label, f"Could not save the settings: {exc}")
            return False
        status = result.status
        if status is ProposalStatus.PASSWORD_REQUIRED:
            self._ask_password(result)
            return False
        if status is ProposalStatus.WRONG_PASSWORD:
            set_text(self.password_error, "Wrong admin password: nothing was changed.")
            self.password_row.show()
            return False
        self._hide_password()
        self.load(self.manager.editable())
        set_text(self.result_label, self._report(result))
        self.admin_page.refresh()
        self.applied.emit(self.manager.config)
        return True

    def _ask_password(self, result: ProposalResult) -> None:
        lines = [self._line(c, result) for c in result.waiting]
        set_text(self.password_prompt,
                 "These changes loosen an active rule and need the admin password:\n"
                 + "\n".join(lines))
        set_text(self.password_error, None)
        self.password_row.show()
        self.password_edit.setFocus()

    def _hide_password(self) -> None:
        self.password_edit.clear()
        set_text(self.password_error, None)
        self.password_row.hide()

    def when(self, result: ProposalResult | None = None) -> str:
        """The reset, in the trading-day clock's zone: "Wed 17:00 CDT"."""
        at = result.applies_at if result else self.manager.pending_applies_at
        if at is None:
            return "the next reset"
        local = at.astimezone(ZoneInfo(self.manager.config.general.timezone))
        return f"{local:%a %H:%M} {local.tzname() or ''}".strip()

    def _line(self, change: Change, result: ProposalResult | None) -> str:
        head = f"{self.label_for(change.key)} {show(change.old)} → {show(change.new)}"
        if change.waits:
            return (f"{head} loosens an active rule: it applies at the next reset, "
                    f"{self.when(result)}")
        verb = "tightens" if change.direction == "tightens" else "changes"
        return f"{head} {verb}: in force now"

    def _report(self, result: ProposalResult) -> str:
        if result.status is ProposalStatus.NO_CHANGE:
            return result.message[:1].upper() + result.message[1:] + "."
        lines = [self._line(c, result) for c in (*result.applied, *result.waiting)]
        return "\n".join(lines) or result.message

    # --- waiting changes ----------------------------------------------------------------------

    def _show_pending(self) -> None:
        pending = self.manager.pending
        self.discard_button.setVisible(pending is not None)
        if pending is None:
            return set_text(self.pending_label, None)
        waiting = [c for c in classify(self.manager.config, pending) if c.waits]
        lines = [f"{self.label_for(c.key)} {show(c.old)} → {show(c.new)}" for c in waiting]
        if self.manager.pending_needs_password:
            # A file edit carries no password: these wait for it before any reset.
            set_text(self.pending_label, "Asked for in the config file, and waiting for the "
                     "admin password (an edited file carries none): type it below to let them "
                     "apply at the next reset, or discard them. Shown here as they would be:\n"
                     + "\n".join(lines))
            set_text(self.password_prompt, "Confirm the loosened values above with the admin "
                     "password:")
            self.password_row.show()
            return None
        set_text(self.pending_label, f"Waiting for the next reset ({self.when()}); shown here "
                 "as they will be:\n" + "\n".join(lines))

    def discard_pending(self) -> None:
        """Keep the stricter config in force (no password needed: it loosens nothing)."""
        self.manager.cancel_pending()
        self._hide_password()
        self.load(self.manager.editable())
        set_text(self.result_label, "The waiting changes were discarded.")
