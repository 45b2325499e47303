"""Small validated value types shared by the config models."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, PlainSerializer


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


def _normalise_symbol(value: Any) -> str:
    if not isinstance(value, str) or not value.strip().isalnum():
        raise ValueError(f"{value!r} is not a symbol root such as \"MNQ\" or \"ES\"")
    return value.strip().upper()


SymbolRoot = Annotated[str, BeforeValidator(_normalise_symbol)]
