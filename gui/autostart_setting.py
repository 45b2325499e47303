"""The "Start with the computer" checkbox on the settings window's General page.

It is not part of the config: it applies the moment it is ticked (no OK/Apply, no admin
password), and the state shown is read back from the platform entry itself (core.app.autostart).
Switching it off loosens protection (protection that does not start with the computer is none),
so through the app's guard (:class:`core.app.autostart.GuardedAutostart`) the entry stays until
the next daily reset: the box shows the choice, and a line under it says the entry is still on
and until when. Ticking it again keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from core.app import autostart
from core.app.autostart import Backend
from core.app.words import local_time
from gui.settings_fields import ERROR_STYLE, HELP_STYLE, boxed, set_text, text_label

CHECKBOX_TEXT = "Start with the computer"
HELP_TEXT = ("Starts Risk Manager in the tray when you log in, so protection does not depend on "
             "remembering to open it. Turning it on applies at once; turning it off waits for "
             "the next daily reset, like any loosening.")
OFF_PENDING_STYLE = "color: #b26a00;"


class AutostartSetting(QWidget):
    def __init__(self, backend: Backend | None = None,
                 command: Callable[[], list[str]] = autostart.launch_command, *,
                 zone: Callable[[], ZoneInfo] = lambda: ZoneInfo("America/Chicago")) -> None:
        super().__init__()
        self.setObjectName("autostart")
        self.backend = backend if backend is not None else autostart.backend()
        self.command = command
        self._zone = zone
        self.checkbox = QCheckBox(CHECKBOX_TEXT)
        self.checkbox.setObjectName("autostart-checkbox")
        self.help_label = text_label(HELP_TEXT, HELP_STYLE)
        self.pending_label = text_label("", OFF_PENDING_STYLE, "autostart-off-pending")
        self.error_label = text_label("", ERROR_STYLE, "autostart-error")
        layout = boxed(QVBoxLayout(self), self.checkbox, self.help_label, self.pending_label,
                       self.error_label)
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
        off_at = self.off_pending_at() if enabled else None
        self.checkbox.blockSignals(True)
        # The trader's choice; the line below says the entry itself stays until the reset.
        self.checkbox.setChecked(enabled and off_at is None)
        self.checkbox.blockSignals(False)
        set_text(self.pending_label, None if off_at is None else (
            "Switched off, but it still starts with the computer until the next reset "
            f"({local_time(off_at, self._zone(), with_day=True)}): switching it off loosens "
            "protection. Tick it again to keep it."))

    def off_pending_at(self) -> datetime | None:
        """When a switch-off waiting for the reset takes effect (the app's guard only)."""
        at = getattr(self.backend, "off_pending_at", None)
        return at if isinstance(at, datetime) else None

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
        self.refresh()  # read back: a switch-off that waits for the reset leaves the entry on
