"""The no-tray stand-in window for messages, the levels they come at, and one message as shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.screens import screen_of

INFO, WARNING, CRITICAL = "info", "warning", "critical"
WIDTH = 400


@dataclass(frozen=True, slots=True)
class Shown:
    """One message as the trader saw it (tray balloon or fallback window)."""

    kind: str  # lock, unlock, cooldown, cooldown_end, symbol_lock, symbol_unlock, loss_warning,
    #            enforcement, enforcement_failed, enforcement_resolved, connection_lost,
    #            connection_restored, restored, limit_warning, day_summary
    title: str
    body: str
    level: str  # info, warning, critical
    channel: str  # tray, window
    at: float  # the notifier's monotonic clock
    account_id: int | None = None


class PopupWindow(QWidget):
    """The no-tray stand-in: newest messages on top, critical ones stay until dismissed.

    Always fits the screen: the messages scroll inside, the buttons stay visible at the bottom,
    and the window sits in the free area's corner (above a taskbar)."""

    MAX_ENTRIES = 12

    def __init__(self, parent: QWidget | None = None,
                 on_open_dashboard: Callable[[], None] | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle("Risk Manager")
        self.setObjectName("notices")
        # A trader may be typing an order: showing a notice must not steal the keyboard.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFixedWidth(WIDTH)
        self._entries: list[tuple[Shown, QFrame]] = []
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 0, 0)
        self._list_layout.addStretch(1)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._list)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.open_button = QPushButton("Open dashboard", self)
        self.open_button.setVisible(on_open_dashboard is not None)
        if on_open_dashboard is not None:
            self.open_button.clicked.connect(on_open_dashboard)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self._scroll, 1)
        layout.addLayout(buttons)
        self._auto_hide = QTimer(self)
        self._auto_hide.setSingleShot(True)
        self._auto_hide.timeout.connect(self._maybe_hide)

    def add(self, shown: Shown, msecs: int) -> None:
        frame = QFrame(self._list)
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
        self._list_layout.insertWidget(0, frame)
        self._entries.insert(0, (shown, frame))
        for _old, old_frame in self._entries[self.MAX_ENTRIES:]:
            old_frame.deleteLater()
        del self._entries[self.MAX_ENTRIES:]
        self._fit()
        self.show()
        self.raise_()
        self._scroll.verticalScrollBar().setValue(0)  # the newest, on top, in view
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

    def _fit(self) -> None:
        """As tall as the messages need, at most 60 % of the screen; then placed in its corner."""
        # Wrapped labels: their height depends on the width they get inside the scroll area.
        inner = WIDTH - 2 * self.layout().contentsMargins().left() - 24
        spacing = max(0, self._list_layout.spacing())
        content = sum(
            (frame.heightForWidth(inner) if frame.heightForWidth(inner) > 0
             else frame.sizeHint().height()) + spacing
            for _shown, frame in self._entries)
        chrome = self.dismiss_button.sizeHint().height() + 48
        screen = screen_of(self)
        limit = int(screen.availableGeometry().height() * 0.6) if screen is not None else 600
        self.setFixedHeight(max(140, min(content + chrome, limit)))
        if screen is None:
            return
        area = screen.availableGeometry()
        self.move(area.right() - self.width() - 16, area.bottom() - self.height() - 16)
