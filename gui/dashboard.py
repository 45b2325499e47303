"""The dashboard window: one tab per account with status, P&L, limits, locks, positions and orders.

It only renders the latest :class:`AccountSnapshot` values it is given. The app may call
:meth:`DashboardWindow.set_snapshots` on every event, so that call only stores the snapshots;
a single-shot timer renders the newest ones at most ``1000 / render_ms`` times a second, and
only while the window is visible (a hidden dashboard costs the event loop nothing). Tables are
updated cell by cell so a selected row and the scroll position survive updates. Lock countdowns
are recomputed every second from each lock's ``until`` and the injected clock, never from the
snapshot's ``remaining_seconds``, which is stale as soon as the snapshot is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QStackedLayout, QTabWidget, QWidget

from core.app.snapshot import AccountSnapshot
from gui.account_panel import AccountPanel
from gui.icons import icon_for
from gui.tray import APP_NAME, account_line, tray_state


class DashboardWindow(QWidget):
    """The main window; closing it only hides it (the app lives on in the tray)."""

    rendered = Signal()  # after each coalesced render

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        zone: str | ZoneInfo = "America/Chicago",
        render_ms: int = 100,
        tick_ms: int = 1000,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle(APP_NAME)
        self.resize(1100, 720)
        self._now = now or (lambda: datetime.now(UTC))
        self._zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._pending: tuple[list[AccountSnapshot], bool] | None = None
        self._panels: dict[int, AccountPanel] = {}
        self._tab_states: dict[int, tuple[str, bool]] = {}
        self.render_count = 0

        self.waiting_label = QLabel("Waiting for accounts…\nThey appear here once connected.")
        self.waiting_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tabs = QTabWidget()
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.waiting_label)
        self._stack.addWidget(self.tabs)

        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(render_ms)
        self._render_timer.timeout.connect(self.flush)
        self.tick_timer = QTimer(self)
        self.tick_timer.setInterval(tick_ms)
        self.tick_timer.timeout.connect(self.tick)

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

    # --- rendering ----------------------------------------------------------------------------

    def _render(self, snapshots: list[AccountSnapshot], demo: bool) -> None:
        now = self._now()
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
            state = (tray_state([snapshot]).value, demo)
            if self._tab_states.get(snapshot.account_id) != state:
                self._tab_states[snapshot.account_id] = state
                self.tabs.setTabIcon(index, icon_for(*state))
            self.tabs.setTabToolTip(index, account_line(snapshot, now))
        self._stack.setCurrentWidget(self.tabs if snapshots else self.waiting_label)

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
        # Ignored + hidden rather than accepted: an accepted close of the last window would quit
        # an app left with quitOnLastWindowClosed on. A hidden window does not block app.quit().
        event.ignore()
        self.hide()


def render_to_png(widget: QWidget, path: str | Path) -> Path:
    """Save what ``widget`` shows (pending dashboard snapshots drawn first) as a PNG."""
    if isinstance(widget, DashboardWindow):
        widget.flush()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not widget.grab().save(str(target), "PNG"):
        raise OSError(f"could not write {target}")
    return target
