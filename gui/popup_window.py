"""The no-tray stand-in window for messages, the levels they come at, and one message as shown."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

INFO, WARNING, CRITICAL = "info", "warning", "critical"


@dataclass(frozen=True, slots=True)
class Shown:
    """One message as the trader saw it (tray balloon or fallback window)."""

    kind: str  # lock, unlock, cooldown, cooldown_end, symbol_lock, symbol_unlock, loss_warning,
    #            enforcement_failed, enforcement_resolved, connection_lost, connection_restored
    title: str
    body: str
    level: str  # info, warning, critical
    channel: str  # tray, window
    at: float  # the notifier's monotonic clock
    account_id: int | None = None


class PopupWindow(QWidget):
    """The no-tray stand-in: newest messages on top, critical ones stay until dismissed."""

    MAX_ENTRIES = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Risk Manager")
        # A trader may be typing an order: showing a notice must not steal the keyboard.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setMinimumWidth(340)
        self._layout = QVBoxLayout(self)
        self._entries: list[tuple[Shown, QFrame]] = []
        dismiss = QPushButton("Dismiss", self)
        dismiss.clicked.connect(self.dismiss)
        self._layout.addWidget(dismiss, alignment=Qt.AlignmentFlag.AlignRight)
        self._auto_hide = QTimer(self)
        self._auto_hide.setSingleShot(True)
        self._auto_hide.timeout.connect(self._maybe_hide)

    def add(self, shown: Shown, msecs: int) -> None:
        frame = QFrame(self)
        frame.setObjectName(shown.level)
        colour = {CRITICAL: "#d3302f", WARNING: "#f0a020"}.get(shown.level, "#2e9d4a")
        frame.setStyleSheet(f"QFrame#{shown.level} {{ border-left: 4px solid {colour}; }}")
        box = QVBoxLayout(frame)
        for text, bold in ((shown.title, True), (shown.body, False)):
            label = QLabel(text, frame)
            label.setTextFormat(Qt.TextFormat.PlainText)  # gateway errors may contain "<"
            label.setWordWrap(True)
            font = label.font()
            font.setBold(bold)
            label.setFont(font)
            box.addWidget(label)
        self._layout.insertWidget(0, frame)
        self._entries.insert(0, (shown, frame))
        for _old, old_frame in self._entries[self.MAX_ENTRIES:]:
            old_frame.deleteLater()
        del self._entries[self.MAX_ENTRIES:]
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._auto_hide.start(msecs)

    def messages(self) -> list[Shown]:
        return [shown for shown, _ in self._entries]

    def dismiss(self) -> None:
        for _shown, frame in self._entries:
            frame.deleteLater()
        self._entries.clear()
        self.hide()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        # Closed by hand means "seen": do not bring these back with the next message.
        self.dismiss()
        super().closeEvent(event)

    def _maybe_hide(self) -> None:
        if not any(shown.level == CRITICAL for shown in self.messages()):
            self.dismiss()

    def _place(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        self.move(area.right() - self.width() - 16, area.bottom() - self.height() - 16)
