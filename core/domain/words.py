"""How amounts and durations read to a trader: one format everywhere."""

from __future__ import annotations

import math
from decimal import Decimal


def money(value: float | Decimal) -> str:
    """-123.5 → "-$123.50", for reasons a trader reads."""
    amount = float(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def duration(seconds: float) -> str:
    """How long, in one format everywhere: "45 s", "4 min 10 s", "30 min", "1 h 12 min",
    "2 days 3 h". Rounded up to the second: a lock never reads "0 s" while it still holds."""
    total = max(0, math.ceil(seconds - 1e-9))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        head = f"{days} day{'s' if days != 1 else ''}"
        return f"{head} {hours} h" if hours else head
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def length(seconds: float) -> str:
    """A duration before a noun, as a trader says it: a "30-minute" cooldown, a "45-second"
    grace, a "1-hour" cooldown; anything else in the one :func:`duration` format."""
    total = max(0, math.ceil(seconds - 1e-9))
    for unit, name in ((3600, "hour"), (60, "minute"), (1, "second")):
        if total >= unit and total % unit == 0:
            return f"{total // unit}-{name}"
    return duration(total)
