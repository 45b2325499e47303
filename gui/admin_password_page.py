"""The settings window's admin password page: set, change or remove the password.

Removing the password loosens protection, so it waits for the next daily reset like any
loosening (the password is kept with the config in force): until then it is still asked for,
and the page says when it goes. Setting a new one before the reset withdraws the removal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from core.app.admin_password import AdminPassword, AdminPasswordError, WrongPasswordError
from core.app.words import local_time
from gui.settings_fields import ERROR_STYLE, boxed, button, set_text
from gui.settings_fields import text_label as label

ADMIN_PAGE = "admin"


def password_field(placeholder: str = "") -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    return field


class AdminPasswordPage(QWidget):
    """Set, change or remove the password that guards loosening. Changing or removing it needs
    the current one (AdminPassword enforces that; this page only collects the fields)."""

    def __init__(self, admin: AdminPassword,
                 zone: Callable[[], ZoneInfo] = lambda: ZoneInfo("America/Chicago")) -> None:
        super().__init__()
        self.admin, self.key, self.title = admin, ADMIN_PAGE, "Admin password"
        self._zone = zone  # the trading day's: the reset the removal waits for is said in it
        self.setObjectName(f"page:{ADMIN_PAGE}")
        self.state_label = label()
        self.current_edit, self.new_edit, self.repeat_edit = (password_field() for _ in range(3))
        self.set_button = button("Set password", self.set_password)
        self.remove_button = button("Remove password", self.remove_password)
        self.error_label, self.done_label = label("", ERROR_STYLE), label()
        form = QFormLayout()
        form.addRow("Current password", self.current_edit)
        form.addRow("New password", self.new_edit)
        form.addRow("Repeat new password", self.repeat_edit)
        boxed(QVBoxLayout(self), label(f"<b>{self.title}</b>"), self.state_label, form,
             boxed(QHBoxLayout(), self.set_button, self.remove_button, 1),
             self.error_label, self.done_label, 1)
        self.refresh()

    def refresh(self) -> None:
        is_set = self.admin.is_set()
        removal = self.admin.removal_pending_at
        if removal is not None:
            text = (f"The admin password is removed at the next reset ({self._when(removal)}); "
                    "until then it is still asked for. Setting a new password keeps one.")
        elif is_set:
            text = "An admin password is set: loosening an active rule asks for it."
        else:
            text = ("No admin password is set: anyone at this computer can loosen the rules "
                    "(the loosening still waits for the next reset).")
        set_text(self.state_label, text)
        self.current_edit.setEnabled(is_set)
        self.remove_button.setEnabled(is_set)
        self.set_button.setText("Change password" if is_set else "Set password")

    def set_password(self) -> None:
        new, repeat = self.new_edit.text(), self.repeat_edit.text()
        if not new or new != repeat:
            text = "Type the new password." if not new else "The two new passwords differ."
            return self._finish(text, ok=False)
        self._run(lambda: self.admin.set(new, self.current_edit.text() or None), "Password saved.")

    def remove_password(self) -> None:
        def removed(at: datetime | None) -> str:
            if at is None:
                return "Password removed."
            return (f"Password removed at the next reset ({self._when(at)}): until then it is "
                    "still asked for.")

        self._run(lambda: self.admin.clear(self.current_edit.text()), removed)

    def _when(self, at: datetime) -> str:
        return local_time(at, self._zone(), with_day=True)

    def _run(self, action: Callable[[], datetime | None],
             success: str | Callable[[datetime | None], str]) -> None:
        try:
            result = action()
        except WrongPasswordError:
            return self._finish("The current password is not correct: nothing changed.", ok=False)
        except (AdminPasswordError, OSError) as exc:  # a damaged file names itself
            return self._finish(str(exc), ok=False)
        self._finish(success if isinstance(success, str) else success(result), ok=True)

    def _finish(self, text: str, *, ok: bool) -> None:
        for field in (self.current_edit, self.new_edit, self.repeat_edit):
            field.clear()  # a password must not sit in a widget longer than needed
        set_text(self.error_label, None if ok else text)
        set_text(self.done_label, text if ok else None)
        self.refresh()
