"""What the dashboard shows for each state a trader meets: bar colours by how close to acting,
stale prices, loosened values waiting for the reset, losses since a lock, the chart's scale and
lines, failing enforcement, and a window that stays reachable without a tray."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtGui import QColor, QGuiApplication
from pytestqt.qtbot import QtBot

from core.app.snapshot import (
    AccountSnapshot,
    FailingView,
    LimitUsage,
    LockView,
    PositionView,
    SinceLock,
)
from gui.dashboard import DashboardWindow
from gui.pnl_chart import AMBER, GREEN, MIN_SPAN, RED, PnlChart
from gui.popup_window import CRITICAL, PopupWindow, Shown

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
ACCOUNT = 26282486


def snap(**kwargs: object) -> AccountSnapshot:
    values: dict[str, object] = dict(
        account_id=ACCOUNT, name="PA-1", status="protected", trading_day=date(2026, 8, 19),
        taken_at=NOW, realized=Decimal("0"), open_pnl=0.0, rules_enabled=("RULE-001",),
    )
    values.update(kwargs)
    return AccountSnapshot(**values)  # type: ignore[arg-type]


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[DashboardWindow]:
    dashboard = DashboardWindow(now=lambda: NOW, tick_ms=60_000, tray_available=lambda: False)
    qtbot.addWidget(dashboard)
    dashboard.show()
    yield dashboard
    dashboard.hide()


def show(window: DashboardWindow, snapshot: AccountSnapshot) -> None:
    window.set_snapshots([snapshot])
    window.flush()


def contracts(used: int) -> LimitUsage:
    return LimitUsage("RULE-001", "Contracts", used, 5, f"{used} of 5 contracts",
                      breach_at_limit=False)


@pytest.mark.parametrize(("used", "colour"), [(3, GREEN), (4, AMBER), (5, AMBER), (6, RED)])
def test_five_of_five_contracts_is_allowed_amber_not_red(
    window: DashboardWindow, used: int, colour: str
) -> None:
    show(window, snap(limits=(contracts(used),)))
    bar = window.panel(ACCOUNT).limit_rows["RULE-001"][1]
    assert bar.colour == QColor(colour)


@pytest.mark.parametrize(("used", "colour"), [(240, GREEN), (250, AMBER), (499, AMBER), (500, RED)])
def test_a_daily_loss_turns_amber_at_its_first_warning(
    window: DashboardWindow, used: float, colour: str
) -> None:
    loss = LimitUsage("RULE-003", "Daily loss", used, 500.0, "", warn_at=0.5)
    show(window, snap(limits=(loss,), rules_enabled=("RULE-003",)))
    assert window.panel(ACCOUNT).limit_rows["RULE-003"][1].colour == QColor(colour)
    expected = "Protected" if used < 250 else f"Warning: daily loss {loss.text}".strip()
    assert window.state_text.startswith(expected)


def test_a_stale_price_is_shown_as_stale_not_dropped(window: DashboardWindow) -> None:
    stale = PositionView("CON.F.US.MNQ.U26", "MNQ", "MNQU6", 2, 21019.25, 21040.5, None,
                         tick_size=0.25, stale=True)
    show(window, snap(status="reconnecting", positions=(stale,), open_pnl=None))
    panel = window.panel(ACCOUNT)
    assert panel.positions.text(0, 3) == "21,040.50 (stale)"
    assert panel.positions.text(0, 4) == "unknown: price stale"
    assert panel.open_label.text() == "Open P&L: unknown (prices stale)"
    assert window.state_text == "Gateway unreachable: not protected"


def test_a_loosened_value_waits_beside_the_one_in_force(window: DashboardWindow) -> None:
    loss = LimitUsage("RULE-003", "Daily loss", 100, 500.0, "-$100.00 of -$500.00",
                      waiting="-$800.00 from Wed 17:00 CDT")
    line = "Daily loss limit: Loss limit ($) -$500.00 → -$800.00 from Wed 17:00 CDT"
    show(window, snap(limits=(loss,), waiting=(line,)))
    panel = window.panel(ACCOUNT)
    _name, _bar, text, waiting = panel.limit_rows["RULE-003"]
    assert text.text() == "-$100.00 of -$500.00"  # the value in force
    assert waiting.text() == "waiting: -$800.00 from Wed 17:00 CDT"
    assert line in panel.waiting_label.text()


def test_losses_while_locked_are_counted(window: DashboardWindow) -> None:
    lock = LockView("RULE-003", "hard", "daily loss", NOW + timedelta(hours=7), None)
    show(window, snap(locks=(lock,), since_lock=SinceLock(Decimal("-56"), 3)))
    assert window.panel(ACCOUNT).since_lock_label.text() == (
        "-$56.00 since the lock, 3 entries closed")


def test_failing_enforcement_fills_the_header_in_red(window: DashboardWindow) -> None:
    failing = FailingView("RULE-001", "reduce MNQU6 long 7 to 5", "HTTP 503", 5)
    show(window, snap(failing=(failing,), limits=(contracts(7),)))
    panel = window.panel(ACCOUNT)
    assert panel.status_label.text() == "NOT PROTECTED: reduce MNQU6 long 7 to 5 on the platform now"
    assert "background: #d3302f" in panel.status_label.styleSheet()
    assert "refused it 5 times (HTTP 503)" in panel.failing_label.text()
    assert window.state_text == panel.status_label.text()


def test_the_chart_scale_keeps_small_losses_small_and_shows_the_limits(qtbot: QtBot) -> None:
    chart = PnlChart()
    qtbot.addWidget(chart)
    chart.set_series(((NOW - timedelta(minutes=5), -1.0),), NOW)
    low, high = chart.value_range()
    assert high - low >= MIN_SPAN  # -$1 is not a cliff
    chart.set_series(((NOW - timedelta(minutes=5), -1.0),), NOW, loss_limit=500.0,
                     profit_target=1000.0)
    low, high = chart.value_range()
    assert low < -500.0 and high > 1000.0  # both lines are in view
    chart.resize(400, 200)
    assert not chart.grab().isNull()  # axes, lines and labels paint without error


def test_without_a_tray_closing_the_dashboard_minimises_it(window: DashboardWindow) -> None:
    window.close()
    assert not window.isHidden()  # the app keeps a face: minimised, never invisible


def test_the_dashboard_fits_the_screen(window: DashboardWindow) -> None:
    screen = QGuiApplication.primaryScreen()
    area = screen.availableGeometry()
    size = window.fitting_size()
    assert size.width() <= area.width() and size.height() <= area.height()
    assert window.minimumSize().width() <= 640 and window.minimumSize().height() <= 480


def test_the_notice_window_keeps_its_text_and_buttons_on_screen(qtbot: QtBot) -> None:
    opened: list[bool] = []
    popup = PopupWindow(on_open_dashboard=lambda: opened.append(True))
    qtbot.addWidget(popup)
    for i in range(30):  # far more than fit: they scroll, the window does not grow off screen
        popup.add(Shown("lock", f"Locked {i}", "line\n" * 4, CRITICAL, "window", float(i)), 10_000)
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert popup.isVisible() and popup.height() <= area.height()
    assert area.contains(popup.geometry().topLeft()) and area.contains(popup.geometry().bottomRight())
    assert popup.dismiss_button.isVisible() and popup.open_button.isVisible()
    assert popup.messages()[0].title == "Locked 29"  # newest on top
    popup.open_button.click()
    assert opened == [True]
