"""Popups for the warnings before a limit and for the end-of-day summary, in the trader's words
(never RULE-014 or RESTRICT); a day without any trading brings no popup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from core.app.day_summary import DaySummary, LockCount, RuleCount
from core.engine.notices import LimitWarning
from tests.gui.test_popups import ACCOUNT, Rig, _rig

DAY = date(2026, 8, 19)


@pytest.fixture
def rig(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    r = _rig(qtbot, monkeypatch, use_tray=True)
    yield r
    r.notifier.close()
    r.bridge.close()
    r.tray.close()


def test_the_maximum_loss_limit_warning_names_the_distance(rig: Rig) -> None:
    rig.publish(LimitWarning(ACCOUNT, "RULE-014", "$480.00 from the Maximum Loss Limit floor "
                             "$48,000.00; the guard acts at $250.00", 500.0, DAY))
    shown = rig.notifier.history[-1]
    assert (shown.kind, shown.level) == ("limit_warning", "warning")
    assert shown.title == "$500.00 from the Maximum Loss Limit"
    assert shown.body.startswith("PA-1 (26282486): $480.00 from the Maximum Loss Limit floor")
    assert "RULE-014" not in shown.title + shown.body


def test_a_ladder_warning_names_the_limit(rig: Rig) -> None:
    rig.publish(LimitWarning(ACCOUNT, "RESTRICT", "Open loss limit: 80% used", 0.8, DAY))
    shown = rig.notifier.history[-1]
    assert shown.title == "Warning: open loss limit 80% used"
    assert "RESTRICT" not in shown.title + shown.body and "Restrict step" not in shown.title


def test_the_day_summary_pops_up_unless_the_day_was_quiet(rig: Rig) -> None:
    summary = DaySummary(ACCOUNT, DAY, Decimal("-320.50"), Decimal("-300"), Decimal("20.50"), 12, 5,
                         2, 3, (RuleCount("RULE-007", "Cooldown after a loss", 2),),
                         (LockCount("RULE-007", "Cooldown after a loss", "cooldown", 2),))
    quiet = DaySummary(ACCOUNT, DAY, Decimal(0), Decimal(0), Decimal(0), 0, 0, 0, 0, (), ())
    before = len(rig.notifier.history)
    rig.publish(quiet)
    assert len(rig.notifier.history) == before
    rig.publish(summary)
    shown = rig.notifier.history[-1]
    assert (shown.kind, shown.level) == ("day_summary", "info")
    assert shown.title == "Wed 19 Aug: net -$320.50"
    assert "Trades: 5 closed (2 won, 3 lost), 12 fills" in shown.body
    assert "Breaches: Cooldown after a loss ×2" in shown.body
