"""The tray app keeps the protection in force, as headless does
(tests/integration/test_headless_state.py, tests/test_config_in_force.py): the config file is a
request, so a file loosened while the app is stopped keeps the old limit (and the lock) in force
and shows the waiting value beside it; with an admin password set the file's loosening waits for
the password in Settings; the quit gate asks for the password in force; the demo never touches
the user's own state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app.config_manager import ProposalStatus
from core.app.protection import Protection, account_state
from core.config.io import load_config
from core.sim.server import SimulatedGateway
from gui.icons import TrayState
from gui.quit_gate import PASSWORD
from tests.gui.tray_support import Folders, Tray, demo_login, folders, restore_logging, sim
from tests.integration.support import ACCT, BUY, MES, MNQ, Trader, lock_rows, until

__all__ = ["demo_login", "folders", "restore_logging", "sim"]  # fixtures

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_login", "restore_logging")]


async def test_a_file_loosened_while_stopped_keeps_the_lock_and_the_old_limit_and_shows_the_waiting_one(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    folders.write({"daily_realized_loss": {"limit": 500}})
    trader = Trader(sim)
    first = await Tray.start(folders)
    try:
        await first.protected(ACCT)
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))  # -$600
        await until(lambda: first.run.service.engine.lockouts.get(ACCT, "RULE-003"), "the lock")
        first.render()
        assert first.run.ui.tray.state is TrayState.LOCKED
        assert await first.quit() == 0
    finally:
        await first.stop()

    # In a bad moment: a far higher limit, the locked account left out, the day moved, a new
    # (empty) data folder. Each loosens; none may apply before the next reset.
    empty = folders.tmp / "empty"
    empty.mkdir()
    text = folders.config.read_text()
    text = text.replace("limit = 500", "limit = 50000")
    text = text.replace(f"accounts = [{ACCT}]", "accounts = [99999999]")
    text = text.replace(json.dumps(str(folders.data)), json.dumps(str(empty)))
    text = text.replace("[general]", '[general]\nreset_time = "09:00"')
    folders.config.write_text(text)

    second = await Tray.start(folders)
    try:
        await second.protected(ACCT)
        run = second.run
        manager = run.manager
        assert manager.config.rules.daily_realized_loss.limit == 500
        assert manager.config.general.accounts == [ACCT]
        assert run.service.data_dir == folders.data
        assert manager.pending is not None
        assert manager.pending.rules.daily_realized_loss.limit == 50000
        assert run.service.engine.lockouts.get(ACCT, "RULE-003") is not None  # restored
        second.render()
        # Shown as the trader sees it: still locked, the value in force on the bar, the
        # waiting one beside it and in the list of loosened settings.
        assert run.ui.tray.state is TrayState.LOCKED
        panel = run.ui.dashboard.panel(ACCT)
        _, _, bar_text, waiting = panel.limit_rows["RULE-003"]
        assert "-$500.00" in bar_text.text()
        assert waiting.text().startswith("waiting: -$50,000.00 from ")
        listed = panel.waiting_label.text()
        assert "Loosened, not in force yet:" in listed
        assert "Daily loss limit: Loss limit ($) -$500.00 → -$50,000.00 from " in listed
        for key in ("general.accounts", "general.data_dir", "general.reset_time"):
            assert key in listed
        # The settings window starts from the waiting values and says they wait.
        window = run.open_settings()
        qtbot.addWidget(window)
        assert "Waiting for the next reset" in window.pending_label.text()
        window.hide()
        # The lock still holds the account the file left out.
        trader.market(MES, BUY, 1)
        await until(lambda: trader.net(MES) == 0, "the position opened under the lock to be closed")
        assert await second.quit() == 0
    finally:
        await second.stop()
    assert not (empty / "state.db").exists()
    assert [r["rule_id"] for r in lock_rows(folders.data / "state.db")] == ["RULE-003"]


async def test_with_a_password_the_files_loosening_waits_for_it_and_the_quit_gate_asks_for_it(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    folders.write({"daily_realized_loss": {"limit": 500}})
    trader = Trader(sim)
    first = await Tray.start(folders)
    try:
        await first.protected(ACCT)
        window = first.run.open_settings()
        qtbot.addWidget(window)
        admin = window.admin_page
        admin.new_edit.setText("calm-me")
        admin.repeat_edit.setText("calm-me")
        admin.set_button.click()
        assert "Password saved" in admin.done_label.text()
        window.hide()
        assert await first.quit() == 0
    finally:
        await first.stop()
    assert not (folders.tmp / "admin_password.json").exists()  # kept with the state in force

    folders.config.write_text(folders.config.read_text().replace("limit = 500", "limit = 5000"))
    second = await Tray.start(folders)
    try:
        await second.protected(ACCT)
        run = second.run
        manager = run.manager
        assert manager.config.rules.daily_realized_loss.limit == 500
        assert manager.pending_needs_password and manager.pending_applies_at is None
        second.render()
        panel = run.ui.dashboard.panel(ACCT)
        assert "waiting for the admin password in Settings" in panel.waiting_label.text()
        _, _, _, waiting = panel.limit_rows["RULE-003"]
        assert waiting.text() == ("waiting: -$5,000.00 waiting for the admin password in "
                                  "Settings, then a reset")

        window = run.open_settings()
        qtbot.addWidget(window)
        assert "waiting for the admin password" in window.pending_label.text()
        assert not window.password_row.isHidden() and window.apply_button.isEnabled()
        window.password_edit.setText("wrong")
        window.confirm_password()
        assert "Wrong admin password" in window.password_error.text()
        assert manager.pending_needs_password
        window.password_edit.setText("calm-me")
        window.confirm_password()
        assert not manager.pending_needs_password
        assert manager.pending_applies_at is not None  # now it waits for the reset only
        assert manager.config.rules.daily_realized_loss.limit == 500
        assert "Waiting for the next reset" in window.pending_label.text()
        window.hide()

        # Hard-locked: quitting needs the password kept with the state in force.
        await trader.round_trip_loss(300, lambda: trader.quotes_subscribed(MNQ))
        await until(lambda: run.service.engine.lockouts.get(ACCT, "RULE-003"), "the lock")
        run.ui.request_quit()
        gate = run.ui.quit_gate
        assert gate is not None and gate.mode == PASSWORD
        qtbot.addWidget(gate)
        gate.field.setText("calm-me")
        gate.try_quit()
        await until(lambda: second.task.done(), "the tray app to quit")
        assert second.task.result() == 0
    finally:
        await second.stop()


async def test_a_state_file_rebuilt_shows_not_protected_until_the_history_is_read(
    qtbot: QtBot, sim: SimulatedGateway, folders: Folders
) -> None:
    folders.write({"daily_realized_loss": {"limit": 500}})
    first = await Tray.start(folders)
    try:
        await first.protected(ACCT)
        assert await first.quit() == 0
    finally:
        await first.stop()
    for leftover in folders.data.glob("state.db*"):
        leftover.unlink()  # deleted while the app was stopped: the anchor knows it was there

    second = await Tray.start(folders)
    try:
        run = second.run
        await until(lambda: "State file rebuilt from the trade history"
                    in [shown.title for shown in run.ui.notifier.history], "the rebuild's popup")
        await second.protected(ACCT)
        await until(lambda: "State file rebuilt: protected again"
                    in [shown.title for shown in run.ui.notifier.history], "the all-clear")
        second.render()
        assert account_state(run.ui.snapshots()[0]) is Protection.PROTECTED
        assert run.manager.config.rules.daily_realized_loss.limit == 500  # from the anchor
        assert await second.quit() == 0
    finally:
        await second.stop()


async def test_the_demo_keeps_its_state_config_and_anchor_in_its_own_folder(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gui.runner import TrayOptions, TrayRun, run_gui

    user_data = tmp_path / "user-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(user_data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    runs: list[TrayRun] = []
    import asyncio

    quit_requested = asyncio.Event()
    task = asyncio.ensure_future(run_gui(
        load_config(Path(__file__).resolve().parents[2] / "resources" / "default_config.toml"),
        None, demo=True, quit_requested=quit_requested,
        options=TrayOptions(instance_name=f"RiskManager-test-demo-{id(runs)}",
                            on_running=runs.append)))
    try:
        await until(lambda: runs or task.done(), "the demo to be wired", timeout=20.0)
        run = runs[0]
        folder = run.service.data_dir
        assert folder.name.startswith("riskmanager-demo-")
        assert run.manager.path == folder / "config.toml"
        assert run.manager.vault is not None and run.manager.vault.anchor.path == folder / "anchor.json"
        await until(lambda: "protected" in run.service.status.values(), "a demo account protected",
                    timeout=20.0)
        assert (folder / "state.db").exists() and (folder / "anchor.json").exists()
        quit_requested.set()
        assert await asyncio.wait_for(task, 30.0) == 0
    finally:
        quit_requested.set()
        if not task.done():
            await asyncio.wait_for(task, 30.0)
    assert not user_data.exists()  # the user's own anchor and state were never touched


async def test_the_settings_pages_say_a_removal_and_a_switch_off_wait_for_the_reset(
    qtbot: QtBot, folders: Folders
) -> None:
    folders.write({"daily_realized_loss": {"limit": 500}})
    tray = await Tray.start(folders)
    try:
        await tray.protected(ACCT)
        window = tray.run.open_settings()
        qtbot.addWidget(window)
        admin = window.admin_page
        admin.new_edit.setText("calm-me")
        admin.repeat_edit.setText("calm-me")
        admin.set_button.click()
        admin.current_edit.setText("calm-me")
        admin.remove_button.click()
        manager = tray.run.manager
        # Removing loosens: still in force, and still asked for, until the reset.
        assert manager.admin.is_set() and manager.admin.removal_pending_at is not None
        assert admin.done_label.text().startswith("Password removed at the next reset (")
        assert "until then it is still asked for" in admin.done_label.text()
        assert "removed at the next reset" in admin.state_label.text()
        result = manager.propose(manager.config.model_copy(update={
            "rules": manager.config.rules.model_copy(update={
                "daily_realized_loss": manager.config.rules.daily_realized_loss.model_copy(
                    update={"limit": 900})})}))
        assert result.status is ProposalStatus.PASSWORD_REQUIRED

        # Start with the computer: on at once, off only at the reset (the box stays ticked).
        box = window.autostart
        box.checkbox.setChecked(True)
        assert folders.autostart.is_enabled()
        box.checkbox.setChecked(False)
        assert folders.autostart.is_enabled() and not box.checkbox.isChecked()
        assert box.pending_label.text().startswith(
            "Switched off, but it still starts with the computer until the next reset (")
        window.hide()
        window.show()  # reopened: read back from the entry and the guard, the same
        assert not box.checkbox.isChecked() and not box.pending_label.isHidden()
        box.checkbox.setChecked(True)  # ticked again: kept, nothing waits any more
        assert folders.autostart.is_enabled() and box.pending_label.isHidden()
        window.hide()
        assert await tray.quit() == 0
    finally:
        await tray.stop()
