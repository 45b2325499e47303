"""The Topstep box on the dashboard and the tray's Maximum Loss Limit line: real widgets offscreen,
fed snapshots; and end to end against the embedded simulated gateway, a 50K Combine driven into
its buffer by an open loss is flat and locked while the dashboard shows the distance."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from core.app.service import RiskService
from core.app.snapshot import (
    AccountSnapshot,
    FirmCloseView,
    LadderView,
    MllView,
    PlanFact,
    SizeCapView,
    TopstepView,
)
from core.sim.models import BUY, MARKET
from core.sim.server import DEMO_COMBINE_ID, SimulatedGateway
from gui.app import TrayApp
from gui.dashboard import DashboardWindow
from gui.tray import tooltip_text
from tests.builders import config
from tests.gui.test_dashboard import NOW, Clock, shown, snap
from tests.integration.support import (
    HUB_OPTIONS,
    MNQ,
    NO_PERIODIC_RECONCILE,
    TICK_INTERVAL,
    demo_credentials,
    make_sim,
    until,
    wired,
)

MLL = MllView(floor=48_000.0, floor_typed_in=False, mll_amount=2_000.0, balance=48_700.0,
              open_pnl=-220.0, buffer=250.0, warn_at=(1000.0, 500.0))
VIEW = TopstepView(
    "50K Trading Combine", "from the account name",
    (PlanFact("Maximum Loss Limit", "$2,000.00"), PlanFact("Scaling plan", "3 lots", True)),
    MLL, SizeCapView(5, "50K plan maximum", 0.5),
    FirmCloseView("15:10 CDT", NOW + timedelta(hours=2, minutes=8)),
)


def combine(view: TopstepView | None = VIEW, **kwargs: Any) -> AccountSnapshot:
    return replace(snap(name="50KTC-V2-1", **kwargs), topstep=view)


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[tuple[DashboardWindow, Clock]]:
    clock = Clock()
    dashboard = DashboardWindow(now=clock, render_ms=100, tick_ms=60_000, tray_available=lambda: True)
    qtbot.addWidget(dashboard)
    dashboard.show()
    yield dashboard, clock
    dashboard.hide()


def test_the_distance_is_the_largest_number_with_its_gauge_plan_cap_and_close(window: Any) -> None:
    dashboard, clock = window
    shown(dashboard, combine())
    box = dashboard.panel(26282486).topstep
    assert box.isVisible() and box.title() == "Topstep account: 50K Trading Combine (from the account name)"
    assert box.distance_label.text() == "$480.00 above the Maximum Loss Limit"
    assert box.distance_label.font().pointSize() <= 0 or "26px" in box.distance_label.styleSheet()
    assert box.gauge.fraction() == pytest.approx(480 / 2000)
    assert box.equity_label.text().startswith(
        "Equity $48,480.00 = balance $48,700.00 + open P&L -$220.00 · floor $48,000.00")
    assert "flattens and locks at $250.00 from the floor" in box.equity_label.text()
    plan = box.plan_label.text()
    assert "Maximum Loss Limit $2,000.00" in plan and "Scaling plan 3 lots" in plan
    assert plan.count("unconfirmed") == 1  # only the number Topstep has not confirmed
    assert box.cap_label.text() == "Size cap now: 5 lots, 50K plan maximum · 0.5 lots held"
    assert box.close_label.text() == "Flat by 12:08 CDT (firm close 15:10 CDT): 2 h 8 min left"
    clock.now = NOW + timedelta(hours=2)
    dashboard.tick()
    assert box.close_label.text().endswith("8 min left")


def test_an_unknown_distance_is_said_and_never_drawn(window: Any) -> None:
    dashboard, _ = window
    shown(dashboard, combine(replace(VIEW, mll=replace(MLL, open_pnl=None, unknown="no price yet"))))
    box = dashboard.panel(26282486).topstep
    assert box.distance_label.text() == "Distance to the Maximum Loss Limit: no price yet"
    assert box.gauge.fraction() is None
    assert "open P&L: no price yet" in box.equity_label.text()


def test_no_plan_no_box_and_the_ladder_in_words(window: Any) -> None:
    dashboard, _ = window
    ladder = (LadderView("daily_realized_loss", "Daily loss limit", "restricted",
                         "restricted: at most 1 contract", "82% used"),)
    shown(dashboard, replace(combine(None), ladder=ladder))
    panel = dashboard.panel(26282486)
    assert not panel.topstep.isVisible()
    assert panel.ladder_label.text() == (
        "Warning ladder: Daily loss limit: restricted: at most 1 contract (82% used)")


def test_the_tray_tooltip_names_the_smallest_distance_second() -> None:
    other = replace(combine(replace(VIEW, mll=replace(MLL, balance=49_500.0))), account_id=2,
                    name="50KTC-V2-2")
    text = tooltip_text([other, combine()], False, NOW, Clock().now.tzinfo)  # type: ignore[arg-type]
    lines = text.splitlines()
    assert lines[0] == "Risk Manager: Warning"
    assert lines[1] == "MLL: $480.00 left on 50KTC-V2-1"


async def test_a_combine_driven_into_its_buffer_is_flat_locked_and_shown(
    qtbot: QtBot, tmp_path: Path
) -> None:
    sim: SimulatedGateway = make_sim()
    await sim.start()
    cfg = wired(config({"max_loss_guard": {"buffer": 250, "warn_at": [1000, 500]},
                        "plan_position_size": {}}, general={"accounts": [DEMO_COMBINE_ID]}), sim)
    service = RiskService(cfg, demo_credentials(), data_dir=tmp_path, tick_interval=TICK_INTERVAL,
                          reconcile_interval=NO_PERIODIC_RECONCILE, hub_options=HUB_OPTIONS)
    app = TrayApp(service, demo=False, quit_requested=asyncio.Event(), snapshot_ms=60_000)
    try:
        await service.start()
        await service.wait_protected(10.0)
        engine = service.engine
        price = sim.market.last_price(MNQ)
        sim.exchange.place_order(DEMO_COMBINE_ID, MNQ, MARKET, BUY, 2)
        await until(lambda: engine.mirror.account(DEMO_COMBINE_ID).positions, "the position")
        sim.set_market_price(MNQ, price)  # the hand-moved market quotes when it is moved
        await until(lambda: engine.quotes.mark(MNQ) is not None, "its price")
        app.refresh()
        app.dashboard.show_and_raise()
        app.dashboard.flush()
        box = app.dashboard.panel(DEMO_COMBINE_ID).topstep
        assert box.isVisible() and box.distance_label.text().endswith("above the Maximum Loss Limit")
        # The combine stands $500 above its floor; 70 points on 2 MNQ lose $280 more.
        sim.set_market_price(MNQ, price - 70)
        await until(lambda: not sim.exchange.positions(DEMO_COMBINE_ID)
                    or all(p.net == 0 for p in sim.exchange.positions(DEMO_COMBINE_ID)), "flat")
        await until(lambda: engine.lockouts.get(DEMO_COMBINE_ID, "RULE-014"), "the lock")
        account = engine.mirror.account(DEMO_COMBINE_ID)
        await until(lambda: (account.balance or 0) < 48_300, "the balance after the close")
        app.refresh()
        app.dashboard.flush()
        panel = app.dashboard.panel(DEMO_COMBINE_ID)
        assert panel.status_label.text().startswith("Locked until 17:00")
        assert panel.status_label.text().endswith("(near the Maximum Loss Limit)")
        view = panel.topstep.view
        assert view is not None and view.mll.distance is not None and view.mll.distance <= 250
        assert panel.topstep.distance_label.text() == f"${view.mll.distance:,.2f} above the Maximum Loss Limit"
        assert "MLL: $" in app.tray.tooltip()
    finally:
        app.close()
        await service.stop()
        await sim.stop()
