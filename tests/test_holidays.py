from datetime import date
from pathlib import Path

import pytest

from core.domain.holidays import HolidayCalendarError, load_holidays


def test_shipped_calendar_has_the_christmas_closures() -> None:
    holidays = load_holidays()
    assert date(2026, 12, 25) in holidays
    assert date(2027, 12, 24) in holidays
    assert date(2026, 12, 24) not in holidays


def test_a_broken_calendar_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "holidays.toml"
    bad.write_text('dates = ["2026-12-25"]\n')
    with pytest.raises(HolidayCalendarError, match="holidays.toml"):
        load_holidays(bad)
