"""The rules' names as a trader reads them in a replay report: never a rule id alone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.domain.words import TABLE_RULES, money
from core.domain.words import rule_name as rule_name

# The config table of each rule: which tables a replay can and cannot judge.
RULE_TABLES: dict[str, str] = {rule: table for table, rule in TABLE_RULES.items()}


def signed_money(value: Decimal) -> str:
    """+$12.50, -$3.00, $0.00: a difference reads with its sign."""
    if value == 0:
        return "$0.00"
    return ("+" if value > 0 else "") + money(value)


def local_time(at: datetime, zone: ZoneInfo, seconds: bool = True) -> str:
    local = at.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
