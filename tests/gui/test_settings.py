"""Settings window: rendered from the models, validated inline, applied through ConfigManager."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTime
from pytestqt.qtbot import QtBot

from core.app.admin_password import AdminPassword
from core.app.config_manager import ConfigManager
from core.config import AppConfig, load_config
from core.config.io import parse_config
from core.config.models import GatewayConfig, GeneralConfig
from core.config.rules import RulesConfig
from core.domain.clock import ManualClock
from gui.settings import WARNING_MARK, SettingsWindow
from gui.settings_fields import (
    CheckEditor,
    ChoiceEditor,
    FieldEditor,
    ListEditor,
    NumberEditor,
    TextEditor,
    TimeEditor,
    humanize,
)
from gui.table_editor import TableEditor
from tests.builders import T0, config, default_config

LOSS = "rules.daily_realized_loss.limit"
# T0 is Wed 10:00 CDT; the trading day ends at 17:00 CDT the same day.
LOOSEN_TEXT = (
    "Daily loss limit › Loss limit ($) 500 → 800 loosens an active rule: "
    "it applies at the next reset, Wed 17:00 CDT"
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def open_window(qtbot: QtBot, path: Path, cfg: AppConfig | None = None,
                password: str | None = None) -> tuple[SettingsWindow, ConfigManager]:
    if password is not None:
        AdminPassword.beside(path).set(password)
    manager = ConfigManager(path, clock=ManualClock(T0), config=cfg or default_config())
    window = SettingsWindow(manager)
    qtbot.addWidget(window)
    window.show()
    return window, manager


def applied_configs(window: SettingsWindow) -> list[AppConfig]:
    seen: list[AppConfig] = []
    window.applied.connect(seen.append)
    return seen


def table(window: SettingsWindow, key: str) -> TableEditor:
    editor = window.editors[key]
    assert isinstance(editor, TableEditor)
    return editor


def spin(window: SettingsWindow, key: str) -> NumberEditor:
    editor = window.editors[key]
    assert isinstance(editor, NumberEditor)
    return editor


def line(window: SettingsWindow, key: str) -> TextEditor | ListEditor:
    editor = window.editors[key]
    assert isinstance(editor, TextEditor | ListEditor)
    return editor


# --- rendered from the models --------------------------------------------------------------------


def test_every_rule_general_and_gateway_has_a_page_with_every_field(
    qtbot: QtBot, path: Path
) -> None:
    window, _ = open_window(qtbot, path)
    models = {"general": GeneralConfig, "gateway": GatewayConfig} | {
        f"rules.{table}": info.annotation for table, info in RulesConfig.model_fields.items()
    }
    assert list(window.pages) == [*models, "topstep", "alerts"]
    titles = [window.page_list.item(i).text() for i in range(window.page_list.count())]
    # Rule pages are named as a trader says them, each with its on/off state in the list.
    assert titles[:3] == ["General", "Gateway", "Max contracts  —  on"]
    assert "Trading hours  —  off" in titles and "Require a stop-loss  —  off" in titles
    assert "Lost trading permission  —  on" in titles
    assert titles[-1] == "Admin password"
    for page_key, model in models.items():
        page = window.pages[page_key]
        assert set(page.editors) == {f"{page_key}.{name}" for name in model.model_fields}
        for name, info in model.model_fields.items():
            key = f"{page_key}.{name}"
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("fractions"):  # typed as percentages, and says so
                assert page.labels[key].text() == f"{info.title} (% of the limit)"
                continue
            assert page.labels[key].text() == (info.title or humanize(name))
            if info.description:
                assert page.labels[key].toolTip() == info.description
                assert window.editors[key].help_label.text() == info.description


def test_the_editor_follows_the_field_type_and_its_bounds(qtbot: QtBot, path: Path) -> None:
    window, _ = open_window(qtbot, path)
    kinds: dict[str, type[FieldEditor]] = {
        "rules.max_contracts.enabled": CheckEditor,
        "rules.max_contracts.limit": NumberEditor,
        "rules.max_contracts.count_type": ChoiceEditor,
        "general.reset_time": TimeEditor,
        "general.timezone": TextEditor,
        "general.accounts": ListEditor,
        "rules.session_block_outside.days": ListEditor,
        "rules.cooldown_after_loss.tiers": TableEditor,
        "rules.session_block_outside.symbols": TableEditor,
        "rules.max_contracts_per_instrument.limits": TableEditor,
    }
    for key, kind in kinds.items():
        assert type(window.editors[key]) is kind, key
    assert spin(window, "rules.max_contracts.limit").spin.minimum() == 0  # ge=0
    assert spin(window, LOSS).spin.minimum() == pytest.approx(0.01)  # gt=0
    assert spin(window, "rules.trade_frequency_limit.per_minute").spin.minimum() == 1  # ge=1
    count = window.editors["rules.max_contracts.count_type"]
    assert isinstance(count, ChoiceEditor)
    assert [count.combo.itemText(i) for i in range(count.combo.count())] == ["net", "gross"]
    tiers = table(window, "rules.cooldown_after_loss.tiers")
    assert [c.title for c in tiers.columns] == ["Loss ($)", "Cooldown (s)"]
    hours = table(window, "rules.session_block_outside.symbols")
    assert [c.title for c in hours.columns] == ["Symbol", "Opens", "Closes", "Days"]
    zone = line(window, "general.timezone")
    assert zone.line.completer() is not None  # IANA names offered while typing
    # An optional number has a "(none)" step below its bound.
    default_limit = spin(window, "rules.max_contracts_per_instrument.default_limit")
    default_limit.set_value(None)
    assert default_limit.spin.text() == "(none)" and default_limit.value() is None


def test_the_window_starts_from_the_config_valid_with_nothing_to_apply(
    qtbot: QtBot, path: Path
) -> None:
    window, manager = open_window(qtbot, path)
    assert window.problems == {}
    assert window.validate() == manager.config
    assert window.ok_button.isEnabled() and not window.apply_button.isEnabled()
    assert table(window, "rules.max_contracts_per_instrument.limits").value() == {
        "MNQ": 4, "ES": 1}


# --- inline validation ---------------------------------------------------------------------------

def _negative_limit(window: SettingsWindow) -> None:
    table(window, "rules.max_contracts_per_instrument.limits").set_cell(0, 1, "-2")


def _bad_timezone(qtbot: QtBot, window: SettingsWindow) -> None:
    zone = line(window, "general.timezone")
    zone.line.clear()
    qtbot.keyClicks(zone.line, "Mars/Base")  # typed, as a trader would


def _hour_25(window: SettingsWindow) -> None:
    table(window, "rules.session_block_outside.symbols").add_row(["ES", "25:00", "15:00"])


def _negative_tier(window: SettingsWindow) -> None:
    table(window, "rules.cooldown_after_loss.tiers").set_cell(0, 0, "-100")


def _bad_weekday(window: SettingsWindow) -> None:
    line(window, "rules.session_block_outside.days").line.setText("mon, funday")


def _bad_fraction(window: SettingsWindow) -> None:
    line(window, "rules.daily_realized_loss.warn_at").line.setText("50, abc")


def _duplicate_symbol(window: SettingsWindow) -> None:
    table(window, "rules.max_contracts_per_instrument.limits").add_row(["mnq", "1"])


INVALID = [
    (_negative_limit, "rules.max_contracts_per_instrument.limits",
     ["Limits", "MNQ", "0 or more", "-2"]),
    (_bad_timezone, "general.timezone", ["Timezone", "Mars/Base", "not a known IANA timezone"]),
    (_hour_25, "rules.session_block_outside.symbols",
     ["Per-symbol hours", "ES", "Opens", "25:00", "not a time of day"]),
    (_negative_tier, "rules.cooldown_after_loss.tiers", ["Tiers", "row 1", "Loss ($)", "greater"]),
    (_bad_weekday, "rules.session_block_outside.days", ["Days", "item 2", "funday"]),
    (_bad_fraction, "rules.daily_realized_loss.warn_at", ["Warn at", "'abc'", "percentage"]),
    (_duplicate_symbol, "rules.max_contracts_per_instrument.limits", ["Limits", "listed twice"]),
]


@pytest.mark.parametrize(("break_it", "key", "words"), INVALID,
                         ids=[case[0].__name__.strip("_") for case in INVALID])
def test_an_invalid_value_is_named_beside_its_field_and_disables_ok(
    qtbot: QtBot, path: Path, break_it: object, key: str, words: list[str]
) -> None:
    window, manager = open_window(qtbot, path)
    if break_it is _bad_timezone:
        _bad_timezone(qtbot, window)
    else:
        break_it(window)  # type: ignore[operator]
    editor = window.editors[key]
    assert not editor.error_label.isHidden()
    for word in words:
        assert word in editor.error, (word, editor.error)
    assert set(window.problems) == {key}
    assert not window.ok_button.isEnabled() and not window.apply_button.isEnabled()
    assert window.candidate is None and not window.apply()
    page = key.rsplit(".", 1)[0]
    row = list(window.pages).index(page)
    assert window.page_list.item(row).text().startswith(WARNING_MARK)  # findable from any page
    assert not window.problem_label.isHidden() and editor.title in window.problem_label.text()
    assert manager.config == default_config() and not path.exists()


def test_fixing_the_value_clears_the_error_and_enables_ok(qtbot: QtBot, path: Path) -> None:
    window, _ = open_window(qtbot, path)
    zone = line(window, "general.timezone")
    zone.line.setText("Mars/Base")
    assert not window.ok_button.isEnabled()
    zone.line.setText("Europe/London")
    assert window.problems == {} and zone.error_label.isHidden()
    assert window.ok_button.isEnabled() and window.apply_button.isEnabled()
    assert window.page_list.item(0).text() == "General"


def test_equal_open_and_close_times_are_a_24_hour_window(qtbot: QtBot, path: Path) -> None:
    # SPEC 3, RULE-009: a window whose end is not after its start wraps midnight, so the same
    # time twice is a whole day ending at that time, not an error.
    window, _ = open_window(qtbot, path)
    opens = window.editors["rules.session_block_outside.start"]
    assert isinstance(opens, TimeEditor)
    opens.edit.setTime(QTime(15, 10))  # the same as the close
    page = window.pages["rules.session_block_outside"]
    assert page.error_label.isHidden() and window.problems == {}
    assert window.ok_button.isEnabled()


# --- applying: tighten now, loosen at the reset, the password -----------------------------------


def test_loosening_an_active_rule_waits_for_the_reset_and_says_when(
    qtbot: QtBot, path: Path
) -> None:
    window, manager = open_window(qtbot, path)
    seen = applied_configs(window)
    spin(window, LOSS).spin.setValue(800)
    window.apply_button.click()
    assert LOOSEN_TEXT in window.result_label.text()
    assert manager.config.rules.daily_realized_loss.limit == 500  # still in force
    assert manager.pending is not None and manager.pending.rules.daily_realized_loss.limit == 800
    # Nothing was put in force, so the config file was not written; the wait is kept beside it.
    assert not path.exists() and manager.pending_path.exists()
    # The window shows what will be, and says it is waiting.
    assert spin(window, LOSS).value() == 800
    assert not window.pending_label.isHidden() and "Wed 17:00 CDT" in window.pending_label.text()
    assert seen == [manager.config]


def test_tightening_applies_at_once(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path)
    seen = applied_configs(window)
    spin(window, LOSS).spin.setValue(300)
    window.apply_button.click()
    assert ("Daily loss limit › Loss limit ($) 500 → 300 tightens: in force now"
            in window.result_label.text())
    assert manager.config.rules.daily_realized_loss.limit == 300 and manager.pending is None
    assert load_config(path).rules.daily_realized_loss.limit == 300
    assert seen == [manager.config] and window.pending_label.isHidden()
    assert not window.apply_button.isEnabled()  # nothing left to apply


def test_a_mixed_change_applies_what_tightens_and_defers_what_loosens(
    qtbot: QtBot, path: Path
) -> None:
    window, manager = open_window(qtbot, path)
    spin(window, LOSS).spin.setValue(800)
    spin(window, "rules.max_contracts.limit").spin.setValue(2)
    window.apply_button.click()
    text = window.result_label.text()
    assert "Max contracts › Contract limit 5 → 2 tightens: in force now" in text
    assert LOOSEN_TEXT in text
    assert manager.config.rules.max_contracts.limit == 2
    assert manager.config.rules.daily_realized_loss.limit == 500


def test_a_wrong_password_applies_nothing_and_the_right_one_defers(
    qtbot: QtBot, path: Path
) -> None:
    window, manager = open_window(qtbot, path, password="s3cret")
    seen = applied_configs(window)
    spin(window, LOSS).spin.setValue(800)
    window.apply_button.click()
    assert not window.password_row.isHidden()  # asked on the window, not in a dialog
    assert not window.password_prompt.isHidden()
    assert "need the admin password" in window.password_prompt.text()
    assert LOOSEN_TEXT in window.password_prompt.text()
    assert manager.pending is None and not path.exists()

    qtbot.keyClicks(window.password_edit, "guess")
    window.password_button.click()
    assert not window.password_error.isHidden()
    assert "Wrong admin password" in window.password_error.text()
    assert window.password_edit.text() == ""  # never kept in the widget
    assert manager.pending is None and not path.exists() and seen == []
    assert manager.config.rules.daily_realized_loss.limit == 500

    qtbot.keyClicks(window.password_edit, "s3cret")
    window.password_button.click()
    assert window.password_row.isHidden()
    assert manager.pending is not None and manager.pending.rules.daily_realized_loss.limit == 800
    assert manager.config.rules.daily_realized_loss.limit == 500
    assert LOOSEN_TEXT in window.result_label.text() and seen == [manager.config]


def test_ok_closes_only_once_the_password_was_accepted(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path, password="s3cret")
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    spin(window, LOSS).spin.setValue(800)
    window.ok_button.click()
    assert window.isVisible() and not window.password_row.isHidden() and closed == []
    window.password_edit.setText("s3cret")
    window.password_edit.returnPressed.emit()
    assert not window.isVisible() and closed == [True]
    assert manager.pending is not None


def test_editing_after_the_password_prompt_withdraws_it(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path, password="s3cret")
    spin(window, LOSS).spin.setValue(800)
    window.apply_button.click()
    assert not window.password_row.isHidden()
    spin(window, LOSS).spin.setValue(900)  # another candidate: the prompt was for 800
    assert window.password_row.isHidden() and manager.pending is None


def test_tightening_needs_no_password(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path, password="s3cret")
    spin(window, LOSS).spin.setValue(250)
    window.apply_button.click()
    assert window.password_row.isHidden()
    assert manager.config.rules.daily_realized_loss.limit == 250


def test_waiting_changes_are_shown_on_opening_and_can_be_discarded(
    qtbot: QtBot, path: Path
) -> None:
    manager = ConfigManager(path, clock=ManualClock(T0), config=default_config())
    data = manager.config.model_dump(mode="json")
    data["rules"]["daily_realized_loss"]["limit"] = 800
    manager.propose(AppConfig.model_validate(data))
    window = SettingsWindow(manager)
    qtbot.addWidget(window)
    assert spin(window, LOSS).value() == 800
    assert "Loss limit ($) 500 → 800" in window.pending_label.text()
    window.discard_button.click()
    assert manager.pending is None and spin(window, LOSS).value() == 500
    assert window.pending_label.isHidden()


def test_a_failed_save_is_reported_and_nothing_is_in_force(qtbot: QtBot, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    window, manager = open_window(qtbot, blocker / "config.toml")  # its folder is a file
    spin(window, LOSS).spin.setValue(300)
    window.apply_button.click()
    assert "Could not save the settings" in window.result_label.text()
    assert manager.config.rules.daily_realized_loss.limit == 500


# --- the TOML round trip -------------------------------------------------------------------------


def test_values_set_in_the_editors_round_trip_through_the_toml_file(
    qtbot: QtBot, path: Path
) -> None:
    # Every rule off: each change is either neutral or tightens, so all of it is in force at once.
    window, manager = open_window(qtbot, path, cfg=config())
    w = window.editors
    line(window, "gateway.username").line.setText("trader@example.com")
    line(window, "general.timezone").line.setText("Europe/London")
    reset = w["general.reset_time"]
    assert isinstance(reset, TimeEditor)
    reset.edit.setTime(QTime(18, 0))
    line(window, "general.accounts").line.setText("123, 456")
    for key in ("rules.max_contracts.enabled", "rules.symbol_blocks.enabled",
                "rules.session_block_outside.enabled"):
        box = w[key]
        assert isinstance(box, CheckEditor)
        box.box.setChecked(True)
    reduce = w["rules.max_contracts.reduce_to_limit"]
    assert isinstance(reduce, CheckEditor)
    reduce.box.setChecked(False)
    spin(window, "rules.max_contracts.limit").spin.setValue(2)
    count = w["rules.max_contracts.count_type"]
    assert isinstance(count, ChoiceEditor)
    count.combo.setCurrentIndex(count.combo.findData("gross"))
    limits = table(window, "rules.max_contracts_per_instrument.limits")
    limits.add_row(["mnq", "2"])
    limits.add_row(["ES", "1"])
    spin(window, "rules.max_contracts_per_instrument.default_limit").set_value(None)
    spin(window, LOSS).spin.setValue(425.5)
    line(window, "rules.daily_realized_loss.warn_at").line.setText("90 25%")  # percentages
    tiers = table(window, "rules.cooldown_after_loss.tiers")
    tiers.set_cell(2, 1, "3600")
    tiers.add_row(["50", "60"])
    line(window, "rules.session_block_outside.days").line.setText("mon, Wednesday")
    line(window, "rules.session_block_outside.holidays").line.setText("2026-12-24")
    table(window, "rules.session_block_outside.symbols").add_row(["es", "08:00", "14:00"])
    line(window, "rules.symbol_blocks.symbols").line.setText("cl, NG")

    assert window.problems == {}
    window.ok_button.click()
    assert not window.isVisible()

    expected = parse_config({
        "gateway": {"username": "trader@example.com"},
        "general": {"timezone": "Europe/London", "reset_time": "18:00", "accounts": [123, 456]},
        "rules": {
            "max_contracts": {"enabled": True, "limit": 2, "count_type": "gross",
                              "reduce_to_limit": False},
            "max_contracts_per_instrument": {"enabled": False, "limits": {"MNQ": 2, "ES": 1}},
            "daily_realized_loss": {"enabled": False, "limit": 425.5, "warn_at": [0.25, 0.9]},
            "cooldown_after_loss": {"enabled": False, "tiers": [
                {"loss": 50, "seconds": 60}, {"loss": 100, "seconds": 300},
                {"loss": 200, "seconds": 900}, {"loss": 300, "seconds": 3600}]},
            "session_block_outside": {"enabled": True, "days": ["mon", "wed"],
                                      "holidays": ["2026-12-24"],
                                      "symbols": {"ES": {"start": "08:00", "end": "14:00"}}},
            "symbol_blocks": {"enabled": True, "symbols": ["CL", "NG"]},
        },
    })
    assert load_config(path) == expected == manager.config
    assert manager.pending is None


def test_reopening_shows_exactly_what_was_saved(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path)
    spin(window, LOSS).spin.setValue(300)
    window.ok_button.click()
    again = SettingsWindow(ConfigManager(path, clock=ManualClock(T0)))
    qtbot.addWidget(again)
    assert again.validate() == manager.config == load_config(path)
    assert spin(again, LOSS).value() == 300


# --- the admin password section ------------------------------------------------------------------


def test_the_admin_can_set_change_and_remove_the_password(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path)
    admin = window.admin_page
    window.show_page("admin")
    assert window.stack.currentWidget() is admin
    assert not admin.current_edit.isEnabled() and admin.set_button.text() == "Set password"
    assert not admin.state_label.isHidden() and "No admin password" in admin.state_label.text()

    admin.new_edit.setText("one")
    admin.repeat_edit.setText("two")
    admin.set_button.click()
    assert "differ" in admin.error_label.text() and not manager.admin.is_set()

    admin.new_edit.setText("one")
    admin.repeat_edit.setText("one")
    admin.set_button.click()
    assert manager.admin.verify("one") and admin.error_label.isHidden()
    assert admin.set_button.text() == "Change password" and admin.current_edit.isEnabled()
    assert admin.new_edit.text() == admin.repeat_edit.text() == ""

    admin.current_edit.setText("wrong")
    admin.new_edit.setText("two")
    admin.repeat_edit.setText("two")
    admin.set_button.click()
    assert "not correct" in admin.error_label.text() and manager.admin.verify("one")

    admin.current_edit.setText("one")
    admin.new_edit.setText("two")
    admin.repeat_edit.setText("two")
    admin.set_button.click()
    assert manager.admin.verify("two")

    admin.current_edit.setText("one")
    admin.remove_button.click()
    assert manager.admin.is_set() and "not correct" in admin.error_label.text()
    admin.current_edit.setText("two")
    admin.remove_button.click()
    assert not manager.admin.is_set() and "removed" in admin.done_label.text()


def test_cancel_closes_without_applying(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    spin(window, LOSS).spin.setValue(300)
    window.cancel_button.click()
    assert closed == [True] and not path.exists()
    assert manager.config.rules.daily_realized_loss.limit == 500


def test_reopening_the_same_window_shows_the_config_in_force(qtbot: QtBot, path: Path) -> None:
    window, manager = open_window(qtbot, path)
    spin(window, LOSS).spin.setValue(900)
    window.cancel_button.click()  # the edit is discarded
    data = manager.config.model_dump(mode="json")
    data["rules"]["max_contracts"]["limit"] = 1
    manager.propose(AppConfig.model_validate(data))  # changed elsewhere meanwhile
    window.show()
    assert spin(window, LOSS).value() == 500
    assert spin(window, "rules.max_contracts.limit").value() == 1
    assert window.validate() == manager.config and not window.apply_button.isEnabled()
