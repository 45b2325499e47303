"""Small validated value types shared by the config models.

Values are strictly typed (SPEC section 3, Config changes): `true` is not an amount, `"5"` is
not a count, a count is a whole number (`5.0` is an error) and an amount may be written as a
whole number or a decimal. Each type says what it expected and shows what it got, as TOML.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer, Strict


def as_toml(value: Any) -> str:
    """A value as it would be written in the config file, for error messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"{json.dumps(value, ensure_ascii=False)} (text in quotes)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _whole_number(value: Any) -> int:
    # bool is an int in Python, but `true` is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {as_toml(value)}")
    return value


def _whole_number_or_none(value: Any) -> int | None:
    return None if value is None else _whole_number(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number such as 500 or 0.5, got {as_toml(value)}")
    return float(value)


def _switch(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {as_toml(value)}")
    return value


# Strict() as well as the check: no coercion even if a validator is ever reordered.
Count = Annotated[int, Strict(), BeforeValidator(_whole_number)]
"""A whole number: contracts, seconds, ticks, trades, an account id."""
OptionalCount = Annotated[int | None, Strict(), BeforeValidator(_whole_number_or_none)]
Amount = Annotated[float, Strict(), BeforeValidator(_number)]
"""Money or a fraction: 500, 425.50 and 0.8 are all amounts."""
Switch = Annotated[bool, Strict(), BeforeValidator(_switch)]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_date(value: Any) -> date:
    # A TOML date, or the ISO text the settings window and a dumped config hold. A TOML
    # date-time is refused: a holiday is a whole day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2026-12-25, got {as_toml(value)}")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]


def _parse_clock_time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if not isinstance(value, str):
        raise ValueError("expected a time written as \"HH:MM\"")
    parts = value.strip().split(":")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(f"{value!r} is not a time written as \"HH:MM\"")
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"{value!r} is not a time of day")
    return time(hour, minute)


ClockTime = Annotated[
    time,
    BeforeValidator(_parse_clock_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]


def _check_timezone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected an IANA timezone name such as \"America/Chicago\"")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a tzdata folder such as "America" or an over-long name is not a zone.
        raise ValueError(f"{value!r} is not a known IANA timezone") from None
    return value


TimezoneName = Annotated[str, BeforeValidator(_check_timezone)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = {
    **{day: day for day in WEEKDAYS},
    **{
        name: name[:3]
        for name in (
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
        )
    },
}


def _check_weekday(value: Any) -> str:
    # Exact names only: a prefix match would take "monkey" for Monday.
    day = _WEEKDAY_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if day is None:
        raise ValueError(f"{value!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
    return day


Weekday = Annotated[str, BeforeValidator(_check_weekday)]


_ROOT = re.compile(r"[A-Za-z0-9]+")


def _normalise_symbol(value: Any) -> str:
    # ASCII only: a full-width "ＭＮＱ" looks like MNQ but never matches a contract.
    if not isinstance(value, str) or not _ROOT.fullmatch(value.strip()):
        raise ValueError(
            f"{value!r} is not a symbol root such as \"MNQ\" or \"ES\" (letters A-Z and digits)"
        )
    return value.strip().upper()


SymbolRoot = Annotated[str, BeforeValidator(_normalise_symbol)]
"""Case-insensitive: written in any case, kept upper-case."""


def one_spelling_per_root(value: Any) -> Any:
    """A map keyed by symbol root may not hold one root twice in different case ("MNQ" and
    "mnq"): which of the two would win is not something to guess."""
    if isinstance(value, dict):
        seen: dict[str, str] = {}
        for key in value:
            if not isinstance(key, str):
                continue
            root = key.strip().upper()
            if root in seen:
                raise ValueError(
                    f"{seen[root]!r} and {key!r} are the same symbol root written twice "
                    "(roots ignore case): keep one"
                )
            seen[root] = key
    return value
