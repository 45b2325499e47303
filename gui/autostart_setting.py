"""The "Start with the computer" checkbox on the settings window's General page.

It is not part of the config: starting at login is a fact about this computer's session, not a
risk rule, so it applies the moment it is ticked (no OK/Apply, no admin password, no waiting for
the reset) and the state shown is read back from the platform entry itself (core.app.autostart).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from core.app import autostart
from core.app.autostart import Backend
from gui.settings_fields import ERROR_STYLE, HELP_STYLE, boxed, set_text, text_label

CHECKBOX_TEXT = "Start with the computer"
HELP_TEXT = ("Starts Risk Manager in the tray when you log in, so protection does not depend on "
             "remembering to open it. Applies at once; it is not a risk rule.")


class AutostartSetting(QWidget):
    def __init__(self, backend: Backend | None = None,
                 command: Callable[[], list[str]] = autostart.launch_command) -> None:
        super().__init__()
        self.setObjectName("autostart")
        self.backend = backend if backend is not None else autostart.backend()
        self.command = command
        self.checkbox = QCheckBox(CHECKBOX_TEXT)
        self.checkbox.setObjectName("autostart-checkbox")
        self.help_label = text_label(HELP_TEXT, HELP_STYLE)
        self.error_label = text_label("", ERROR_STYLE, "autostart-error")
        layout = boxed(QVBoxLayout(self), self.checkbox, self.help_label, self.error_label)
        layout.setContentsMargins(0, 8, 0, 0)
        self.refresh()
        # toggled, not clicked: keyboard and programmatic changes apply the same way.
        self.checkbox.toggled.connect(self._apply)

    def refresh(self) -> None:
        """Show the entry as it is now (the installer, or the user elsewhere, may change it)."""
        try:
            enabled = self.backend.is_enabled()
        except OSError as exc:
            set_text(self.error_label, f"Cannot read the login entry: {exc}")
            enabled = False
        else:
            set_text(self.error_label, None)
        self.checkbox.blockSignals(True)
        self.checkbox.setChecked(enabled)
        self.checkbox.blockSignals(False)

    def _apply(self, checked: bool) -> None:
        try:
            if checked:
                self.backend.enable(self.command())
            else:
                self.backend.disable()
        except OSError as exc:
            # Leave the box showing what is really there, and say why it did not change.
            self.refresh()
            verb = "turn on" if checked else "turn off"
            set_text(self.error_label, f"Could not {verb} starting with the computer: {exc}")
            return
        set_text(self.error_label, None)
