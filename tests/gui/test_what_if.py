"""The "What if…" window on the demo: a generated month served by the simulated gateway, fetched
over REST and replayed by the real engine, shown in real widgets (offscreen)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate

from core.app.replay_service import WhatIfSource
from gui.what_if import WhatIf, WhatIfWindow
from tests.builders import config, default_config

TODAY = date(2026, 11, 16)  # a Monday: the demo's four weeks end on Friday the 13th


def cell(table: Any, row: int, column: int) -> str:
    item = table.item(row, column)
    return "" if item is None else item.text()


async def test_the_window_replays_the_demo_and_shows_days_rules_and_curves(qtbot: Any, tmp_path: Path) -> None:
    window = WhatIfWindow(WhatIfSource(default_config(), demo=True), today=TODAY)
    qtbot.addWidget(window)
    window.show()
    assert window.to_edit.date() == QDate(2026, 11, 13)
    window.from_edit.setDate(QDate(2026, 11, 9))  # one week keeps the test quick
    rules = tmp_path / "tight.toml"
    rules.write_text("[rules.max_contracts]\nenabled = true\nlimit = 2\n")
    window.set_compare(rules)
    window.run_button.click()
    assert window.attempt is not None and window.busy
    await window.attempt
    report = window.report
    assert report is not None, window.status_label.text()
    assert [c.name for c in report.candidates] == ["your rules", "tight.toml"]
    days = window.days_table
    assert days.rowCount() == len(report.days) + 1 == 6  # five weekdays and the total
    assert cell(days, 0, 0).startswith("2026-11-09")
    assert cell(days, days.rowCount() - 1, 0) == "Total"
    assert cell(days, days.rowCount() - 1, 2) == window.summary_label.text().split()[1]
    assert "With your rules" in window.summary_label.text() and "With tight.toml" in window.summary_label.text()
    assert window.rules_table.rowCount() >= 2
    assert window.chart.labels == ["Actual", "With your rules", "With tight.toml"]
    assert "Assumptions" in window.notes_text.toPlainText()
    assert "Replayed" in window.status_label.text() and "simulated gateway" in window.status_label.text()
    window.save_report(tmp_path / "out.html")
    assert (tmp_path / "out.html").read_text().startswith("<!DOCTYPE html>")
    window.shut_down()


async def test_a_bad_range_or_rule_file_is_shown_not_raised(qtbot: Any, tmp_path: Path) -> None:
    window = WhatIfWindow(WhatIfSource(default_config(), demo=True), today=TODAY)
    qtbot.addWidget(window)
    window.from_edit.setDate(QDate(2026, 11, 20))
    window.start()
    assert window.attempt is not None
    await window.attempt
    assert "Could not replay: --from 2026-11-20 is after --to 2026-11-13" in window.status_label.text()
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules.max_contracts]\nenabled = true\nlimit = 2.5\n")
    window.from_edit.setDate(QDate(2026, 11, 9))
    window.set_compare(bad)
    window.start()
    assert window.attempt is not None
    await window.attempt
    assert "Could not replay:" in window.status_label.text() and "limit" in window.status_label.text()
    assert window.report is None and window.run_button.isEnabled()
    window.shut_down()


async def test_without_credentials_the_window_says_there_is_no_account(qtbot: Any) -> None:
    window = WhatIfWindow(WhatIfSource(config()), today=TODAY)
    qtbot.addWidget(window)
    window.start()
    assert window.attempt is not None
    await window.attempt
    assert "no account to replay" in window.status_label.text()
    window.shut_down()


def test_the_tray_and_the_dashboard_share_one_window(qtbot: Any) -> None:
    opened = []
    what_if = WhatIf(lambda: opened.append(1) or default_config(), demo=True)
    first = what_if.open()
    qtbot.addWidget(first)
    assert first.isVisible() and first.source.demo
    assert what_if.open() is first  # still open: brought forward, not opened twice
    first.hide()
    second = what_if.open()  # closed meanwhile: a fresh window with the rules now in force
    qtbot.addWidget(second)
    assert second is not first and len(opened) == 2
    what_if.close()
    assert not second.isVisible()
