"""The config in force is kept with the state, and the config file is only a request.

Every attack goes through the door the trader has: the TOML file edited while the app is
stopped, another file passed with --config, the admin password file deleted, the data folder
pointed somewhere empty, the state file deleted, the autostart entry removed. Each "start" here
is what the app does at start: open the vault through the anchor (real SQLite file, real anchor
file), then take the file as a request.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.app.admin_password import FILE_NAME as PASSWORD_FILE
from core.app.admin_password import AdminPassword
from core.app.anchor import Anchor
from core.app.autostart import XdgAutostart
from core.app.config_manager import ConfigManager, ProposalStatus, open_config_manager
from core.config.io import load_config, save_config
from core.config.models import AppConfig
from core.domain.clock import ManualClock
from core.domain.trading_day import TradingCalendar
from tests.builders import T0, config

RESET = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # 17:00 CDT ends T0's trading day (Wed)
CALENDAR = TradingCalendar(datetime(2026, 1, 1, 17, 0).time(), "America/Chicago")
LOSS = "rules.daily_realized_loss.limit"


def with_values(cfg: AppConfig, **values: Any) -> AppConfig:
    data = cfg.model_dump(mode="json")
    for key, value in values.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return AppConfig.model_validate(data)


class App:
    """The app's start-up, as far as the config goes, in a folder of its own."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.path = tmp / "config" / "config.toml"
        self.anchor = Anchor(tmp / "user-data" / "anchor.json")
        self.autostart = XdgAutostart(tmp / "autostart")
        self.clock = ManualClock(T0)
        self.running: list[ConfigManager] = []

    def first_config(self, **values: Any) -> AppConfig:
        cfg = config(
            {"daily_realized_loss": {"limit": 500}, "max_contracts": {"limit": 5},
             "symbol_blocks": {"symbols": ["CL"]}},
            general={"data_dir": str(self.tmp / "data"), "accounts": [1, 2]},
            gateway={"username": "trader@example.com"},
        )
        return with_values(cfg, **values)

    def edit(self, cfg: AppConfig, path: Path | None = None) -> None:
        """The trader writes the file (the app is stopped)."""
        save_config(cfg, path or self.path)

    def start(self, path: Path | None = None) -> ConfigManager:
        path = path or self.path
        manager = open_config_manager(path, load_config(path), clock=self.clock, anchor=self.anchor,
                                      autostart_backend=self.autostart)
        manager.take_request()
        self.running.append(manager)
        return manager

    def stop(self, manager: ConfigManager) -> None:
        assert manager.vault is not None
        manager.vault.close()
        self.running.remove(manager)

    def restart(self, manager: ConfigManager, path: Path | None = None) -> ConfigManager:
        self.stop(manager)
        return self.start(path)

    def close(self) -> None:
        for manager in list(self.running):
            self.stop(manager)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    a = App(tmp_path)
    yield a
    a.close()


def first_start(app: App, **values: Any) -> ConfigManager:
    app.edit(app.first_config(**values))
    return app.start()


# --- the file is a request -----------------------------------------------------------------------


def test_the_first_start_puts_the_file_in_force(app: App) -> None:
    mgr = first_start(app)
    assert mgr.config == load_config(app.path) and mgr.pending is None
    assert mgr.vault is not None and mgr.vault.first_run
    kept = mgr.vault.state.get("config.in_force")
    assert kept["trading_day"] == "2026-08-19" and kept["since"] == T0.isoformat()
    assert (app.tmp / "data" / "state.db").exists() and app.anchor.path.exists()


def test_raising_the_loss_limit_in_the_file_while_stopped_waits_for_the_reset(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    mgr = first_start(app)
    app.edit(with_values(mgr.config, **{LOSS: 5000}))
    caplog.set_level(logging.WARNING, logger="core.app.config_manager")
    mgr = app.restart(mgr)
    assert mgr.config.rules.daily_realized_loss.limit == 500  # still in force
    assert mgr.pending is not None and mgr.pending.rules.daily_realized_loss.limit == 5000
    assert mgr.pending_applies_at == RESET and not mgr.pending_needs_password
    assert any("rules.daily_realized_loss.limit: 500.0 → 5000.0 (loosens): waits for the next "
               "reset (Wed 2026-08-19 17:00 CDT)" in r.getMessage() for r in caplog.records)
    assert mgr.apply_pending_if_due(RESET - timedelta(seconds=1), CALENDAR) is None
    applied = mgr.apply_pending_if_due(RESET, CALENDAR)
    assert applied is not None and mgr.config.rules.daily_realized_loss.limit == 5000


def test_a_restart_with_the_same_edit_keeps_its_place_in_the_queue(app: App) -> None:
    mgr = first_start(app)
    app.edit(with_values(mgr.config, **{LOSS: 5000}))
    mgr = app.restart(mgr)
    app.clock.set(RESET - timedelta(minutes=1))
    mgr = app.restart(mgr)  # just before the reset: the wait is not pushed to the next one
    assert mgr.pending_applies_at == RESET
    assert mgr.apply_pending_if_due(RESET, CALENDAR) is not None


def test_a_tightening_in_the_file_applies_at_once_and_a_loosening_beside_it_waits(app: App) -> None:
    mgr = first_start(app)
    app.edit(with_values(mgr.config, **{LOSS: 200, "rules.max_contracts.limit": 9}))
    mgr = app.restart(mgr)
    assert mgr.config.rules.daily_realized_loss.limit == 200
    assert mgr.config.rules.max_contracts.limit == 5
    assert mgr.pending is not None and mgr.pending.rules.max_contracts.limit == 9


@pytest.mark.parametrize("values", [
    {"general.accounts": [2]},  # the locked account left out
    {"general.reset_time": "09:00"},  # a new trading day now
    {"general.timezone": "Asia/Tokyo"},
    {"rules.symbol_blocks.symbols": []},  # unblocking a symbol
    {"gateway.api_url": "https://elsewhere.example"},
    {"gateway.user_hub_url": "https://elsewhere.example/hubs/user"},
    {"gateway.username": "someone-else@example.com"},
    {"rules.daily_realized_loss.enabled": False},
])
def test_every_loosening_by_file_waits(app: App, values: dict[str, Any]) -> None:
    mgr = first_start(app)
    before = mgr.config
    app.edit(with_values(before, **values))
    mgr = app.restart(mgr)
    assert mgr.config == before
    assert mgr.pending == with_values(before, **values)


def test_another_config_file_is_a_request_like_any_edit(app: App) -> None:
    mgr = first_start(app)
    other = app.tmp / "elsewhere" / "loose.toml"
    app.edit(with_values(mgr.config, **{LOSS: 9999, "general.accounts": []}), other)
    app.stop(mgr)
    mgr = app.start(other)
    assert mgr.config.rules.daily_realized_loss.limit == 500
    # Every account instead of two tightens: that part is in force now.
    assert mgr.config.general.accounts == []
    assert mgr.pending is not None and mgr.pending.rules.daily_realized_loss.limit == 9999


def test_setting_the_file_back_withdraws_the_waiting_change(app: App) -> None:
    mgr = first_start(app)
    first = mgr.config
    app.edit(with_values(first, **{LOSS: 5000}))
    mgr = app.restart(mgr)
    assert mgr.pending is not None
    app.edit(first)
    mgr = app.restart(mgr)
    assert mgr.pending is None and mgr.config == first
    assert mgr.apply_pending_if_due(RESET + timedelta(days=1), CALENDAR) is None


def test_the_settings_window_writes_the_wish_so_a_restart_keeps_it_waiting(app: App) -> None:
    mgr = first_start(app)
    result = mgr.propose(with_values(mgr.config, **{LOSS: 800}))
    assert result.status is ProposalStatus.DEFERRED
    assert load_config(app.path).rules.daily_realized_loss.limit == 800  # the file: the wish
    mgr = app.restart(mgr)
    assert mgr.config.rules.daily_realized_loss.limit == 500
    assert mgr.pending is not None and mgr.pending_applies_at == RESET
    mgr.cancel_pending()  # "Discard waiting changes"
    mgr = app.restart(mgr)
    assert mgr.pending is None and load_config(app.path) == mgr.config


# --- the data folder ------------------------------------------------------------------------------


def locks_in(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("SELECT rule_id FROM lockouts")]
    finally:
        conn.close()


def add_lock(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("INSERT INTO lockouts VALUES (1, 'RULE-003', 'hard', 'daily loss', "
                     "'2026-08-19T15:00:00+00:00', '2026-08-19T22:00:00+00:00', '{}', 'x')")
        conn.commit()
    finally:
        conn.close()


def test_a_data_dir_pointed_at_an_empty_folder_does_not_start_clean(app: App) -> None:
    mgr = first_start(app)
    add_lock(app.tmp / "data" / "state.db")
    empty = app.tmp / "empty"
    empty.mkdir()
    app.edit(with_values(mgr.config, **{"general.data_dir": str(empty), LOSS: 5000}))
    mgr = app.restart(mgr)
    assert mgr.vault is not None and mgr.vault.data_dir == app.tmp / "data"  # through the anchor
    assert mgr.config.rules.daily_realized_loss.limit == 500
    assert not (empty / "state.db").exists()
    # At the reset the new folder comes into force; the state moves there at the next start.
    assert mgr.apply_pending_if_due(RESET, CALENDAR) is not None
    mgr = app.restart(mgr)
    assert mgr.vault is not None and mgr.vault.data_dir == empty
    assert locks_in(empty / "state.db") == ["RULE-003"]
    assert mgr.config.rules.daily_realized_loss.limit == 5000 and mgr.vault.lost() is None


def test_deleting_the_anchor_too_still_finds_the_state_in_the_apps_own_folder(app: App) -> None:
    own = app.anchor.path.parent  # stands for the platform's user data folder
    mgr = first_start(app, **{"general.data_dir": str(own)})
    app.stop(mgr)
    app.anchor.path.unlink()
    empty = app.tmp / "empty"
    app.edit(with_values(mgr.config, **{"general.data_dir": str(empty), LOSS: 5000}))
    mgr = app.start()
    assert mgr.vault is not None and mgr.vault.data_dir == own
    assert mgr.config.rules.daily_realized_loss.limit == 500
    assert mgr.pending is not None and mgr.pending.general.data_dir == str(empty)


def test_a_deleted_state_file_keeps_the_config_in_force_from_the_anchor(app: App) -> None:
    mgr = first_start(app)
    app.edit(with_values(mgr.config, **{LOSS: 5000}))
    app.stop(mgr)
    for name in os.listdir(app.tmp / "data"):
        (app.tmp / "data" / name).unlink()
    mgr = app.start()
    assert mgr.config.rules.daily_realized_loss.limit == 500
    assert mgr.pending is not None  # the edit still only waits
    assert mgr.vault is not None
    lost = mgr.vault.lost()
    assert lost is not None and lost.why == "missing"


def test_a_damaged_state_file_is_kept_aside_and_the_config_in_force_survives(app: App) -> None:
    mgr = first_start(app, **{LOSS: 300})
    app.stop(mgr)
    db = app.tmp / "data" / "state.db"
    db.write_bytes(b"this is not a database" * 400)
    mgr = app.start()
    assert mgr.config.rules.daily_realized_loss.limit == 300
    assert mgr.vault is not None
    lost = mgr.vault.lost()
    assert lost is not None and lost.why == "damaged" and lost.kept_as is not None
    assert Path(lost.kept_as).read_bytes().startswith(b"this is not a database")


def test_the_state_folder_and_files_are_the_users_only(app: App) -> None:
    umask = os.umask(0o022)  # the usual: 0755 folders and 0644 files unless the app says otherwise
    mgr = first_start(app)
    assert mgr.vault is not None
    held = mgr.vault.db.engine.connect()  # a connection held open keeps the -wal file
    try:
        mgr.vault.state.put("probe", 1)
        for folder in (app.tmp / "data", app.anchor.path.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for file in (app.tmp / "data" / "state.db", app.tmp / "data" / "state.db-wal",
                     app.anchor.path):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        held.close()
        os.umask(umask)


def test_an_existing_state_file_readable_by_others_is_narrowed(app: App) -> None:
    mgr = first_start(app)
    app.stop(mgr)
    db = app.tmp / "data" / "state.db"
    db.chmod(0o644)
    app.anchor.path.parent.chmod(0o755)  # the app's own folder, as an older version left it
    mgr = app.start()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(app.anchor.path.parent.stat().st_mode) == 0o700


# --- the admin password ----------------------------------------------------------------------------


def test_deleting_the_password_file_removes_nothing(app: App) -> None:
    AdminPassword.beside(app.path).set("s3cret")  # as an earlier version kept it
    mgr = first_start(app)
    assert not (app.path.parent / PASSWORD_FILE).exists()  # taken over by the vault
    assert mgr.admin.is_set() and mgr.admin.verify("s3cret")
    (app.path.parent / PASSWORD_FILE).unlink(missing_ok=True)
    mgr = app.restart(mgr)
    assert mgr.admin.is_set() and mgr.admin.verify("s3cret")
    loose = with_values(mgr.config, **{LOSS: 900})
    assert mgr.propose(loose).status is ProposalStatus.PASSWORD_REQUIRED


def test_a_new_password_file_does_not_replace_the_one_in_force(app: App) -> None:
    mgr = first_start(app)
    mgr.admin.set("s3cret")
    app.stop(mgr)
    AdminPassword.beside(app.path).set("mine-now")
    mgr = app.start()
    assert mgr.admin.verify("s3cret") and not mgr.admin.verify("mine-now")


def test_with_a_password_a_file_loosening_waits_for_it_and_never_applies_alone(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    mgr = first_start(app)
    mgr.admin.set("s3cret")
    app.edit(with_values(mgr.config, **{LOSS: 5000, "rules.max_contracts.limit": 2}))
    caplog.set_level(logging.WARNING, logger="core.app.config_manager")
    mgr = app.restart(mgr)
    assert mgr.config.rules.max_contracts.limit == 2  # the tightening: in force now
    assert mgr.config.rules.daily_realized_loss.limit == 500
    assert mgr.pending_needs_password and mgr.editable().rules.daily_realized_loss.limit == 5000
    assert mgr.pending_applies_at is None  # no reset brings it in by itself
    assert any("confirmed with the password in Settings" in r.getMessage() for r in caplog.records)
    for day in range(3):  # reset after reset: it does not come into force by itself
        assert mgr.apply_pending_if_due(RESET + timedelta(days=day), CALENDAR) is None
    mgr = app.restart(mgr)
    assert mgr.pending_needs_password
    # Confirmed in the settings window: then it waits for the next reset like any loosening.
    app.clock.set(RESET + timedelta(days=2, hours=1))
    assert mgr.propose(mgr.editable()).status is ProposalStatus.PASSWORD_REQUIRED
    result = mgr.propose(mgr.editable(), "s3cret")
    assert result.status is ProposalStatus.DEFERRED and not mgr.pending_needs_password
    assert result.applies_at == RESET + timedelta(days=3)
    assert mgr.apply_pending_if_due(RESET + timedelta(days=3), CALENDAR) is not None
    assert mgr.config.rules.daily_realized_loss.limit == 5000


def test_removing_the_password_waits_for_the_reset(app: App) -> None:
    mgr = first_start(app)
    mgr.admin.set("s3cret")
    assert mgr.admin.clear("s3cret") == RESET
    assert mgr.admin.is_set() and mgr.admin.removal_pending_at == RESET
    mgr = app.restart(mgr)
    assert mgr.admin.is_set() and mgr.admin.verify("s3cret")
    mgr.apply_pending_if_due(RESET - timedelta(seconds=1), CALENDAR)
    assert mgr.admin.is_set()
    mgr.apply_pending_if_due(RESET, CALENDAR)
    assert not mgr.admin.is_set()
    mgr = app.restart(mgr)
    assert not mgr.admin.is_set()


def test_a_new_password_set_before_the_reset_withdraws_the_removal(app: App) -> None:
    mgr = first_start(app)
    mgr.admin.set("s3cret")
    mgr.admin.clear("s3cret")
    mgr.admin.set("n3w", "s3cret")
    mgr.apply_pending_if_due(RESET, CALENDAR)
    assert mgr.admin.verify("n3w")


# --- starting with the computer ----------------------------------------------------------------------


def test_turning_autostart_off_waits_for_the_reset(app: App) -> None:
    mgr = first_start(app)
    assert mgr.autostart is not None
    mgr.autostart.enable(["riskmanager"])
    mgr.autostart.disable()
    assert app.autostart.is_enabled() and mgr.autostart.off_pending_at == RESET
    mgr.apply_pending_if_due(RESET - timedelta(seconds=1), CALENDAR)
    assert app.autostart.is_enabled()
    mgr.apply_pending_if_due(RESET, CALENDAR)
    assert not app.autostart.is_enabled()
    mgr.autostart.disable()  # off already: nothing waits
    assert mgr.autostart.off_pending_at is None


def test_an_autostart_entry_removed_while_stopped_is_back_until_the_reset(app: App) -> None:
    mgr = first_start(app)
    app.autostart.enable(["riskmanager"])  # the installer's "start at login"
    mgr = app.restart(mgr)  # seen on: now in force
    app.stop(mgr)
    app.autostart.disable()  # the trader deletes the entry while the app is stopped
    mgr = app.start()
    assert app.autostart.is_enabled()
    assert mgr.autostart is not None and mgr.autostart.off_pending_at == RESET
    mgr.apply_pending_if_due(RESET, CALENDAR)
    assert not app.autostart.is_enabled()
