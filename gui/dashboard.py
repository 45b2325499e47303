"""The dashboard window: the worst true state on top, then one tab per account with its state,
limits, locks, P&L, positions, orders and enforcement.

It only renders the latest :class:`AccountSnapshot` values it is given. The app may call
:meth:`DashboardWindow.set_snapshots` on every event, so that call only stores the snapshots;
a single-shot timer renders the newest ones at most ``1000 / render_ms`` times a second, and
only while the window is visible (a hidden dashboard costs the event loop nothing). Tables are
updated cell by cell so a selected row and the scroll position survive updates. Lock countdowns
are recomputed every second from each lock's ``until`` and the injected clock, never from the
snapshot's ``remaining_seconds``, which is stale as soon as the snapshot is taken.

The toolbar carries everything the tray menu does (Settings, History, Lock me out now,
What if…, About, Quit): on a desktop without a tray this window is the app's only face, so
closing it then minimises it instead of making the running app invisible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QSystemTrayIcon,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from core.app.protection import account_state, overall_headline, overall_state
from core.app.snapshot import AccountSnapshot
from gui.account_panel import AccountPanel
from gui.icons import icon_for
from gui.rows import banner_style
from gui.screens import screen_of
from gui.tray import APP_NAME, account_line

DEFAULT_SIZE = QSize(1180, 760)
MINIMUM_SIZE = QSize(560, 380)


class DashboardWindow(QMainWindow):
    """The main window; closing it hides it while a tray holds the app, minimises it otherwise."""

    rendered = Signal()  # after each coalesced render
    settingsRequested = Signal()
    lockOutRequested = Signal()
    historyRequested = Signal()
    whatIfRequested = Signal()
    aboutRequested = Signal()
    quitRequested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        zone: str | ZoneInfo = "America/Chicago",
        render_ms: int = 100,
        tick_ms: int = 1000,
        tray_available: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("dashboard")
        self._now = now or (lambda: datetime.now(UTC))
        self._zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._tray_available = tray_available or QSystemTrayIcon.isSystemTrayAvailable
        self._pending: tuple[list[AccountSnapshot], bool] | None = None
        self._snapshots: list[AccountSnapshot] = []
        self._panels: dict[int, AccountPanel] = {}
        self._tab_states: dict[int, tuple[str, bool]] = {}
        self.render_count = 0

        toolbar = QToolBar("Risk Manager", self)
        toolbar.setObjectName("actions")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.actions_bar = toolbar
        self.settings_action = self._action(toolbar, "Settings", self.settingsRequested.emit)
        self.history_action = self._action(toolbar, "History", self.historyRequested.emit)
        self.lock_out_action = self._action(toolbar, "Lock me out now…", self.lockOutRequested.emit)
        self.lock_out_action.setToolTip(
            "Close everything and lock every account until the next daily reset. Nobody can "
            "undo it.")
        self.what_if_action = self._action(toolbar, "What if…", self.whatIfRequested.emit)
        self.what_if_action.setToolTip(
            "Replay your past trading through your rules: what would they have done?")
        self.about_action = self._action(toolbar, "About", self.aboutRequested.emit)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        self.quit_action = self._action(toolbar, "Quit", self.quitRequested.emit)

        self.state_label = QLabel("Connecting: not protected yet")
        self.state_label.setObjectName("overall-state")
        self.state_label.setWordWrap(True)
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.waiting_label = QLabel("Connecting to the gateway…\nAccounts appear here once "
                                    "connected; until then nothing is protected.")
        self.waiting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs = QTabWidget()
        self._stack = QStackedWidget()
        self._stack.addWidget(self.waiting_label)
        self._stack.addWidget(self.tabs)
        # Scrolls rather than cuts off on a small screen (or at 150 % scaling).
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self._stack)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.state_label)
        layout.addWidget(scroll, 1)
        self.setCentralWidget(central)
        self._render_state([])
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(self.fitting_size())

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(render_ms)
        self._render_timer.timeout.connect(self.flush)
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.timeout.connect(self.tick)

    def _action(self, toolbar: QToolBar, text: str, emit: Callable[[], None]) -> QAction:
        action = toolbar.addAction(text)
        action.triggered.connect(lambda _checked=False: emit())
        return action

    def fitting_size(self) -> QSize:
        """The default size, shrunk to 92 % of the screen's free area (150 % scaling on a
        1080p screen leaves about 1280 × 690 logical pixels)."""
        screen = screen_of(self)
        if screen is None:
            return DEFAULT_SIZE
        area = screen.availableGeometry()
        return QSize(min(DEFAULT_SIZE.width(), int(area.width() * 0.92)),
                     min(DEFAULT_SIZE.height(), int(area.height() * 0.92)))

    # --- input --------------------------------------------------------------------------------

    def set_snapshots(self, snapshots: Sequence[AccountSnapshot], demo: bool = False) -> None:
        """Cheap by design: keep the newest snapshots; the render timer draws them."""
        self._pending = (list(snapshots), demo)
        if self.isVisible() and not self._render_timer.isActive():
            self._render_timer.start()

    def flush(self) -> None:
        """Render pending snapshots now (the render timer, a show, or a screenshot)."""
        self._render_timer.stop()
        if self._pending is None:
            return
        snapshots, demo = self._pending
        self._pending = None
        self._render(snapshots, demo)
        self.render_count += 1
        self.rendered.emit()

    def tick(self) -> None:
        now = self._now()
        for panel in self._panels.values():
            panel.tick(now)
        self._render_state(self._snapshots)

    def show_and_raise(self) -> None:
        if self.isMinimized():
            self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    # --- what tests and the screenshot script read ------------------------------------------

    def panel(self, account_id: int) -> AccountPanel:
        return self._panels[account_id]

    @property
    def account_ids(self) -> list[int]:
        return list(self._panels)

    @property
    def state_text(self) -> str:
        return self.state_label.text()

    # --- rendering ----------------------------------------------------------------------------

    def _render_state(self, snapshots: Sequence[AccountSnapshot]) -> None:
        text = overall_headline(snapshots, self._now(), self._zone)
        if self.state_label.text() != text:
            self.state_label.setText(text)
        style = banner_style(overall_state(snapshots)) + " font-size: 15px;"
        if self.state_label.styleSheet() != style:
            self.state_label.setStyleSheet(style)

    def _render(self, snapshots: list[AccountSnapshot], demo: bool) -> None:
        now = self._now()
        self._snapshots = snapshots
        wanted = {s.account_id for s in snapshots}
        for account_id in [a for a in self._panels if a not in wanted]:
            gone = self._panels.pop(account_id)
            self._tab_states.pop(account_id, None)
            self.tabs.removeTab(self.tabs.indexOf(gone))
            gone.deleteLater()
        for snapshot in snapshots:
            panel = self._panels.get(snapshot.account_id)
            if panel is None:
                panel = self._panels[snapshot.account_id] = AccountPanel(self._zone)
                self.tabs.addTab(panel, "")
            panel.show_snapshot(snapshot, demo, now)
            index = self.tabs.indexOf(panel)
            title = (snapshot.name or str(snapshot.account_id)).replace("&", "&&")  # not a mnemonic
            if self.tabs.tabText(index) != title:
                self.tabs.setTabText(index, title)
            state = (account_state(snapshot).value, demo)
            if self._tab_states.get(snapshot.account_id) != state:
                self._tab_states[snapshot.account_id] = state
                self.tabs.setTabIcon(index, icon_for(*state))
            self.tabs.setTabToolTip(index, account_line(snapshot, now, self._zone))
        self._stack.setCurrentWidget(self.tabs if snapshots else self.waiting_label)
        self._render_state(snapshots)
        title = APP_NAME + (" (DEMO)" if demo else "")
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    # --- window events ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # Hidden, nothing was drawn: draw the newest state before the first frame shows.
        self.flush()
        self.tick()
        self.tick_timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        self.tick_timer.stop()
        self._render_timer.stop()  # what is pending stays pending until the next show
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        # Ignored rather than accepted: an accepted close of the last window would quit an
        # app left with quitOnLastWindowClosed on, and Quit must go through the quit gate.
        event.ignore()
        if self._tray_available():
            self.hide()  # the tray icon brings it back
        else:
            # No tray: a hidden window would leave the running app with no face at all.
            self.showMinimized()


def render_to_png(widget: QWidget, path: str | Path) -> Path:
    """Save what ``widget`` shows (pending dashboard snapshots drawn first) as a PNG."""
    if isinstance(widget, DashboardWindow):
        widget.flush()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(target), "PNG"):
        raise OSError(f"could not write {target}")
    return target
