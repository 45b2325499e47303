"""How amounts and durations read to a trader: one format everywhere."""

from __future__ import annotations

from decimal import Decimal


def money(value: float | Decimal) -> str:
    """-123.5 → "-$123.50", for reasons a trader reads."""
    amount = float(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def duration(seconds: float) -> str:
    """A length of time as a trader says it, to go before a noun: "45-second", "30-minute",
    "1-hour", "1 h 30 min" (a "30-minute cooldown")."""
    total = max(0, int(round(seconds)))
    if total < 60:
        return f"{total}-second"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}-minute" if secs == 0 else f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if minutes == 0 and secs == 0:
        return f"{hours}-hour"
    return f"{hours} h {minutes} min"
