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


# Rule ids are keys (the state file, the logs); everything a trader reads names the rule as a
# trader says it. One table for the tray, the dashboard, popups, alerts, history and replay.
RULE_NAMES: dict[str, str] = {
    "RULE-001": "Max contracts",
    "RULE-002": "Max contracts per symbol",
    "RULE-003": "Daily loss limit",
    "RULE-004": "Open loss limit",
    "RULE-005": "Open profit target",
    "RULE-006": "Too many trades",
    "RULE-007": "Cooldown after a loss",
    "RULE-008": "Require a stop-loss",
    "RULE-009": "Trading hours",
    "RULE-010": "Lost trading permission",
    "RULE-011": "Blocked symbols",
    "RULE-012": "Breakeven and trailing stop",
    "RULE-013": "Daily profit target",
    "RULE-014": "Maximum Loss Limit guard",
    "RULE-015": "Plan position size",
    "RULE-016": "Flat before the firm's close",
    "RULE-017": "Losing streak",
    "RESTRICT": "Restrict step",
    "CLEANUP": "Leftover stop clean-up",
    "STOP-SIZE": "Stop cut to the position",
    "SELF-LOCK": "Lock me out now",
    # New entries closed after a state file rebuild until the account's trade history is read.
    "HISTORY": "Waiting for trade history",
}

# config table → rule id (SPEC section 2's table names)
TABLE_RULES: dict[str, str] = {
    "max_contracts": "RULE-001",
    "max_contracts_per_instrument": "RULE-002",
    "daily_realized_loss": "RULE-003",
    "daily_unrealized_loss": "RULE-004",
    "max_unrealized_profit": "RULE-005",
    "trade_frequency_limit": "RULE-006",
    "cooldown_after_loss": "RULE-007",
    "no_stop_loss_grace": "RULE-008",
    "session_block_outside": "RULE-009",
    "auth_loss_guard": "RULE-010",
    "symbol_blocks": "RULE-011",
    "trade_management": "RULE-012",
    "daily_realized_profit": "RULE-013",
    "max_loss_guard": "RULE-014",
    "plan_position_size": "RULE-015",
    "firm_close": "RULE-016",
    "loss_streak": "RULE-017",
}


def rule_name(rule_id: str) -> str:
    """"Daily loss limit" for RULE-003; an id this version does not know reads as itself."""
    return RULE_NAMES.get(rule_id, rule_id)


def rule_label(rule_id: str) -> str:
    """How a log line names a rule: "Daily loss limit [RULE-003]", the trader's name first and
    the id in brackets after it so a log can still be searched by it."""
    name = rule_name(rule_id)
    return f"{name} [{rule_id}]" if name != rule_id else rule_id
