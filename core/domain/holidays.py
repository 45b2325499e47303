"""The exchange holiday calendar shipped in resources/ (RULE-009 keeps the account flat on them)."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

HOLIDAYS_RESOURCE = Path(__file__).resolve().parents[2] / "resources" / "holidays.toml"


class HolidayCalendarError(ValueError):
    pass


def load_holidays(path: Path = HOLIDAYS_RESOURCE) -> frozenset[date]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HolidayCalendarError(f"{path}: cannot read the holiday calendar ({exc})") from None
    dates = data.get("dates", [])
    if not isinstance(dates, list) or not all(isinstance(d, date) for d in dates):
        raise HolidayCalendarError(f"{path}: dates must be a list of TOML dates (2026-12-25)")
    return frozenset(dates)
