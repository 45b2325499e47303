"""How amounts and durations read to a trader: one format everywhere."""

from __future__ import annotations

from decimal import Decimal


def money(value: float | Decimal) -> str:
    """-123.5 → "-$123.50", for reasons a trader reads."""
    amount = float(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
