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

import math
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedLayout,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.app.snapshot import AccountSnapshot, LimitUsage, LockView, PositionView
from core.domain.events import OrderStatus
from gui.icons import icon_for
from gui.pnl_chart import AMBER, GREEN, RED, WARN_AT, LimitBar, PnlChart, usage_colour
from gui.tray import APP_NAME, PROTECTED, account_line, signed_money, tray_state

GREY = "#808080"
_STATUS_TEXT = {
    PROTECTED: "Protected",
    "reconnecting": "Reconnecting…",
    "reconciling": "Reconciling…",
    "starting": "Starting…",
}
_LOCK_KIND = {
    "hard": ("Locked", RED),
    "cooldown": ("Cooldown", AMBER),
    "symbol": ("Symbol blocked", AMBER),
}
_OUTCOME_COLOUR = {"done": GREEN, "retry": AMBER, "failed": RED}
NO_PRICE = "no price yet"

Cell = tuple[str, str | None]  # text, foreground colour (None: the theme's)
Row = tuple[Hashable, list[Cell]]  # a stable key (keeps the selection on its row), cells


def format_countdown(seconds: float) -> str:
    """1:00:05, 0:04:10. Rounded up, like the tray: a lock never reads 0:00:00 while it holds."""
    total = max(0, math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def lock_remaining(lock: LockView, now: datetime) -> str:
    if lock.until is not None:
        return format_countdown((lock.until - now).total_seconds())
    if lock.kind == "symbol":
        return "until unblocked"
    return "until the gateway allows trading again"


def format_price(value: float | None) -> str:
    # Tick sizes run from 0.25 (index) to 0.00005 (currencies) and 1/32 (bonds): keep what is there.
    if value is None:
        return "—"
    text = f"{value:,.6f}".rstrip("0")
    decimals = len(text.split(".")[1])
    return text + "0" * max(0, 2 - decimals)


def pnl_colour(value: float | None) -> str | None:
    if value is None:
        return GREY
    if abs(value) < 0.005:
        return None
    return GREEN if value > 0 else RED


def _order_status(code: int) -> str:
    try:
        return OrderStatus(code).name.replace("_", " ").lower()
    except ValueError:
        return f"status {code}"  # a code new to us is shown as it came


def _position_row(p: PositionView) -> Row:
    size = p.signed_size
    side = f"{'Long' if size > 0 else 'Short'} {abs(size)}" if size else "Flat"
    cells: list[Cell] = [
        (p.name, None),
        (side, GREEN if size > 0 else RED if size < 0 else None),
        (format_price(p.average_price), None),
        (NO_PRICE if p.mark is None else format_price(p.mark), GREY if p.mark is None else None),
        (NO_PRICE if p.open_pnl is None else signed_money(p.open_pnl), pnl_colour(p.open_pnl)),
    ]
    return p.contract_id, cells


class DataTable(QTableWidget):
    """A read-only table updated in place; rows are keyed so the selection follows its row."""

    def __init__(
        self, headers: Sequence[str], numeric: set[int], parent: QWidget | None = None
    ) -> None:
        super().__init__(0, len(headers), parent)
        self._numeric = numeric
        self._keys: list[Hashable] = []
        self.setHorizontalHeaderLabels(list(headers))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(False)  # sorting would move items under the in-place updates
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    @property
    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return "" if item is None else item.text()

    def fill(self, rows: Sequence[Row]) -> None:
        current = self.currentRow()
        has_selection = 0 <= current < len(self._keys) and bool(self.selectedItems())
        selected = self._keys[current] if has_selection else None
        keys = [key for key, _ in rows]
        reshaped = keys != self._keys
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        for r, (_key, cells) in enumerate(rows):
            for c, (text, colour) in enumerate(cells):
                self._set_cell(r, c, text, colour)
        self._keys = keys
        if reshaped:
            if selected in keys:
                self.selectRow(keys.index(selected))
            elif selected is not None:
                self.clearSelection()  # its row is gone: select nothing rather than a neighbour
            self.resizeColumnsToContents()  # only when rows come or go: resizing is not free

    def set_text(self, row: int, column: int, text: str, colour: str | None = None) -> None:
        self._set_cell(row, column, text, colour)

    def _set_cell(self, row: int, column: int, text: str, colour: str | None) -> None:
        item = self.item(row, column)
        if item is None:
            item = QTableWidgetItem()
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if column in self._numeric:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, column, item)
        # Unchanged cells are left alone: every setText repaints and resets accessibility state.
        if item.text() != text:
            item.setText(text)
        wanted = QBrush(QColor(colour)) if colour else QBrush()
        if item.foreground() != wanted:
            item.setForeground(wanted)


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _set_label(label: QLabel, text: str, colour: str | None = None, bold: bool = False) -> None:
    if label.text() != text:
        label.setText(text)
    style = (f"color: {colour};" if colour else "") + (" font-weight: bold;" if bold else "")
    if label.styleSheet() != style:
        label.setStyleSheet(style)


class AccountPanel(QWidget):
    """One account's tab: ``show_snapshot`` draws a snapshot; ``tick`` moves the lock countdowns."""

    def __init__(self, zone: ZoneInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone
        self._shown: tuple[AccountSnapshot, bool] | None = None
        self._locks: tuple[LockView, ...] = ()
        self.limit_rows: dict[str, tuple[QLabel, LimitBar, QLabel]] = {}

        self.name_label, self.status_label, self.demo_label = QLabel(), QLabel(), QLabel("DEMO")
        self.demo_label.setStyleSheet(
            f"background: {AMBER}; color: black; padding: 1px 6px; font-weight: bold;"
        )
        self.demo_label.setToolTip("Simulated gateway: no real account or money")
        self.demo_label.hide()
        self.realized_label, self.open_label = QLabel(), QLabel()
        header = QHBoxLayout()
        for widget in (self.name_label, self.status_label, self.demo_label):
            header.addWidget(widget)
        header.addStretch(1)
        header.addWidget(self.realized_label)
        header.addSpacing(16)
        header.addWidget(self.open_label)

        self._limits_grid = QGridLayout()
        self.no_limits_label = QLabel("No limits enabled")
        limits_box = QGroupBox("Limits")
        limits_layout = QVBoxLayout(limits_box)
        limits_layout.addLayout(self._limits_grid)
        limits_layout.addWidget(self.no_limits_label)

        # Remaining before Reason: the countdown is what a locked trader looks for first.
        self.locks = DataTable(["Rule", "Lock", "Remaining", "Reason"], {2})
        self.locks.setMaximumHeight(150)  # a lock or two is the usual: leave the room to the chart
        self.no_locks_label = QLabel("No active locks: trading allowed")
        self.chart = PnlChart()
        self.positions = DataTable(
            ["Contract", "Position", "Avg price", "Mark", "Open P&L"], numeric={2, 3, 4}
        )
        self.orders = DataTable(
            ["Order", "Contract", "Side", "Type", "Size", "Price", "Status"], numeric={0, 4, 5}
        )
        self.enforcement = DataTable(["Time", "Rule", "Action", "Outcome", "Reason"], set())

        left = QVBoxLayout()
        left.addWidget(limits_box)
        left.addWidget(_group("Locks", self.no_locks_label, self.locks))
        # "&&": a single "&" in a group title is a keyboard mnemonic, not text.
        left.addWidget(_group("Realized P&&L today", self.chart), 1)
        right = QVBoxLayout()
        right.addWidget(_group("Open positions", self.positions), 2)
        right.addWidget(_group("Working orders", self.orders), 2)
        right.addWidget(_group("Recent enforcement", self.enforcement), 3)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(body, 1)

    @property
    def snapshot(self) -> AccountSnapshot | None:
        return None if self._shown is None else self._shown[0]

    def show_snapshot(self, snapshot: AccountSnapshot, demo: bool, now: datetime) -> None:
        if self._shown == (snapshot, demo):
            return  # nothing new (the same event re-published): skip the table walks
        self._shown = (snapshot, demo)
        name = f"{snapshot.name or snapshot.account_id}  ({snapshot.account_id})"
        _set_label(self.name_label, name, bold=True)
        status = _STATUS_TEXT.get(snapshot.status, snapshot.status.capitalize())
        colour = GREEN if snapshot.status == PROTECTED else AMBER
        _set_label(self.status_label, status, colour, bold=True)
        self.demo_label.setVisible(demo)
        _set_label(self.realized_label, f"Realized today: {signed_money(snapshot.realized)}",
                   pnl_colour(float(snapshot.realized)), bold=True)
        open_text = NO_PRICE if snapshot.open_pnl is None else signed_money(snapshot.open_pnl)
        _set_label(
            self.open_label, f"Open P&L: {open_text}", pnl_colour(snapshot.open_pnl), bold=True
        )
        self._render_limits(snapshot.limits)
        self._locks = snapshot.locks
        self.locks.fill([self._lock_row(lock, now) for lock in snapshot.locks])
        self.locks.setVisible(bool(snapshot.locks))
        self.no_locks_label.setVisible(not snapshot.locks)
        self.chart.set_series(snapshot.pnl_series, snapshot.taken_at)
        self.positions.fill([_position_row(p) for p in snapshot.positions])
        self.orders.fill([
            (o.order_id, [
                (str(o.order_id), None), (o.name, None),
                (o.side, GREEN if o.side == "buy" else RED if o.side == "sell" else None),
                (o.kind, None), (str(o.size), None), (format_price(o.price), None),
                (_order_status(o.status), None),
            ])
            for o in snapshot.orders
        ])
        # Newest first: the row a trader looks for is what just happened.
        entries = sorted(snapshot.enforcement, key=lambda e: e.at, reverse=True)
        self.enforcement.fill([
            ((e.at, e.rule_id, e.action, e.outcome), [
                (e.at.astimezone(self._zone).strftime("%H:%M:%S %Z"), None), (e.rule_id, None),
                (e.action, None), (e.outcome, _OUTCOME_COLOUR.get(e.outcome)), (e.reason, None),
            ])
            for e in entries
        ])

    def tick(self, now: datetime) -> None:
        for row, lock in enumerate(self._locks):
            self.locks.set_text(row, 2, lock_remaining(lock, now))

    def _lock_row(self, lock: LockView, now: datetime) -> Row:
        kind, colour = _LOCK_KIND.get(lock.kind, (lock.kind, AMBER))
        cells: list[Cell] = [
            (lock.rule_id, None), (kind, colour), (lock_remaining(lock, now), None),
            (lock.reason, None),
        ]
        return (lock.rule_id, lock.kind, lock.reason), cells

    def _render_limits(self, limits: Sequence[LimitUsage]) -> None:
        if [u.rule_id for u in limits] != list(self.limit_rows):
            # The enabled rules changed (a settings save): rebuild the few rows, rarely.
            for row_widgets in self.limit_rows.values():
                for old in row_widgets:
                    self._limits_grid.removeWidget(old)
                    old.deleteLater()
            self.limit_rows = {}
            for row, usage in enumerate(limits):
                widgets = (QLabel(), LimitBar(), QLabel())
                for column, new in enumerate(widgets):
                    self._limits_grid.addWidget(new, row, column)
                self.limit_rows[usage.rule_id] = widgets
            self._limits_grid.setColumnStretch(1, 1)
        for usage in limits:
            name, bar, text = self.limit_rows[usage.rule_id]
            _set_label(name, usage.label)
            name.setToolTip(usage.rule_id)
            bar.set_fraction(usage.fraction)
            bar.setToolTip(f"{usage.label}: {usage.text}")
            warn = usage.fraction >= WARN_AT
            _set_label(text, usage.text, usage_colour(usage.fraction) if warn else None)
        self.no_limits_label.setVisible(not limits)


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
