"""TrayApp wiring with a real engine: snapshots reach the tray, locks ask for the admin
password before quitting, enforcement shows in the dashboard's log."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.app.admin_password import AdminPassword
from core.config import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.engine.engine import Engine
from gui.app import TrayApp
from tests.builders import ACCOUNT, MNQ, config, make_engine, position, trade


@dataclass
class ServiceStandIn:
    """What TrayApp reads from RiskService, around a real engine (no network)."""

    engine: Engine
    clock: ManualClock
    config: AppConfig
    bus: EventBus
    status: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


@pytest.fixture
def parts(qtbot: Any) -> tuple[TrayApp, ServiceStandIn, asyncio.Event]:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}, "max_contracts": {"limit": 5}}))
    service = ServiceStandIn(engine, clock, engine.config, engine.bus, {ACCOUNT: "protected"}, {ACCOUNT: "PRAC-1"})
    quit_requested = asyncio.Event()
    app = TrayApp(service, demo=False, quit_requested=quit_requested, snapshot_ms=60_000)  # type: ignore[arg-type]
    yield app, service, quit_requested
    app.close()


def test_snapshots_drive_the_tray_and_dashboard(parts: tuple[TrayApp, ServiceStandIn, asyncio.Event]) -> None:
    app, service, _ = parts
    app.refresh()
    assert app.tray.state.value == "protected"
    service.engine.handle(trade("-600", fees="0", at=service.clock.now()))
    app.refresh()
    assert app.tray.state.value == "locked"
    assert "RULE-003" in app.tray.tooltip()
    app.dashboard.flush()
    assert app.dashboard.account_ids == [ACCOUNT]


def test_enforcement_appears_in_the_recent_log(parts: tuple[TrayApp, ServiceStandIn, asyncio.Event]) -> None:
    app, service, _ = parts
    service.engine.handle(position(MNQ, 7, 20000.0))  # RULE-001: partial close issued
    [snapshot] = app.snapshots()
    assert [(e.rule_id, e.action, e.outcome) for e in snapshot.enforcement] == [
        ("RULE-001", "partial_close", "issued")
    ]


def test_quit_needs_the_admin_password_only_while_hard_locked(
    qtbot: Any, tmp_path: Path
) -> None:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    service = ServiceStandIn(engine, clock, engine.config, engine.bus, {ACCOUNT: "protected"})
    admin = AdminPassword(tmp_path / "admin.json")
    admin.set("calm-me")
    quit_requested = asyncio.Event()
    app = TrayApp(service, demo=False, quit_requested=quit_requested, admin=admin, snapshot_ms=60_000)  # type: ignore[arg-type]
    try:
        engine.handle(trade("-600", fees="0", at=clock.now()))  # hard lock
        app.request_quit()
        assert not quit_requested.is_set()
        gate = app._quit_gate
        assert gate is not None and gate.isVisible()
        gate.password.setText("wrong")
        gate.try_quit()
        assert not quit_requested.is_set() and gate.error.text() == "Wrong password."
        gate.password.setText("calm-me")
        gate.try_quit()
        assert quit_requested.is_set()
    finally:
        app.close()


def test_quit_without_a_lock_needs_no_password(qtbot: Any, tmp_path: Path) -> None:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    service = ServiceStandIn(engine, clock, engine.config, engine.bus, {ACCOUNT: "protected"})
    admin = AdminPassword(tmp_path / "admin.json")
    admin.set("calm-me")
    quit_requested = asyncio.Event()
    app = TrayApp(service, demo=False, quit_requested=quit_requested, admin=admin, snapshot_ms=60_000)  # type: ignore[arg-type]
    try:
        app.request_quit()
        assert quit_requested.is_set()
    finally:
        app.close()
