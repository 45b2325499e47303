"""Lock me out now: one confirmation, then a hard lock until the next reset that nobody can undo.

A window, not a modal dialog (a nested Qt loop would stall enforcement). The app passes what
it will lock and until when; confirming calls ``on_confirm`` once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

TITLE = "Lock me out now"


class SelfLockWindow(QWidget):
    def __init__(self, on_confirm: Callable[[], None]) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle(f"{TITLE} — Risk Manager")
        self.setObjectName("self-lock")
        self._on_confirm = on_confirm
        self.heading = QLabel(f"<b>{TITLE}</b>")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.confirm_button = QPushButton("Lock me out")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setDefault(True)
        self.confirm_button.clicked.connect(self.confirm)
        self.cancel_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.confirm_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.text)
        layout.addLayout(buttons)
        self.setMinimumWidth(440)

    def prepare(self, accounts: Sequence[str], until: str) -> None:
        """``accounts``: the names it will lock; ``until``: "Thu 17:00 CST"."""
        if not accounts:
            self.text.setText("No account is connected yet: there is nothing to lock.")
            self.confirm_button.setEnabled(False)
            return
        self.confirm_button.setEnabled(True)
        self.confirm_button.setText(f"Lock me out until {until}")
        self.text.setText(
            f"Every position on {', '.join(accounts)} is closed now and every working order "
            f"cancelled. Any trade you open afterwards is closed at once.\n\n"
            f"The lock ends at the daily reset, {until}. Nobody can undo it before then: not "
            f"you, not the admin password, not a restart."
        )
        self.adjustSize()

    def confirm(self) -> None:
        if not self.confirm_button.isEnabled():
            return
        self.hide()
        self._on_confirm()
