"""The trader's words for the app's internal keys.

Core keys rules by id (``RULE-003``) and actions by verb (``partial_close``): stable names for
the state file and the logs. Everything a trader reads goes through here instead, so the
tray, the dashboard, the popups, the history and the log lines all say "Daily loss limit"
and "Reduced" the same way.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SELF_LOCK = "SELF-LOCK"  # the rule id of a lock the trader set with "Lock me out now"
CLEANUP = "CLEANUP"  # the engine's id for cancelling a stop left behind by a closed position
STOP_SIZE = "STOP-SIZE"  # the engine's id for cutting a stop down to what is left of its position
RESTRICT = "RESTRICT"  # the ladder's restrict step before a money limit

# rule id → (name, what a lock or breach is "for", in a few lowercase words)
_RULES: dict[str, tuple[str, str]] = {
    "RULE-001": ("Max contracts", "too many contracts"),
    "RULE-002": ("Max contracts per symbol", "too many contracts in one symbol"),
    "RULE-003": ("Daily loss limit", "daily loss"),
    "RULE-004": ("Open loss limit", "open loss"),
    "RULE-005": ("Open profit target", "open profit target"),
    "RULE-006": ("Too many trades", "too many trades"),
    "RULE-007": ("Cooldown after a loss", "losing trade"),
    "RULE-008": ("Require a stop-loss", "no stop-loss"),
    "RULE-009": ("Trading hours", "outside trading hours"),
    "RULE-010": ("Lost trading permission", "trading permission lost"),
    "RULE-011": ("Blocked symbols", "blocked symbol"),
    "RULE-012": ("Breakeven and trailing stop", "stop management"),
    "RULE-013": ("Daily profit target", "daily profit target"),
    "RULE-014": ("Maximum Loss Limit guard", "near the Maximum Loss Limit"),
    "RULE-015": ("Plan position size", "over the plan's size"),
    "RULE-016": ("Flat before the firm's close", "the firm's close"),
    "RULE-017": ("Losing streak", "losing streak"),
    RESTRICT: ("Restrict step", "trading small near a limit"),
    CLEANUP: ("Leftover stop clean-up", "leftover stop"),
    STOP_SIZE: ("Stop cut to the position", "stop larger than the position"),
    SELF_LOCK: ("Lock me out now", "you locked yourself out"),
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

# enforcement verb → what happened, as the history and the popups say it
ACTION_WORDS: dict[str, str] = {
    "close_contract": "Closed",
    "partial_close": "Reduced",
    "cancel_order": "Cancelled",
    "flatten": "Closed everything",
    "modify_stop": "Stop moved",
    "place_stop": "Stop placed",
}
OUTCOME_WORDS: dict[str, str] = {
    "issued": "Sent",
    "done": "Done",
    "retry": "Retrying",
    "failed": "Failed",
}


def rule_name(rule_id: str) -> str:
    """ "Daily loss limit" for RULE-003; an id new to us is shown as it came."""
    entry = _RULES.get(rule_id)
    return entry[0] if entry else rule_id


def rule_cause(rule_id: str) -> str:
    """A lock's cause in a few words: "Locked until 17:00 CST (daily loss)"."""
    entry = _RULES.get(rule_id)
    return entry[1] if entry else rule_id


def table_name(table: str) -> str:
    """The settings page of a rule table: "Trading hours" for session_block_outside."""
    rule_id = TABLE_RULES.get(table)
    return rule_name(rule_id) if rule_id else table.replace("_", " ").capitalize()


def action_word(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


def outcome_word(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome.capitalize())


def side_word(signed_size: int) -> str:
    """ "long 7", "short 2", "flat"."""
    if signed_size > 0:
        return f"long {signed_size}"
    if signed_size < 0:
        return f"short {-signed_size}"
    return "flat"


def local_time(at: datetime, zone: ZoneInfo, *, with_day: bool = False, now: datetime | None = None) -> str:
    """ "17:00 CST", or "Thu 17:00 CST" when asked for (or when it is not on ``now``'s date)."""
    local = at.astimezone(zone)
    other_day = now is not None and now.astimezone(zone).date() != local.date()
    fmt = "%a %H:%M" if with_day or other_day else "%H:%M"
    return f"{local.strftime(fmt)} {local.tzname() or ''}".strip()


def percent(fraction: float) -> str:
    """0.8 → "80 %"; 1.573 → "157 %"."""
    return f"{fraction * 100:.0f} %"


def gateway_words(error: str) -> str:
    """The part of an enforcement error a trader can use: "HTTP 503 Service Unavailable"
    rather than the whole chain of the client's wrappers around it."""
    text = error.strip()
    for marker in ("HTTP ", "errorCode "):
        at = text.rfind(marker)
        if at >= 0:
            return text[at:].rstrip(")").strip()
    return text.rsplit(": ", 1)[-1] if ": " in text else text
