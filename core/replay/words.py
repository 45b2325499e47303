"""The rules' names as a trader reads them in a replay report: never a rule id alone."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.domain.words import money

RULE_NAMES: dict[str, str] = {
    "RULE-001": "Max contracts",
    "RULE-002": "Max contracts per symbol",
    "RULE-003": "Daily loss limit",
    "RULE-004": "Open-loss limit",
    "RULE-005": "Open-profit target",
    "RULE-006": "Trade frequency limit",
    "RULE-007": "Cooldown after a loss",
    "RULE-008": "Stop-loss grace period",
    "RULE-009": "Trading hours",
    "RULE-010": "Trading permission",
    "RULE-011": "Blocked symbols",
    "RULE-012": "Trade management",
    "RULE-013": "Daily profit target",
    "CLEANUP": "Stop cleanup",
    "STOP-SIZE": "Stops follow the position",
}

# The config table of each rule: which tables a replay can and cannot judge.
RULE_TABLES: dict[str, str] = {
    "RULE-001": "max_contracts",
    "RULE-002": "max_contracts_per_instrument",
    "RULE-003": "daily_realized_loss",
    "RULE-004": "daily_unrealized_loss",
    "RULE-005": "max_unrealized_profit",
    "RULE-006": "trade_frequency_limit",
    "RULE-007": "cooldown_after_loss",
    "RULE-008": "no_stop_loss_grace",
    "RULE-009": "session_block_outside",
    "RULE-010": "auth_loss_guard",
    "RULE-011": "symbol_blocks",
    "RULE-012": "trade_management",
    "RULE-013": "daily_realized_profit",
}


def rule_name(rule_id: str) -> str:
    """"Daily loss limit" for RULE-003; an id this version does not know reads as itself."""
    return RULE_NAMES.get(rule_id, rule_id)


def signed_money(value: Decimal) -> str:
    """+$12.50, -$3.00, $0.00: a difference reads with its sign."""
    if value == 0:
        return "$0.00"
    return ("+" if value > 0 else "") + money(value)


def local_time(at: datetime, zone: ZoneInfo, seconds: bool = True) -> str:
    local = at.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
