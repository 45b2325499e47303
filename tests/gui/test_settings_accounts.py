"""The account picker on top of the settings: an account's own values over the shared rules,
with which one each field uses said under it; its Topstep plan and typed-in MLL floor; and the
plan table with Topstep's unconfirmed numbers marked."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from core.app.config_manager import ConfigManager
from core.domain.clock import ManualClock
from gui.settings import SettingsWindow
from gui.settings_fields import ChoiceEditor, NumberEditor
from gui.settings_scope import OWN_TEXT, SHARED_TEXT
from tests.builders import T0, default_config

LOSS = "rules.daily_realized_loss.limit"
COMBINE, PRACTICE = 13370002, 13370001
NAMES = {PRACTICE: "PRAC-V2-DEMO-13370001", COMBINE: "50KTC-V2-DEMO-13370002"}


@pytest.fixture
def opened(qtbot: QtBot, tmp_path: Path) -> tuple[SettingsWindow, ConfigManager, Path]:
    path = tmp_path / "config.toml"
    manager = ConfigManager(path, clock=ManualClock(T0), config=default_config())
    window = SettingsWindow(manager, accounts=lambda: dict(NAMES))
    qtbot.addWidget(window)
    window.show()
    return window, manager, path


def spin(window: SettingsWindow, key: str) -> NumberEditor:
    editor = window.editors[key]
    assert isinstance(editor, NumberEditor)
    return editor


def page_title(window: SettingsWindow, key: str) -> str:
    return window.page_list.item(list(window.pages).index(key)).text()


def test_the_picker_lists_the_shared_rules_and_every_account(opened: tuple) -> None:
    window, _, _ = opened
    combo = window.scope.combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "All accounts (shared rules)", "PRAC-V2-DEMO-13370001 (13370001)",
        "50KTC-V2-DEMO-13370002 (13370002)"]
    assert window.scope.account_id is None
    assert not window.scope._markers[LOSS][0].isVisibleTo(window)  # noqa: SLF001


def test_an_accounts_own_value_is_marked_applied_and_written_under_its_table(opened: tuple) -> None:
    window, manager, path = opened
    window.scope.choose(COMBINE)
    assert spin(window, LOSS).value() == 500  # the shared value, said so
    assert window.scope.marker_text(LOSS) == SHARED_TEXT
    spin(window, LOSS).spin.setValue(300)
    assert window.scope.marker_text(LOSS) == f"{OWN_TEXT} (All accounts: 500)"
    assert page_title(window, "rules.daily_realized_loss").endswith("on · own")
    assert window.apply()
    assert manager.config.rules.daily_realized_loss.limit == 500  # the shared table unchanged
    assert manager.config.rules_for(COMBINE).daily_realized_loss.limit == 300
    assert manager.config.rules_for(PRACTICE).daily_realized_loss.limit == 500
    written = tomllib.loads(path.read_text())
    assert written["accounts"][str(COMBINE)]["daily_realized_loss"] == {"limit": 300}
    assert written["rules"]["daily_realized_loss"]["limit"] == 500
    window.scope.choose(None)
    assert spin(window, LOSS).value() == 500
    window.scope.choose(COMBINE)
    assert spin(window, LOSS).value() == 300 and window.scope.marker_text(LOSS).startswith(OWN_TEXT)


def test_use_the_shared_value_takes_the_accounts_own_away(opened: tuple) -> None:
    window, manager, _ = opened
    window.scope.choose(COMBINE)
    spin(window, LOSS).spin.setValue(300)
    assert window.apply()
    window.scope.choose(COMBINE)
    window.use_shared(LOSS)
    assert spin(window, LOSS).value() == 500 and window.scope.marker_text(LOSS) == SHARED_TEXT
    assert window.candidate is not None and str(COMBINE) not in window.candidate.accounts
    assert window.apply()  # 300 → 500 loosens an active rule: it waits for the reset
    assert manager.config.rules_for(COMBINE).daily_realized_loss.limit == 300
    assert manager.pending is not None and str(COMBINE) not in manager.pending.accounts
    assert "Account 13370002 › Daily loss limit › daily_realized_loss" not in window.pending_label.text()
    assert "Account 13370002 › Daily loss limit" in window.pending_label.text()


def test_edits_survive_switching_the_picker_until_applied_or_cancelled(opened: tuple) -> None:
    window, manager, _ = opened
    spin(window, LOSS).spin.setValue(400)  # shared, not applied yet
    window.scope.choose(COMBINE)
    assert spin(window, LOSS).value() == 400  # the account follows the shared value as edited
    window.scope.choose(None)
    assert spin(window, LOSS).value() == 400
    assert manager.config.rules.daily_realized_loss.limit == 500
    window.close()
    window.show()
    assert spin(window, LOSS).value() == 500  # closing discarded the edits


def test_the_plan_and_the_typed_in_floor_of_an_account(opened: tuple) -> None:
    window, manager, _ = opened
    page = window.topstep_page
    assert page.account_form.isHidden() and not page.pick_note.isHidden()
    window.scope.choose(COMBINE)
    assert not page.account_form.isHidden() and page.pick_note.isHidden()
    plan = window.editors["account.plan"]
    assert isinstance(plan, ChoiceEditor)
    assert plan.combo.itemText(0) == "auto: from the account name (50K Trading Combine)"
    assert plan.value() == "auto"
    plan.set_value("50K-express")
    spin(window, "account.mll_floor").spin.setValue(48_500)
    assert window.apply()
    # Another plan, or a floor typed where there was none, may loosen: it waits for the reset.
    assert manager.config.account(COMBINE) is None
    waiting = manager.editable()
    account = waiting.account(COMBINE)
    assert account is not None and (account.plan, account.mll_floor) == ("50K-express", 48_500)
    assert "Account 13370002 › Topstep plan auto → 50K-express loosens" in window.result_label.text()
    assert waiting.account(PRACTICE) is None  # nothing of its own: no table written
    window.scope.choose(PRACTICE)
    assert plan.value() == "auto" and spin(window, "account.mll_floor").value() is None
    assert "no plan" in plan.combo.itemText(0)


def test_unconfirmed_plan_numbers_are_marked_and_the_share_is_a_percentage(opened: tuple) -> None:
    window, manager, _ = opened
    html = window.topstep_page.plans.text()
    assert html.count("(unconfirmed)") == 2  # the 100K and 150K scaling tiers
    share = spin(window, "topstep.consistency_warning")
    assert share.spin.suffix() == " %" and share.value() == 0.0
    share.spin.setValue(40)
    assert window.apply()
    assert manager.config.topstep.consistency_warning == 0.4
