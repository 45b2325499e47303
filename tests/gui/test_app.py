"""TrayApp wiring with a real engine: the true state reaches the tray and the dashboard, the quit
gate asks before protection ends, "Lock me out now" holds across a restart, restored locks are
announced, a desktop without a tray keeps every action."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from core.app.admin_password import AdminPassword
from core.app.self_lock import lock_me_out
from core.app.words import SELF_LOCK
from core.config import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.commands import CloseContract, Flatten
from core.engine.engine import Engine
from core.engine.notices import EnforcementDone, EnforcementFailed
from core.modules.lockouts import LockKind
from gui.app import TrayApp
from gui.icons import TrayState
from gui.quit_gate import CONFIRM_WORDS, PASSWORD, TYPED
from tests.builders import ACCOUNT, MNQ, config, make_engine, open_store, position, quote, trade


@dataclass
class ServiceStandIn:
    """What TrayApp reads from RiskService, around a real engine (no network)."""

    engine: Engine
    clock: ManualClock
    config: AppConfig
    bus: EventBus
    status: dict[int, str] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make_app(engine: Engine, clock: ManualClock, *, admin: AdminPassword | None = None,
             status: str = "protected", time: FakeTime | None = None) -> tuple[TrayApp, asyncio.Event]:
    service = ServiceStandIn(engine, clock, engine.config, engine.bus, {ACCOUNT: status},
                             {ACCOUNT: "PRAC-1"})
    quit_requested = asyncio.Event()
    app = TrayApp(service, demo=False, quit_requested=quit_requested, admin=admin,  # type: ignore[arg-type]
                  snapshot_ms=60_000, monotonic=time or FakeTime())
    return app, quit_requested


RULES = {"daily_realized_loss": {"limit": 500}, "max_contracts": {"limit": 5},
         "daily_unrealized_loss": {"limit": 300}}


@pytest.fixture
def parts(qtbot: QtBot) -> Iterator[tuple[TrayApp, Engine, ManualClock, asyncio.Event]]:
    engine, clock, _ = make_engine(config(RULES))
    app, quit_requested = make_app(engine, clock)
    yield app, engine, clock, quit_requested
    app.close()


def test_a_loss_lock_reaches_tray_and_dashboard_in_words(parts: Any) -> None:
    app, engine, clock, _ = parts
    app.refresh()
    assert app.tray.state is TrayState.PROTECTED
    engine.handle(trade("-600", fees="0", at=clock.now()))
    app.refresh()
    app.dashboard.flush()
    assert app.tray.state is TrayState.LOCKED
    assert "Locked until 17:00 CDT (daily loss)" in app.tray.tooltip()
    assert "RULE-003" not in app.tray.tooltip()
    assert app.dashboard.state_text == "Locked until 17:00 CDT (daily loss)"


def test_failing_enforcement_is_red_and_says_what_to_close(parts: Any) -> None:
    app, engine, clock, _ = parts
    engine.handle(position(MNQ, 7, 20000.0))  # 7 of 5 contracts: a reduction goes out
    engine.handle(quote(MNQ, last=19950.0))
    close = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="open loss",
                          contract_id=MNQ)
    engine.bus.publish(EnforcementFailed(close, "HTTP 503 Service Unavailable", 5))
    app.refresh()
    app.dashboard.flush()
    expected = "NOT PROTECTED: close MNQU6 long 7 on the platform now"
    assert app.tray.state is TrayState.FAILING
    assert app.dashboard.state_text == expected
    assert app.tray.status_text == expected
    assert app.dashboard.panel(ACCOUNT).status_label.text() == expected
    assert "HTTP 503" in app.dashboard.panel(ACCOUNT).failing_label.text()
    # Still red while a lock or a warning would otherwise show: failing is the worst state.
    engine.handle(trade("-600", fees="0", at=clock.now()))
    app.refresh()
    assert app.tray.state is TrayState.FAILING
    engine.bus.publish(EnforcementDone(close, 40.0, 6))
    app.refresh()
    assert app.tray.state is TrayState.LOCKED


def test_no_enabled_limit_is_its_own_state_not_protected(qtbot: QtBot) -> None:
    engine, clock, _ = make_engine(config())  # every rule off
    app, _ = make_app(engine, clock)
    try:
        app.refresh()
        app.dashboard.flush()
        assert app.tray.state is TrayState.NO_LIMITS
        assert app.dashboard.state_text == "No limit enabled: nothing is enforced"
        assert "Protected" not in app.tray.tooltip()
    finally:
        app.close()


def test_a_lost_gateway_says_not_protected(qtbot: QtBot) -> None:
    engine, clock, _ = make_engine(config(RULES))
    app, _ = make_app(engine, clock, status="reconnecting")
    try:
        app.refresh()
        app.dashboard.flush()
        assert app.tray.state is TrayState.DISCONNECTED
        assert app.dashboard.state_text == "Gateway unreachable: not protected"
    finally:
        app.close()


# --- quitting ---------------------------------------------------------------------------------


def test_quit_with_nothing_locked_or_open_needs_no_question(parts: Any) -> None:
    app, _, _, quit_requested = parts
    app.request_quit()
    assert quit_requested.is_set() and app.quit_gate is None


def test_quit_with_a_position_open_asks_once_naming_it(parts: Any) -> None:
    app, engine, _, quit_requested = parts
    engine.handle(position(MNQ, 2, 20000.0))
    app.request_quit()
    gate = app.quit_gate
    assert gate is not None and gate.isVisible() and not quit_requested.is_set()
    assert "PRAC-1: MNQU6 long 2 open" in gate.risks_label.text()
    gate.cancel_button.click()  # Cancel: nothing changes
    assert not quit_requested.is_set() and not gate.isVisible()
    app.request_quit()
    assert app.quit_gate is not None
    app.quit_gate.quit_button.click()
    assert quit_requested.is_set()


def test_quit_while_hard_locked_needs_the_admin_password(qtbot: QtBot, tmp_path: Path) -> None:
    engine, clock, _ = make_engine(config(RULES))
    admin = AdminPassword(tmp_path / "admin.json")
    admin.set("calm-me")
    app, quit_requested = make_app(engine, clock, admin=admin)
    try:
        engine.handle(trade("-600", fees="0", at=clock.now()))  # hard lock
        app.request_quit()
        gate = app.quit_gate
        assert gate is not None and gate.mode == PASSWORD
        assert "Locked until 17:00 CDT (daily loss)" in gate.risks_label.text()
        gate.field.setText("wrong")
        gate.try_quit()
        assert not quit_requested.is_set() and gate.error.text() == "Wrong password."
        gate.field.setText("calm-me")
        gate.try_quit()
        assert quit_requested.is_set()
    finally:
        app.close()


def test_quit_while_hard_locked_without_a_password_waits_30_s_then_wants_it_typed(
    qtbot: QtBot, tmp_path: Path
) -> None:
    engine, clock, _ = make_engine(config(RULES))
    time = FakeTime()
    app, quit_requested = make_app(engine, clock, admin=AdminPassword(tmp_path / "none.json"),
                                   time=time)
    try:
        engine.handle(trade("-600", fees="0", at=clock.now()))
        app.request_quit()
        gate = app.quit_gate
        assert gate is not None and gate.mode == TYPED
        assert gate.seconds_left() == 30 and "30 s" in gate.prompt.text()
        assert not gate.field.isEnabled() and not gate.quit_button.isEnabled()
        gate.field.setText(CONFIRM_WORDS)
        gate.try_quit()  # too early, whatever is typed
        assert not quit_requested.is_set()
        time.t += 12
        gate._update()  # noqa: SLF001 - what its timer does each quarter second
        assert "18 s" in gate.prompt.text() and not gate.quit_button.isEnabled()
        time.t += 18
        gate._update()  # noqa: SLF001
        assert gate.field.isEnabled()
        gate.field.setText("quit")
        assert not gate.quit_button.isEnabled()
        gate.field.setText(CONFIRM_WORDS.upper())
        assert gate.quit_button.isEnabled()
        gate.quit_button.click()
        assert quit_requested.is_set()
    finally:
        app.close()


# --- lock me out now --------------------------------------------------------------------------


def test_lock_me_out_flattens_holds_until_the_reset_and_survives_a_restart(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "state.db")
    engine, clock, port = make_engine(config(RULES), store=store)
    engine.handle(position(MNQ, 2, 20000.0))
    app, _ = make_app(engine, clock)
    try:
        app.request_lock_out()
        window = app.self_lock_window
        assert window is not None and window.isVisible()
        assert "PRAC-1" in window.text.text() and "Nobody can undo it" in window.text.text()
        assert window.confirm_button.text() == "Lock me out until Wed 17:00 CDT"
        window.confirm_button.click()
        engine.flush()
        lock = engine.lockouts.get(ACCOUNT, SELF_LOCK)
        assert lock is not None and lock.kind is LockKind.HARD
        assert lock.until == engine.calendar.next_reset(clock.now())
        assert any(isinstance(c, Flatten) and c.rule_id == SELF_LOCK for c in port.commands)
        app.refresh()
        assert app.tray.state is TrayState.LOCKED
        assert "you locked yourself out" in app.tray.tooltip()
        # Asking again changes nothing: a lock is never shortened, and there is no undo.
        assert lock_me_out(engine, [ACCOUNT])[0].until == lock.until
    finally:
        app.close()
        store.close()

    # Restart on the same file: the lock is read back and enforced like any hard lock.
    store2 = open_store(tmp_path / "state.db")
    engine2, clock2, port2 = make_engine(config(RULES), store=store2, clock=clock)
    try:
        engine2.restore()
        assert engine2.lockouts.hard_lock(ACCOUNT, clock2.now()) is not None
        engine2.handle(position(MNQ, 3, 20010.0))  # added to while locked
        assert any(isinstance(c, CloseContract) and c.rule_id == SELF_LOCK for c in port2.commands)
        clock2.set(lock.until)
        engine2.tick()
        assert engine2.lockouts.hard_lock(ACCOUNT, clock2.now()) is None  # ends at the reset
    finally:
        store2.close()


def test_a_lock_restored_at_start_is_announced_once(qtbot: QtBot, tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    engine, clock, _ = make_engine(config(RULES), store=store)
    engine.handle(trade("-600", fees="0", at=clock.now()))
    engine.flush()
    store.close()
    clock.advance(60)
    store2 = open_store(tmp_path / "state.db")
    engine2, _, _ = make_engine(config(RULES), store=store2, clock=clock)
    try:
        engine2.restore()
        app, _ = make_app(engine2, clock)
        try:
            app.refresh()
            app.refresh()
            restored = [s for s in app.notifier.history if s.kind == "restored"]
            assert len(restored) == 1
            assert restored[0].title == "Locks still in force after the restart"
            assert "PRAC-1: Locked until 17:00 CDT (daily loss)" in restored[0].body
        finally:
            app.close()
    finally:
        store2.close()


# --- a desktop without a tray -----------------------------------------------------------------


def test_without_a_tray_the_dashboard_carries_every_action_and_only_minimises(
    parts: Any, qtbot: QtBot
) -> None:
    app, _, _, quit_requested = parts
    dashboard = app.dashboard
    assert not app.tray.available  # offscreen: no tray, so the dashboard opened by itself
    assert dashboard.isVisible()
    texts = [a.text() for a in dashboard.actions_bar.actions() if a.text()]
    assert texts == ["Settings", "History", "Lock me out now…", "What if…", "About", "Quit"]
    dashboard.close()
    assert dashboard.isMinimized() or dashboard.isVisible()  # never hidden with no tray
    assert not dashboard.isHidden()
    dashboard.lock_out_action.trigger()
    assert app.self_lock_window is not None and app.self_lock_window.isVisible()
    dashboard.about_action.trigger()
    about = app._about  # noqa: SLF001
    assert about is not None and about.isVisible() and not about.isModal()
    assert "Risk Manager 0." in about.text()
    dashboard.history_action.trigger()
    assert app.history_window is not None and app.history_window.isVisible()
    dashboard.quit_action.trigger()
    assert quit_requested.is_set()
