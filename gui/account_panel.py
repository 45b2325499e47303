"""One account's dashboard tab: header, limits, locks, P&L chart, positions, orders, enforcement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from core.app.snapshot import AccountSnapshot, LimitUsage, LockView, PositionView
from core.domain.events import OrderStatus
from gui.pnl_chart import AMBER, GREEN, RED, WARN_AT, LimitBar, PnlChart, usage_colour
from gui.tables import (
    GREY,
    Cell,
    DataTable,
    Row,
    format_price,
    lock_remaining,
    pnl_colour,
)
from gui.tray import PROTECTED, signed_money

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
