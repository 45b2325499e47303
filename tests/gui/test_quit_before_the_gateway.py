"""Quitting while the gateway has not answered since the start (autostart before the network is
up, the gateway down): the locks and positions read back from the state file are at stake all
the same, so Quit asks as it does once connected; with nothing known at all it just quits.

The tray app as the trader runs it (real service, real SQLite state file, real widgets): a first
run against the simulated gateway leaves a lock or a position in the state file, then the
gateway goes away (its port closed) and the second run starts without it.
"""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from core.sim.server import SimulatedGateway
from gui.quit_gate import CONFIRM, TYPED
from gui.runner import TrayRun
from tests.gui.tray_support import Folders, Tray, demo_login, folders, restore_logging, sim
from tests.integration.support import ACCT, BUY, MNQ, Trader, until

__all__ = ["demo_login", "folders", "restore_logging", "sim"]  # fixtures

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_login", "restore_logging")]


async def start_unreached(folders: Folders) -> Tray:
    """The tray app started with the gateway gone: the state is read back, the gateway never
    answers (the service keeps trying)."""
    tray = await Tray.start(folders)
    await until(lambda: getattr(tray.run.service, "engine", None) is not None,
                "the state file to be read back")
    return tray


async def leave_a_saved_lock(sim: SimulatedGateway, folders: Folders) -> None:
    """A first run loses $600 against a $500 daily limit and quits; then the gateway goes down
    (its port closed), so the next start finds the lock in the state file alone."""
    folders.write({"daily_realized_loss": {"limit": 500}})
    trader = Trader(sim)
    first = await Tray.start(folders)
    try:
        await first.protected(ACCT)
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))  # -$600
        await until(lambda: first.run.service.engine.lockouts.get(ACCT, "RULE-003"), "the lock")
        assert await first.quit() == 0
    finally:
        await first.stop()
    await sim.stop()


async def test_a_lock_read_back_before_the_gateway_answers_still_needs_the_wait_to_quit(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    await leave_a_saved_lock(sim, folders)  # the gateway is down when the app starts again

    second = await start_unreached(folders)
    try:
        run = second.run
        assert run.service.engine.lockouts.get(ACCT, "RULE-003") is not None
        assert run.service.status == {}  # the gateway has not answered
        second.render()
        assert run.ui.dashboard.state_text == "Connecting: not protected yet"
        run.ui.request_quit()
        gate = run.ui.quit_gate
        assert gate is not None and gate.isVisible()
        assert not second.quit_requested.is_set()
        # No admin password set: the typed words, after the 30-second wait.
        assert gate.mode == TYPED and not gate.quit_button.isEnabled()
        text = gate.risks_label.text()
        assert str(ACCT) in text and "Locked until" in text and "daily loss" in text
        assert "nothing would stop new trades" in text
        gate.cancel_button.click()
        assert not second.quit_requested.is_set()
        assert run.service.engine.lockouts.get(ACCT, "RULE-003") is not None
    finally:
        await second.stop()


async def test_a_position_read_back_before_the_gateway_answers_is_named_before_quitting(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    folders.write({"max_contracts": {"limit": 5}})
    trader = Trader(sim)
    first = await Tray.start(folders)
    try:
        await first.protected(ACCT)
        trader.market(MNQ, BUY, 2)
        mirror = first.run.service.engine.mirror
        await until(lambda: MNQ in mirror.account(ACCT).positions, "the app to see the position")
        assert await first.quit() == 0
    finally:
        await first.stop()
    await sim.stop()

    second = await start_unreached(folders)
    try:
        run = second.run
        assert run.service.status == {}
        run.ui.request_quit()
        gate = run.ui.quit_gate
        assert gate is not None and gate.isVisible() and not second.quit_requested.is_set()
        assert gate.mode == CONFIRM  # not locked: one question, no wait
        assert "long 2 open: its limits would no longer be watched" in gate.risks_label.text()
        gate.quit_button.click()
        assert second.quit_requested.is_set()
        assert await second.quit() == 0
    finally:
        await second.stop()


async def test_with_nothing_known_yet_quit_needs_no_question(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    folders.write({"daily_realized_loss": {"limit": 500}})
    await sim.stop()  # never reached, and no state file before this start
    tray = await start_unreached(folders)
    try:
        tray.run.ui.request_quit()
        assert tray.quit_requested.is_set() and tray.run.ui.quit_gate is None
        assert await tray.quit() == 0
    finally:
        await tray.stop()


async def test_quit_before_the_saved_state_is_read_waits_for_it_and_asks_for_the_lock(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    await leave_a_saved_lock(sim, folders)

    asked_before_the_state: list[bool] = []

    def quit_at_once(run: TrayRun) -> None:  # Quit clicked before the service has started
        asked_before_the_state.append(getattr(run.service, "engine", None) is None)
        run.ui.request_quit()

    second = await Tray.start(folders, on_running=quit_at_once)
    try:
        assert asked_before_the_state == [True]
        await until(lambda: second.run.ui.quit_gate is not None, "the quit question")
        gate = second.run.ui.quit_gate
        assert gate is not None and gate.isVisible() and gate.mode == TYPED
        assert not second.quit_requested.is_set()  # the saved lock was not given up unasked
    finally:
        await second.stop()
