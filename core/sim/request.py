"""Reading a REST request body the way the gateway's model binding does.

A missing required field or a value of the wrong JSON type is an HTTP 400 with an ASP.NET
"validation problem" body naming the field; everything else is the endpoint's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.sim.models import Bracket, parse_time

Body = Mapping[str, Any]
_MISSING = object()


class BadRequest(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def problem_details(name: str, message: str) -> dict[str, Any]:
    """The RFC 7807 body ASP.NET answers a request that fails validation with."""
    return {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.", "status": 400,
        "errors": {name: [message]},
    }


def field(body: Body, name: str, kind: type, *, required: bool = True) -> Any:
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(name, f"The {name} field is required.")
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise BadRequest(name, f"The JSON value could not be converted to {kind.__name__}.")
    return value


def timestamp(body: Body, name: str, *, required: bool) -> datetime | None:
    raw = body.get(name)
    if raw is None:
        if required:
            raise BadRequest(name, f"The {name} field is required.")
        return None
    parsed = parse_time(raw)
    if parsed is None:
        raise BadRequest(name, "The JSON value could not be converted to System.DateTime.")
    return parsed


def bracket(body: Body, name: str) -> Bracket | None:
    raw = body.get(name)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise BadRequest(name, "The JSON value could not be converted to a bracket.")
    return Bracket(field(raw, "ticks", int), field(raw, "type", int))
