"""The steps before a money limit: warnings, then an optional restrict step, then the limit's
own flatten-and-lock (SPEC section 6, "reach and ladder"). The fields are declared in each
money rule's table (after its own keys), from the definitions here."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def fractions(value: list[float]) -> list[float]:
    for fraction in value:
        if not 0 < fraction < 1:
            raise ValueError(f"each warning fraction must be between 0 and 1, got {fraction}")
    return sorted(set(value))


def below_one(value: float) -> float:
    if value >= 1:
        raise ValueError(f"the restrict step must come before the limit (below 1), got {value}")
    return value


def warn_fractions(*default: float) -> Any:
    return Field(
        default_factory=lambda: list(default),
        title="Warn at",
        description="Fractions of the limit that raise a warning once per trading day.",
        # a list of fractions of a limit: the settings window shows them as percentages
        json_schema_extra={"fractions": True},
    )


def restrict_at(what: str = "a fraction of the limit (0.8 = 80 %)") -> Any:
    return Field(
        0.0, ge=0, title="Restrict at",
        description=f"Past this, trade small until the day ends: {what}; 0 = no restrict step.",
    )


def restrict_max_contracts() -> Any:
    return Field(1, ge=0, title="While restricted: contracts", description="At most this many open.")


def restrict_cooldown_seconds() -> Any:
    return Field(
        600, ge=0, title="While restricted: cooldown after a losing exit (s)", description="0 = none.",
    )
