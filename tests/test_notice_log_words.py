"""The notice log's lines (and the history's rows) for a warning before a limit and the
end-of-day summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from core.app.day_summary import DaySummary
from core.app.history import HistoryRecorder
from core.app.notice_log import NoticeLog
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.engine.notices import LimitWarning
from tests.builders import T0


def test_limit_warning_and_day_summary_lines() -> None:
    log = NoticeLog(EventBus())
    try:
        line = log.describe(LimitWarning(7, "RULE-014", "$480.00 from the Maximum Loss Limit floor "
                                         "$48,000.00", 500.0, date(2026, 8, 19)))
        assert line == ("WARNING account 7 Maximum Loss Limit guard [RULE-014]: $480.00 from the "
                        "Maximum Loss Limit floor $48,000.00")
        summary = DaySummary(7, date(2026, 8, 19), Decimal("125"), Decimal("130"), Decimal("5"),
                             4, 2, 2, 0, (), ())
        line = log.describe(summary)
        assert line is not None and line.startswith("DAY SUMMARY account 7 Wed 2026-08-19: Net P&L $125.00")
        assert "Locks: none" in line
    finally:
        log.close()


def test_a_limit_warning_is_kept_in_the_history(tmp_path: Path) -> None:
    recorder = HistoryRecorder(EventBus(), tmp_path / "history.db", ManualClock(T0), "America/Chicago")
    try:
        row = recorder.row_for(LimitWarning(7, "RULE-014", "$480.00 from the Maximum Loss Limit "
                                            "floor $48,000.00", 500.0, date(2026, 8, 19)))
    finally:
        recorder.close()
    assert row is not None and (row["kind"], row["rule_id"]) == ("warning", "RULE-014")
    assert row["text"] == "$480.00 from the Maximum Loss Limit floor $48,000.00"


def test_a_rule_that_failed_is_named_and_no_exception_is_shown() -> None:
    from core.engine.notices import RuleError

    log = NoticeLog(EventBus())
    try:
        line = log.describe(RuleError("RULE-003", 7, "ZeroDivisionError('float division by zero')"))
        assert line is not None and line.startswith("RULE ERROR Daily loss limit [RULE-003] account 7")
        assert "took no decision" in line and "ZeroDivisionError" not in line
    finally:
        log.close()
