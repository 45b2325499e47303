"""The history window: day by day from the real files, one row per action, CSV export."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pytestqt.qtbot import QtBot

from core.app.history import FILE_NAME, HistoryRecorder
from core.app.history_reader import read_history
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.trading_day import TradingCalendar
from core.engine.notices import BreachDetected, LockSet
from core.modules.lockouts import Lock, LockKind
from gui.history_window import HistoryWindow
from tests.builders import ACCOUNT, default_config

T0 = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")


def test_days_rows_and_export(qtbot: QtBot, tmp_path: Path) -> None:
    bus = EventBus()
    recorder = HistoryRecorder(bus, tmp_path / FILE_NAME, ManualClock(T0))
    for day in (0, 1):  # two trading days (Wednesday and Thursday)
        at = T0 + timedelta(days=day)
        bus.publish(BreachDetected(ACCOUNT, "RULE-003", "daily loss", at))
        bus.publish(LockSet(Lock(ACCOUNT, "RULE-003", LockKind.HARD, "daily loss", at,
                                 at + timedelta(hours=7))))
    recorder.close()
    calendar = TradingCalendar(default_config().general.reset_time, "America/Chicago")
    window = HistoryWindow(lambda: read_history(tmp_path, calendar), CHICAGO,
                           lambda: {ACCOUNT: "PA-1"})
    qtbot.addWidget(window)
    window.show()  # no running loop here: read at once
    assert window.days.count() == 3  # all days, then each day newest first
    assert window.days.item(1).text().startswith("Thu 20 Aug 2026")
    assert "1 breach, 1 lock, 0 actions" in window.days.item(1).text()
    assert window.table.rowCount() == 2
    assert {window.table.text(r, 2) for r in range(2)} == {"Breach", "Locked"}
    assert window.table.text(0, 1) == "PA-1" and window.table.text(0, 3) == "Daily loss limit"
    window.days.setCurrentRow(0)
    assert window.table.rowCount() == 4
    out = tmp_path / "out.csv"
    assert window.export(out) == 4
    with out.open() as handle:
        assert len(list(csv.reader(handle))) == 5
    assert "Exported 4 rows" in window.status.text()
