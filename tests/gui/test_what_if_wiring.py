"""The "What if…" window from the tray menu and from the dashboard toolbar: one window, brought
forward when open, replaying the demo's generated month through the rules; closed at quit."""

from __future__ import annotations

import asyncio
from typing import Any

from pytestqt.qtbot import QtBot

from gui.app import TrayApp
from gui.what_if import WhatIf
from tests.builders import ACCOUNT, config, default_config, make_engine
from tests.gui.test_app import ServiceStandIn


async def test_tray_and_toolbar_open_the_one_what_if_window_and_it_replays_the_demo(
    qtbot: QtBot,
) -> None:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    service = ServiceStandIn(engine, clock, engine.config, engine.bus, {ACCOUNT: "protected"})
    what_if = WhatIf(default_config, demo=True)  # as run_gui makes it for the demo
    app = TrayApp(service, demo=True, quit_requested=asyncio.Event(),  # type: ignore[arg-type]
                  open_what_if=what_if.open, snapshot_ms=60_000)
    try:
        app.tray.what_if_action.trigger()
        window = what_if.window
        assert window is not None and window.isVisible()
        app.dashboard.what_if_action.trigger()
        assert what_if.window is window  # the same window, brought forward
        last = window.to_edit.date()
        window.from_edit.setDate(last.addDays(-2))  # a few days keep the test quick
        window.run_button.click()
        assert window.attempt is not None
        await window.attempt
        report: Any = window.report
        assert report is not None, window.status_label.text()
        assert report.trade_count > 0 and "simulated gateway" in window.status_label.text()
        assert window.days_table.rowCount() == len(report.days) + 1
    finally:
        what_if.close()
        app.close()
    assert not window.isVisible()
