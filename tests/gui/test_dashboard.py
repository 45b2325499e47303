"""DashboardWindow: real widgets offscreen, fed AccountSnapshots, timed by an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.app.snapshot import (
    AccountSnapshot,
    EnforcementView,
    LimitUsage,
    LockView,
    OrderView,
    PositionView,
)
from gui.dashboard import DashboardWindow, render_to_png
from gui.pnl_chart import AMBER, GREEN, RED, LimitBar
from gui.tables import DataTable, format_price, tick_decimals

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
Series = tuple[tuple[datetime, float], ...]
ACCOUNT, OTHER = 26282486, 25775680


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def position(size: int = 2, mark: float | None = 21040.5, pnl: float | None = 42.0) -> PositionView:
    return PositionView("CON.F.US.MNQ.U26", "MNQ", "MNQU6", size, 21019.25, mark, pnl)


def snap(
    *,
    account_id: int = ACCOUNT,
    name: str = "PA-1",
    status: str = "protected",
    realized: str = "0",
    open_pnl: float | None = 0.0,
    positions: tuple[PositionView, ...] = (),
    orders: tuple[OrderView, ...] = (),
    locks: tuple[LockView, ...] = (),
    limits: tuple[LimitUsage, ...] = (),
    series: tuple[tuple[datetime, float], ...] = (),
    enforcement: tuple[EnforcementView, ...] = (),
    taken_at: datetime = NOW,
    rules_enabled: tuple[str, ...] = ("RULE-003",),
) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=account_id, name=name, status=status, trading_day=date(2026, 8, 19),
        taken_at=taken_at, realized=Decimal(realized), open_pnl=open_pnl, positions=positions,
        orders=orders, locks=locks, limits=limits, pnl_series=series, enforcement=enforcement,
        rules_enabled=rules_enabled,
    )


def loss_limit(used: float) -> LimitUsage:
    return LimitUsage("RULE-003", "Daily loss", used, 500.0, f"-${used:.2f} of -$500.00")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def window(qtbot: QtBot, clock: Clock) -> Iterator[DashboardWindow]:
    dashboard = DashboardWindow(now=clock, render_ms=100, tick_ms=60_000,
                                tray_available=lambda: True)
    qtbot.addWidget(dashboard)
    dashboard.show()
    yield dashboard
    dashboard.hide()


def cell_colour(table: DataTable, row: int, column: int) -> QColor:
    item = table.item(row, column)
    assert item is not None
    return item.foreground().color()


def shown(window: DashboardWindow, *snapshots: AccountSnapshot, demo: bool = False) -> None:
    """What the app does (set_snapshots), then what the render timer does, without waiting."""
    window.set_snapshots(list(snapshots), demo)
    window.flush()


def test_window_is_a_plain_top_level_titled_risk_manager(window: DashboardWindow) -> None:
    assert window.windowTitle() == "Risk Manager"
    assert window.isWindow() and not window.isModal()
    assert window.waiting_label.isVisible()  # no accounts yet: says so instead of an empty tab


def test_position_row_shows_the_numbers(window: DashboardWindow) -> None:
    shown(window, snap(positions=(position(-3, 21040.5, -63.75),), open_pnl=-63.75))
    table = window.panel(ACCOUNT).positions
    assert table.rowCount() == 1
    row = [table.text(0, c) for c in range(5)]
    assert row == ["MNQU6", "Short 3", "21,019.25", "21,040.50", "-$63.75"]
    assert cell_colour(table, 0, 4) == QColor(RED)
    assert window.panel(ACCOUNT).open_label.text() == "Open P&L: -$63.75"


def test_status_and_demo_badge(window: DashboardWindow) -> None:
    shown(window, snap(status="reconnecting"), demo=True)
    panel = window.panel(ACCOUNT)
    assert panel.status_label.text() == "Gateway unreachable: not protected"
    assert window.state_text == "Gateway unreachable: not protected"
    assert panel.demo_label.isVisible() and window.windowTitle() == "Risk Manager (DEMO)"
    shown(window, snap(), demo=False)
    assert panel.status_label.text() == "Protected" == window.state_text
    assert not panel.demo_label.isVisible()


def test_pnl_change_updates_labels_and_chart(window: DashboardWindow) -> None:
    first: Series = ((NOW - timedelta(hours=2), 120.0),)
    shown(window, snap(realized="120", series=first))
    panel = window.panel(ACCOUNT)
    assert panel.realized_label.text() == "Realized today: +$120.00"
    assert panel.chart.series == first and panel.chart.label_text == "+$120.00"

    second: Series = (*first, (NOW - timedelta(minutes=5), -80.5))
    shown(window, snap(realized="-80.50", series=second))
    assert panel.realized_label.text() == "Realized today: -$80.50"
    assert panel.chart.series == second
    assert panel.chart.last_value == -80.5 and panel.chart.label_text == "-$80.50"
    assert not panel.chart.grab().isNull()  # the painter runs without error


def test_open_pnl_none_says_no_price(window: DashboardWindow) -> None:
    shown(window, snap(positions=(position(1, None, None),), open_pnl=None))
    panel = window.panel(ACCOUNT)
    assert panel.open_label.text() == "Open P&L: no price yet"
    assert panel.positions.text(0, 3) == "no price yet"
    assert panel.positions.text(0, 4) == "no price yet"


def test_lock_countdown_is_live_and_the_lock_goes_with_the_snapshot(
    window: DashboardWindow, clock: Clock
) -> None:
    # remaining_seconds is deliberately wrong: the countdown must come from `until`.
    lock = LockView("RULE-003", "hard", "Daily loss limit", NOW + timedelta(seconds=3605), 9999.0)
    shown(window, snap(locks=(lock,)))
    panel = window.panel(ACCOUNT)
    assert panel.locks.rowCount() == 1 and panel.locks.isVisible()
    assert (panel.locks.text(0, 0), panel.locks.text(0, 1)) == ("Daily loss limit", "Locked")
    assert panel.locks.text(0, 2) == "1 h"
    assert panel.locks.text(0, 3) == "11:00 CDT"  # the trading timezone's clock
    assert window.state_text == "Locked until 11:00 CDT (daily loss)"

    clock.now = NOW + timedelta(minutes=20, seconds=1)
    window.tick_timer.timeout.emit()
    assert panel.locks.text(0, 2) == "40 min 4 s"
    clock.now = NOW + timedelta(minutes=59, seconds=10)
    window.tick_timer.timeout.emit()
    assert panel.locks.text(0, 2) == "55 s"

    shown(window, snap())
    assert panel.locks.rowCount() == 0
    assert not panel.locks.isVisible() and panel.no_locks_label.isVisible()
    window.tick_timer.timeout.emit()  # a tick after the lock went must not bring it back
    assert panel.locks.rowCount() == 0


def test_open_ended_and_symbol_locks_say_what_ends_them(window: DashboardWindow) -> None:
    locks = (LockView("RULE-010", "hard", "Gateway says no", None, None),
             LockView("RULE-011", "symbol", "MNQ: blocked symbol", None, None))
    shown(window, snap(locks=locks))
    table = window.panel(ACCOUNT).locks
    assert table.text(0, 2) == "until the gateway allows trading again"
    assert (table.text(1, 1), table.text(1, 2)) == ("Symbol blocked", "until unblocked")


@pytest.mark.parametrize(
    ("used", "colour"), [(250.0, GREEN), (400.0, AMBER), (500.0, RED), (650.0, RED)]
)
def test_limit_bar_value_and_colour(window: DashboardWindow, used: float, colour: str) -> None:
    shown(window, snap(limits=(loss_limit(used),)))
    name, bar, text, _waiting = window.panel(ACCOUNT).limit_rows["RULE-003"]
    assert name.text() == "Daily loss"
    assert text.text() == f"-${used:.2f} of -$500.00"
    assert bar.fraction == pytest.approx(used / 500.0)
    assert bar.percent_text == f"{used / 5:.0f}%"
    assert bar.colour == QColor(colour)
    # What is painted, not just a property: a pixel inside the filled part (away from the text).
    image = bar.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert image.pixelColor(image.width() // 10, image.height() // 2) == QColor(colour)


def test_limit_bars_follow_the_enabled_rules(window: DashboardWindow) -> None:
    trades = LimitUsage("RULE-006", "Trades", 3, 10, "3 of 10 entries today")
    shown(window, snap(limits=(loss_limit(100), trades)))
    panel = window.panel(ACCOUNT)
    assert list(panel.limit_rows) == ["RULE-003", "RULE-006"]
    bar = panel.limit_rows["RULE-003"][1]
    shown(window, snap(limits=(loss_limit(200), trades)))
    assert panel.limit_rows["RULE-003"][1] is bar  # same rules: updated in place
    shown(window, snap())
    assert panel.limit_rows == {} and panel.no_limits_label.isVisible()


def test_burst_of_updates_is_coalesced_and_the_last_wins(
    window: DashboardWindow, qtbot: QtBot
) -> None:
    window.flush()
    before = window.render_count
    for i in range(1000):
        window.set_snapshots([snap(realized=str(-i), positions=(position(1 + i % 5),))])
    assert window.render_count == before  # nothing drawn inside the burst
    qtbot.waitUntil(lambda: window.render_count > before, timeout=2000)
    qtbot.wait(300)  # room for any stray extra render
    assert window.render_count - before <= 2
    panel = window.panel(ACCOUNT)
    assert panel.realized_label.text() == "Realized today: -$999.00"
    assert panel.positions.text(0, 1) == "Long 5"  # 1 + 999 % 5


def test_hidden_window_draws_nothing_until_shown(window: DashboardWindow) -> None:
    window.hide()
    before = window.render_count
    for i in range(50):
        window.set_snapshots([snap(realized=str(i))])
    QApplication.processEvents()
    assert window.render_count == before
    window.show_and_raise()
    assert window.render_count == before + 1
    assert window.panel(ACCOUNT).realized_label.text() == "Realized today: +$49.00"


def test_selection_and_rows_survive_updates(window: DashboardWindow) -> None:
    orders = tuple(OrderView(i, "CON.F.US.MNQ.U26", "MNQU6", "buy", "limit", 1, 21000.0 - i, 1)
                   for i in range(1, 6))
    shown(window, snap(orders=orders))
    table = window.panel(ACCOUNT).orders
    table.selectRow(2)
    first_item = table.item(2, 0)
    shown(window, snap(orders=orders, realized="-10"))  # same orders: cells untouched
    assert table.currentRow() == 2 and table.item(2, 0) is first_item
    shown(window, snap(orders=orders[1:]))  # order 1 filled: the selection follows order 3
    assert table.keys == [2, 3, 4, 5]
    assert [i.row() for i in table.selectionModel().selectedRows()] == [1]
    assert table.text(1, 0) == "3" and table.text(1, 6) == "open"


def test_enforcement_log_newest_first(window: DashboardWindow) -> None:
    log = (
        EnforcementView(NOW - timedelta(minutes=3), "RULE-001", "partial_close", "done", "7 > 5",
                        target="MNQU6 long 7 by 2", contract="MNQU6", size=2, price=21019.25,
                        latency_ms=8.4, tick_size=0.25),
        EnforcementView(NOW - timedelta(minutes=1), "RULE-003", "flatten", "failed", "Daily loss",
                        target="MNQU6 long 5"),
    )
    shown(window, snap(enforcement=log))
    table = window.panel(ACCOUNT).enforcement
    row = [table.text(0, c) for c in range(9)]
    assert row == ["09:59:00", "Closed everything", "MNQU6 long 5", "", "", "Failed", "",
                   "Daily loss limit", "Daily loss"]
    assert cell_colour(table, 0, 5) == QColor(RED)
    older = [table.text(1, c) for c in range(8)]
    assert older == ["09:57:00", "Reduced", "MNQU6 long 7 by 2", "2", "21,019.25", "Done",
                     "8 ms", "Max contracts"]


def test_two_accounts_two_tabs_and_a_gone_account_loses_its_tab(window: DashboardWindow) -> None:
    shown(window, snap(), snap(account_id=OTHER, name="PA-2", realized="55"))
    assert window.tabs.count() == 2
    assert [window.tabs.tabText(i) for i in range(2)] == ["PA-1", "PA-2"]
    assert window.panel(OTHER).realized_label.text() == "Realized today: +$55.00"
    window.tabs.setCurrentIndex(1)
    shown(window, snap(), snap(account_id=OTHER, name="PA-2", realized="60"))
    assert window.tabs.currentIndex() == 1  # an update does not jump back to the first tab
    shown(window, snap(account_id=OTHER, name="PA-2"))
    assert window.tabs.count() == 1 and window.account_ids == [OTHER]


def test_close_hides_and_does_not_quit(window: DashboardWindow, qapp: QApplication) -> None:
    quits: list[bool] = []
    qapp.lastWindowClosed.connect(lambda: quits.append(True))
    assert window.isVisible()
    window.close()
    assert window.isHidden()
    assert quits == []  # the close was not accepted, so Qt sees no "last window closed"
    assert not window.tick_timer.isActive()  # a hidden dashboard does no work
    window.show_and_raise()
    assert window.isVisible() and window.tick_timer.isActive()


def test_render_to_png(window: DashboardWindow, tmp_path: Path) -> None:
    window.set_snapshots([snap(realized="-120", series=((NOW - timedelta(hours=1), -120.0),),
                               limits=(loss_limit(120),), positions=(position(),))], True)
    target = render_to_png(window, tmp_path / "shots" / "dashboard.png")
    # Pending snapshots are drawn before the grab.
    assert window.panel(ACCOUNT).realized_label.text() == "Realized today: -$120.00"
    image = QImage(str(target))
    assert not image.isNull() and image.width() > 0


def test_formatting_helpers() -> None:
    # At the contract's tick precision: index futures, oil, currencies, bonds.
    assert format_price(21019.5, 0.25) == "21,019.50"
    assert format_price(71.3, 0.01) == "71.30"
    assert format_price(1.0845, 0.00005) == "1.08450"
    assert format_price(118.03125, 0.03125) == "118.03125"
    assert format_price(4500.0, 1.0) == "4,500"
    assert [tick_decimals(t) for t in (0.25, 0.1, 0.005, 1.0)] == [2, 1, 3, 0]
    assert format_price(21019.25) == "21,019.25"
    assert format_price(1.08765) == "1.08765"
    assert format_price(118.03125) == "118.03125"
    assert format_price(None) == "—"


def test_limit_bar_caps_the_fill_not_the_number(qtbot: QtBot) -> None:
    bar = LimitBar()
    qtbot.addWidget(bar)
    bar.set_usage(loss_limit(650.0))
    assert bar.percent_text == "130%" and bar.colour == QColor(RED)


def test_chart_with_no_trades_says_so(window: DashboardWindow) -> None:
    shown(window, snap())
    chart = window.panel(ACCOUNT).chart
    assert chart.series == () and chart.label_text == "No closed trades yet today"
    assert not chart.grab().isNull()


def test_same_snapshot_twice_is_cheap(window: DashboardWindow) -> None:
    one = snap(positions=(position(),))
    shown(window, one)
    panel = window.panel(ACCOUNT)
    item = panel.positions.item(0, 0)
    shown(window, replace(one))
    assert panel.positions.item(0, 0) is item


def test_scroll_position_survives_updates(window: DashboardWindow) -> None:
    def orders(shift: float) -> tuple[OrderView, ...]:
        return tuple(OrderView(i, "CON.F.US.MNQ.U26", "MNQU6", "sell", "stop", 1, 20000.0 + i + shift, 1)
                     for i in range(1, 61))

    shown(window, snap(orders=orders(0)))
    table = window.panel(ACCOUNT).orders
    bar = table.verticalScrollBar()
    assert bar.maximum() > 0  # enough rows to scroll
    bar.setValue(bar.maximum() // 2)
    kept = bar.value()
    shown(window, snap(orders=orders(0.25), realized="-5"))
    assert bar.value() == kept
    assert table.text(59, 5) == "20,060.25"
