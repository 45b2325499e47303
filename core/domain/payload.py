"""Reading single fields out of loose gateway payloads, each failure one clear ParseError.

Separate from the event types so that those stay readable; every reader names the field it
failed on, because a log line saying only "bad payload" helps nobody at 3 a.m.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from math import isfinite
from typing import Any


class ParseError(ValueError):
    """A gateway payload that cannot be turned into an event. Log it and skip it.

    When the payload named its account, ``account_id`` says which account's positions and
    orders to re-read: an impossible value must never become state, but what it described
    may have changed.
    """

    def __init__(self, message: str, account_id: int | None = None) -> None:
        super().__init__(message)
        self.account_id = account_id


_MISSING = object()
# What SQLite stores and gives back unchanged: a signed 64-bit integer, and text that is valid
# UTF-8 (a lone surrogate is not) without NUL. Checked here, at the door, so that nothing is
# ever held, judged or written that the state file could not read back.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_TEXT = 1_000  # characters in any text field (a name, a tag)
MAX_ID_TEXT = 200  # characters in a text id (a contract id)


def show(value: Any) -> str:
    """A short repr for error messages that cannot itself fail (huge ints, deep nesting)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def field(d: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = d.get(key, _MISSING)
        if value is not _MISSING and value is not None:
            return value
    return None


def read_int(d: Mapping[str, Any], *keys: str, required: bool = True, default: int = 0) -> int:
    value = field(d, *keys)
    if value is None:
        if required:
            raise ParseError(f"missing field {keys[0]!r}")
        return default
    if isinstance(value, bool):
        raise ParseError(f"field {keys[0]!r} is a boolean, expected an integer")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) <= 40:  # int("9" * 5000) is slow, and absurd
        with contextlib.suppress(ValueError):
            number = int(value)
    if number is None:
        raise ParseError(f"field {keys[0]!r} is not an integer: {show(value)}")
    if not INT64_MIN <= number <= INT64_MAX:
        raise ParseError(f"field {keys[0]!r} is out of range: {show(value)}")
    return number


def read_opt_int(d: Mapping[str, Any], key: str) -> int | None:
    if d.get(key) is None:
        return None
    return read_int(d, key)


def read_float(d: Mapping[str, Any], key: str) -> float | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"field {key!r} is a boolean, expected a number")
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            pass
        else:
            # NaN or infinity would poison every comparison a rule makes with this number.
            if isfinite(number):
                return number
    raise ParseError(f"field {key!r} is not a finite number: {show(value)}")


def read_req_float(d: Mapping[str, Any], key: str) -> float:
    value = read_float(d, key)
    if value is None:
        raise ParseError(f"missing field {key!r}")
    return value


def read_decimal(d: Mapping[str, Any], key: str) -> Decimal | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"field {key!r} is a boolean, expected a number")
    if isinstance(value, int | float | str):
        try:
            # str() first: Decimal(0.36) would carry the binary float's noise into the day's P&L.
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            pass
        else:
            # NaN (sNaN raises on arithmetic) or infinity must not reach the P&L sums.
            if number.is_finite():
                return number
    raise ParseError(f"field {key!r} is not a finite number: {show(value)}")


def read_str(d: Mapping[str, Any], *keys: str, required: bool = True) -> str | None:
    value = field(d, *keys)
    if value is None:
        if required:
            raise ParseError(f"missing field {keys[0]!r}")
        return None
    if not isinstance(value, str):
        raise ParseError(f"field {keys[0]!r} is not a string: {show(value)}")
    check_text(value, keys[0])
    return value


def check_text(value: str, field: str, limit: int = MAX_TEXT) -> str:
    """``value`` if the state file can store and read it back as it is, else ParseError."""
    if len(value) > limit:
        raise ParseError(f"field {field!r} is too long ({len(value)} characters)")
    if "\x00" in value:
        raise ParseError(f"field {field!r} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError(f"field {field!r} is not valid text (a lone surrogate)") from None
    return value


def read_id_str(d: Mapping[str, Any], key: str) -> str:
    """A required text id (a contract id): short, printable, storable."""
    value = read_str(d, key)
    assert value is not None
    check_text(value, key, MAX_ID_TEXT)
    if not value or not value.isprintable():
        raise ParseError(f"field {key!r} is not a usable id: {show(value)}")
    return value


def read_bool(d: Mapping[str, Any], key: str) -> bool | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise ParseError(f"field {key!r} is not a boolean: {show(value)}")


_SENTINEL_YEAR = 1


def parse_timestamp(value: Any, field: str = "timestamp") -> datetime | None:
    """ISO-8601 with any number of fractional digits, 'Z' or an offset; always aware UTC.

    The depth feed's ``0001-01-01`` sentinel means "no time" and becomes None.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 reads at most 6 fractional digits reliably; the stream sends 7.
        dot = text.find(".")
        if dot != -1:
            end = dot + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            if end - dot - 1 > 6:
                text = text[: dot + 7] + text[end:]
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ParseError(
                f"field {field!r} is not an ISO-8601 timestamp: {show(value)}"
            ) from None
    else:
        raise ParseError(f"field {field!r} is not a timestamp: {show(value)}")
    if dt.year == _SENTINEL_YEAR:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # the gateway speaks UTC; a naive stamp is still UTC
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past datetime.max in UTC
        raise ParseError(f"field {field!r} is out of range: {show(value)}") from None


def read_ts(d: Mapping[str, Any], key: str) -> datetime | None:
    return parse_timestamp(d.get(key), key)


def as_mapping(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ParseError(f"{what} payload is not an object: {type(payload).__name__}")
    return payload
