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
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
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
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known IANA timezone") from None
    return value


TimezoneName = Annotated[str, BeforeValidator(_check_timezone)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_weekday(value: Any) -> str:
    if not isinstance(value, str) or value.lower()[:3] not in WEEKDAYS:
        raise ValueError(f"{value!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
    return value.lower()[:3]


Weekday = Annotated[str, BeforeValidator(_check_weekday)]


def _normalise_symbol(value: Any) -> str:
    if not isinstance(value, str) or not value.strip().isalnum():
        raise ValueError(f"{value!r} is not a symbol root such as \"MNQ\" or \"ES\"")
    return value.strip().upper()


SymbolRoot = Annotated[str, BeforeValidator(_normalise_symbol)]
