"""The settings window hands typed values to the strictly typed config (SPEC 3, Config changes).

A cell or a list item is read as the config file would read it: `2` is a count, `2.0` is not,
`true` is not an amount; a symbol's own trading days are a list in one cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app.config_manager import ConfigManager
from core.config import load_config
from core.config.io import parse_config
from core.domain.clock import ManualClock
from gui.settings import SettingsWindow
from gui.settings_fields import ListEditor
from gui.table_editor import TableEditor
from tests.builders import T0, config

LIMITS = "rules.max_contracts_per_instrument.limits"
HOURS = "rules.session_block_outside.symbols"


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> SettingsWindow:
    manager = ConfigManager(tmp_path / "config.toml", clock=ManualClock(T0), config=config())
    shown = SettingsWindow(manager)
    qtbot.addWidget(shown)
    shown.show()
    return shown


def table(window: SettingsWindow, key: str) -> TableEditor:
    editor = window.editors[key]
    assert isinstance(editor, TableEditor)
    return editor


@pytest.mark.parametrize(("cell", "words"), [
    ("2.0", ["Limits", "MNQ", "whole number", "2.0"]),
    ("true", ["Limits", "MNQ", "whole number", "true"]),
    ('"2"', ["Limits", "MNQ", "whole number", '"2"']),
])
def test_a_count_cell_must_hold_a_whole_number(window: SettingsWindow, cell: str,
                                              words: list[str]) -> None:
    table(window, LIMITS).add_row(["MNQ", cell])
    assert set(window.problems) == {LIMITS}
    for word in words:
        assert word in window.problems[LIMITS], (word, window.problems[LIMITS])
    assert window.candidate is None


def test_an_amount_cell_may_be_whole_or_decimal(window: SettingsWindow) -> None:
    tiers = table(window, "rules.cooldown_after_loss.tiers")
    tiers.set_cell(0, 0, "99.5")
    tiers.set_cell(1, 0, "250")
    assert window.problems == {}
    candidate = window.validate()
    assert candidate is not None
    assert [t.loss for t in candidate.rules.cooldown_after_loss.tiers] == [99.5, 250, 300]


def test_a_symbols_own_days_round_trip_through_the_toml_file(
    qtbot: QtBot, window: SettingsWindow, tmp_path: Path
) -> None:
    hours = table(window, HOURS)
    hours.add_row(["es", "17:00", "16:00", "sun, mon tue"])
    hours.add_row(["NQ", "08:30", "15:00"])  # no days: the table's
    assert window.problems == {}
    window.ok_button.click()
    saved = load_config(tmp_path / "config.toml")
    expected = parse_config({"rules": {"session_block_outside": {"enabled": False, "symbols": {
        "ES": {"start": "17:00", "end": "16:00", "days": ["sun", "mon", "tue"]},
        "NQ": {"start": "08:30", "end": "15:00"},
    }}}})
    assert saved.rules.session_block_outside == expected.rules.session_block_outside
    assert saved.rules.session_block_outside.symbols["NQ"].days is None
    # Reopened, the cells show what was saved: the days as a list, a blank for "the table's".
    again = SettingsWindow(ConfigManager(tmp_path / "config.toml", clock=ManualClock(T0)))
    qtbot.addWidget(again)
    shown = table(again, HOURS)
    assert [shown.cells(row) for row in range(shown.table.rowCount())] == [
        ["ES", "17:00", "16:00", "sun, mon, tue"], ["NQ", "08:30", "15:00", ""]]
    assert again.validate() == saved


def test_list_items_are_typed_as_in_the_file(window: SettingsWindow) -> None:
    holidays = window.editors["rules.session_block_outside.holidays"]
    accounts = window.editors["general.accounts"]
    assert isinstance(holidays, ListEditor) and isinstance(accounts, ListEditor)
    holidays.line.setText("2026-12-24, 2026-12-31")
    accounts.line.setText("123 456")
    assert window.problems == {}
    accounts.line.setText("123, 4.5")
    assert set(window.problems) == {"general.accounts"}
    assert "whole number" in window.problems["general.accounts"]
