"""The quit gate: quitting ends protection, so it is never one click while something is at stake.

While any account is locked or holds a position, Quit asks first and names what stops being
protected. While an account is hard-locked it needs the admin password or, with none set, a
typed confirmation that opens only after a visible 30-second wait (the moment a trader wants to
quit a lock is rarely a calm one). Cancel always leaves everything as it was.

A window, not a modal dialog: a nested Qt loop would freeze the asyncio tasks that keep
enforcing while the question is on screen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from core.app.admin_password import AdminPassword

WAIT_SECONDS = 30
CONFIRM_WORDS = "stop protection"

PASSWORD, TYPED, CONFIRM = "password", "typed", "confirm"


class QuitGate(QWidget):
    """``on_granted`` runs once the trader has confirmed (or typed the password)."""

    def __init__(
        self,
        risks: Sequence[str],
        *,
        hard_locked: bool,
        admin: AdminPassword | None,
        on_granted: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
        wait_seconds: float = WAIT_SECONDS,
        tick_ms: int = 250,
    ) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle("Quit Risk Manager?")
        self.setObjectName("quit-gate")
        self._on_granted = on_granted
        self._admin = admin
        self._monotonic = monotonic
        self._opened = monotonic()
        self.wait_seconds = wait_seconds
        if hard_locked and admin is not None and admin.is_set():
            self.mode = PASSWORD
        elif hard_locked:
            self.mode = TYPED
        else:
            self.mode = CONFIRM

        heading = QLabel("<b>Quitting stops protection.</b>")
        self.risks_label = QLabel("\n".join(risks) or "Nothing is locked or open.")
        self.risks_label.setWordWrap(True)
        self.risks_label.setTextFormat(Qt.TextFormat.PlainText)
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.field = QLineEdit()
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828")
        self.error.setWordWrap(True)
        self.quit_button = QPushButton("Quit anyway")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setDefault(True)  # Enter keeps protection
        self.quit_button.clicked.connect(self.try_quit)
        self.cancel_button.clicked.connect(self.close)
        self.field.returnPressed.connect(self.try_quit)
        self.field.textChanged.connect(self._update)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        for widget in (heading, self.risks_label, self.prompt, self.field, self.error):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        if self.mode == PASSWORD:
            self.field.setEchoMode(QLineEdit.EchoMode.Password)
            self.prompt.setText("An account is hard-locked. Type the admin password to quit:")
        elif self.mode == TYPED:
            self.field.setPlaceholderText(CONFIRM_WORDS)
        else:
            self.field.hide()
            self.prompt.setText("Quit anyway?")
        self.setMinimumWidth(460)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._update)
        if self.mode == TYPED:
            self._timer.start()
        self._update()

    # --- state ----------------------------------------------------------------------------------

    def seconds_left(self) -> int:
        if self.mode != TYPED:
            return 0
        return max(0, math.ceil(self.wait_seconds - (self._monotonic() - self._opened)))

    def _update(self) -> None:
        if self.mode == TYPED:
            left = self.seconds_left()
            if left:
                self.prompt.setText(
                    f"An account is hard-locked and no admin password is set. Take a breath: "
                    f"you can confirm in {left} s.")
                self.field.setEnabled(False)
                self.quit_button.setEnabled(False)
                self.quit_button.setText(f"Quit anyway ({left} s)")
                return
            self._timer.stop()
            self.prompt.setText(f'To quit, type "{CONFIRM_WORDS}":')
            self.field.setEnabled(True)
            self.quit_button.setText("Quit anyway")
            self.quit_button.setEnabled(self.field.text().strip().lower() == CONFIRM_WORDS)
        elif self.mode == PASSWORD:
            self.quit_button.setEnabled(bool(self.field.text()))

    def try_quit(self) -> None:
        if self.mode == PASSWORD:
            if self._admin is None or not self._admin.verify(self.field.text()):
                self.error.setText("Wrong password.")
                self.field.clear()
                return
        elif self.mode == TYPED and (
            self.seconds_left() or self.field.text().strip().lower() != CONFIRM_WORDS
        ):
            return
        self._timer.stop()
        self.hide()
        self._on_granted()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self._timer.stop()
        self.field.clear()
        super().closeEvent(event)
