"""One account's dashboard tab: its true state, limits, locks, P&L chart, positions, orders and
enforcement, in the trader's words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.app.protection import account_state, headline, since_lock_text
from core.app.snapshot import AccountSnapshot, LadderView, LimitUsage, LockView
from core.app.words import rule_name
from gui.pnl_chart import AMBER, LimitBar, PnlChart, level_colour
from gui.rows import (
    ENFORCEMENT_HEADERS,
    NO_PRICE,
    banner_style,
    enforcement_row,
    lock_row,
    order_row,
    position_row,
)
from gui.tables import GREY, DataTable, pnl_colour
from gui.topstep_panel import TopstepPanel
from gui.tray import signed_money


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


def _set_label(label: QLabel, text: str, colour: str | None = None, bold: bool = False,
               style: str | None = None) -> None:
    if label.text() != text:
        label.setText(text)
    if style is None:
        style = (f"color: {colour};" if colour else "") + (" font-weight: bold;" if bold else "")
    if label.styleSheet() != style:
        label.setStyleSheet(style)
    label.setVisible(bool(text))


def _wrapping(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)  # reasons and gateway errors may hold "<"
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class AccountPanel(QWidget):
    """One account's tab: ``show_snapshot`` draws a snapshot; ``tick`` moves the lock countdowns."""

    def __init__(self, zone: ZoneInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone
        self._shown: tuple[AccountSnapshot, bool] | None = None
        self._locks: tuple[LockView, ...] = ()
        self.limit_rows: dict[str, tuple[QLabel, LimitBar, QLabel, QLabel]] = {}

        self.name_label, self.demo_label = QLabel(), QLabel("DEMO")
        self.demo_label.setStyleSheet(
            f"background: {AMBER}; color: black; padding: 1px 6px; font-weight: bold;"
        )
        self.demo_label.setToolTip("Simulated gateway: no real account or money")
        self.demo_label.hide()
        self.realized_label, self.open_label = QLabel(), QLabel()
        top = QHBoxLayout()
        for widget in (self.name_label, self.demo_label):
            top.addWidget(widget)
        top.addStretch(1)
        top.addWidget(self.realized_label)
        top.addSpacing(16)
        top.addWidget(self.open_label)
        # The account's state in one line, worst first: what the trader reads first.
        self.status_label = _wrapping()
        self.status_label.setObjectName("account-state")
        self.failing_label = _wrapping()  # the gateway's answer, under a failing banner
        self.since_lock_label = _wrapping()
        self.waiting_label = _wrapping()
        self.waiting_label.setStyleSheet(f"color: {AMBER};")

        self._limits_grid = QGridLayout()
        self.no_limits_label = QLabel("No limit enabled: nothing is enforced on this account.")
        limits_box = QGroupBox("Limits")
        limits_layout = QVBoxLayout(limits_box)
        limits_layout.addLayout(self._limits_grid)
        limits_layout.addWidget(self.no_limits_label)
        # The warning ladder's step per money limit: normal, warned, restricted.
        self.ladder_label = _wrapping()
        self.ladder_label.setObjectName("ladder")
        limits_layout.addWidget(self.ladder_label)
        # The Topstep account guard: the distance to the MLL is the tab's largest number.
        self.topstep = TopstepPanel(zone)
        self.topstep.hide()

        # Remaining before Reason: the countdown is what a locked trader looks for first.
        self.locks = DataTable(["Rule", "Lock", "Remaining", "Until", "Reason"], {2})
        self.locks.fit_to_rows(4)
        self.no_locks_label = QLabel("No active locks: trading allowed")
        self.chart = PnlChart(zone)
        self.positions = DataTable(
            ["Contract", "Position", "Avg price", "Mark", "Open P&L"], numeric={2, 3, 4}
        )
        self.positions.fit_to_rows(6)
        self.no_positions_label = QLabel("Flat: no open positions")
        self.orders = DataTable(
            ["Order", "Contract", "Side", "Type", "Size", "Price", "Status"], numeric={0, 4, 5}
        )
        self.orders.fit_to_rows(6)
        self.no_orders_label = QLabel("No working orders")
        self.enforcement = DataTable(ENFORCEMENT_HEADERS, numeric={3, 4, 6})
        self.enforcement.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.no_enforcement_label = QLabel("Nothing enforced since the app started. Earlier "
                                           "days are in History.")
        self.no_enforcement_label.setWordWrap(True)
        self.no_enforcement_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

        left = QVBoxLayout()
        left.addWidget(limits_box)
        # "&&": a single "&" in a group title is a keyboard mnemonic, not text.
        left.addWidget(_group("Realized P&&L today", self.chart), 1)
        right = QVBoxLayout()
        # On the wider side: a lock's reason is what a locked trader reads, in full.
        right.addWidget(_group("Locks", self.no_locks_label, self.locks))
        right.addWidget(_group("Open positions", self.no_positions_label, self.positions))
        right.addWidget(_group("Working orders", self.no_orders_label, self.orders))
        right.addWidget(_group("Enforcement (newest first)", self.no_enforcement_label,
                               self.enforcement), 1)
        body = QHBoxLayout()
        body.addLayout(left, 2)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        for label in (self.status_label, self.failing_label, self.since_lock_label,
                      self.waiting_label):
            layout.addWidget(label)
        layout.addWidget(self.topstep)
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
        self.demo_label.setVisible(demo)
        _set_label(self.realized_label, f"Realized today: {signed_money(snapshot.realized)}",
                   pnl_colour(float(snapshot.realized)), bold=True)
        if snapshot.open_pnl is not None:
            open_text = signed_money(snapshot.open_pnl)
        elif any(p.stale for p in snapshot.positions):
            open_text = "unknown (prices stale)"
        else:
            open_text = NO_PRICE
        _set_label(
            self.open_label, f"Open P&L: {open_text}", pnl_colour(snapshot.open_pnl), bold=True
        )
        self._render_state(snapshot, now)
        if snapshot.topstep is not None:
            self.topstep.show_view(snapshot.topstep, now)
        self.topstep.setVisible(snapshot.topstep is not None)
        self._render_limits(snapshot.limits)
        self._render_ladder(snapshot.ladder)
        self._locks = snapshot.locks
        self.locks.fill([lock_row(lock, now, self._zone) for lock in snapshot.locks])
        self.locks.setVisible(bool(snapshot.locks))
        self.no_locks_label.setVisible(not snapshot.locks)
        start = _chart_start(snapshot)
        self.chart.set_series(snapshot.pnl_series, snapshot.taken_at, start=start,
                              loss_limit=snapshot.loss_limit,
                              profit_target=snapshot.profit_target)
        self.positions.fill([position_row(p) for p in snapshot.positions])
        self.positions.setVisible(bool(snapshot.positions))
        self.no_positions_label.setVisible(not snapshot.positions)
        self.orders.fill([order_row(o, o.tick_size) for o in snapshot.orders])
        self.orders.setVisible(bool(snapshot.orders))
        self.no_orders_label.setVisible(not snapshot.orders)
        # Newest first: the row a trader looks for is what just happened.
        entries = sorted(snapshot.enforcement, key=lambda e: e.at, reverse=True)
        self.enforcement.fill([enforcement_row(e, self._zone) for e in entries])
        self.enforcement.setVisible(bool(entries))
        self.no_enforcement_label.setVisible(not entries)

    def _render_state(self, snapshot: AccountSnapshot, now: datetime) -> None:
        state = account_state(snapshot)
        _set_label(self.status_label, headline(snapshot, now, self._zone),
                   style=banner_style(state))
        lines = [
            f"{rule_name(f.rule_id)}: the gateway refused it {f.attempts} times ({f.error}); "
            "still retrying." for f in snapshot.failing]
        if snapshot.state_not_saved:
            lines.append(f"The state file cannot be written ({snapshot.state_not_saved}): "
                         "protection runs from memory, and a crash now would lose today's locks "
                         "and P&L. Free disk space; the app keeps trying.")
        failing = "\n".join(lines)
        _set_label(self.failing_label, failing, "#a01c1c")
        _set_label(self.since_lock_label, since_lock_text(snapshot) or "", "#a01c1c", bold=True)
        waiting = ""
        if snapshot.waiting:
            waiting = "Loosened, not in force yet:\n" + "\n".join(snapshot.waiting)
        _set_label(self.waiting_label, waiting, AMBER)

    def _render_ladder(self, ladder: Sequence[LadderView]) -> None:
        lines = [f"{step.name}: {step.text} ({step.used})" for step in ladder]
        restricted = any(step.step == "restricted" for step in ladder)
        warned = any(step.step != "normal" for step in ladder)
        colour = "#a01c1c" if restricted else AMBER if warned else None
        _set_label(self.ladder_label, ("Warning ladder: " + "; ".join(lines)) if lines else "",
                   colour)

    def tick(self, now: datetime) -> None:
        self.topstep.tick(now)
        for row, lock in enumerate(self._locks):
            self.locks.set_text(row, 2, lock_row(lock, now, self._zone)[1][2][0])
        if self._shown is not None:
            snapshot = self._shown[0]
            state = account_state(snapshot)
            _set_label(self.status_label, headline(snapshot, now, self._zone),
                       style=banner_style(state))

    def _render_limits(self, limits: Sequence[LimitUsage]) -> None:
        if [u.rule_id for u in limits] != list(self.limit_rows):
            # The enabled rules changed (a settings save): rebuild the few rows, rarely.
            for row_widgets in self.limit_rows.values():
                for old in row_widgets:
                    self._limits_grid.removeWidget(old)
                    old.deleteLater()
            self.limit_rows = {}
            for row, usage in enumerate(limits):
                widgets = (QLabel(), LimitBar(), QLabel(), QLabel())
                for column, new in enumerate(widgets):
                    self._limits_grid.addWidget(new, row, column)
                self.limit_rows[usage.rule_id] = widgets
            self._limits_grid.setColumnStretch(1, 1)
        for usage in limits:
            name, bar, text, waiting = self.limit_rows[usage.rule_id]
            _set_label(name, usage.label)
            name.setToolTip(rule_name(usage.rule_id))
            bar.set_usage(usage)
            bar.setToolTip(f"{rule_name(usage.rule_id)}: {usage.text}")
            warned = usage.level != "ok"
            _set_label(text, usage.text, level_colour(usage.level) if warned else None)
            _set_label(waiting, f"waiting: {usage.waiting}" if usage.waiting else "", GREY)
            waiting.setToolTip("A loosened value: it applies at the next daily reset.")
        self.no_limits_label.setVisible(not limits)


CHART_LEAD = timedelta(minutes=30)
CHART_EMPTY = timedelta(hours=2)


def _chart_start(snapshot: AccountSnapshot) -> datetime | None:
    """Where the time axis starts: half an hour before the day's first closed trade (two
    hours back with none yet), never before the trading day began. The whole day from its
    17:00 start would squeeze a morning's trades into the right edge."""
    if snapshot.pnl_series:
        start = snapshot.pnl_series[0][0] - CHART_LEAD
    else:
        start = snapshot.taken_at - CHART_EMPTY
    if snapshot.day_start is not None:
        start = max(start, snapshot.day_start)
    return start
