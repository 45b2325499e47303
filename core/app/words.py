"""The trader's words for the app's internal keys.

Core keys rules by id (``RULE-003``) and actions by verb (``partial_close``): stable names for
the state file and the logs. Everything a trader reads goes through here instead, so the
tray, the dashboard, the popups, the history and the log lines all say "Daily loss limit"
and "Reduced" the same way.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.app.state_notices import HISTORY_LOCK
from core.domain.words import RULE_NAMES, TABLE_RULES
from core.gateway.errors import AuthError, GatewayError, GatewayHttpError, GatewayRestError

SELF_LOCK = "SELF-LOCK"  # the rule id of a lock the trader set with "Lock me out now"
CLEANUP = "CLEANUP"  # the engine's id for cancelling a stop left behind by a closed position
STOP_SIZE = "STOP-SIZE"  # the engine's id for cutting a stop down to what is left of its position
RESTRICT = "RESTRICT"  # the ladder's restrict step before a money limit

# rule id → what a lock or breach is "for", in a few lowercase words (names: RULE_NAMES)
_CAUSES: dict[str, str] = {
    "RULE-001": "too many contracts",
    "RULE-002": "too many contracts in one symbol",
    "RULE-003": "daily loss",
    "RULE-004": "open loss",
    "RULE-005": "open profit target",
    "RULE-006": "too many trades",
    "RULE-007": "losing trade",
    "RULE-008": "no stop-loss",
    "RULE-009": "outside trading hours",
    "RULE-010": "trading permission lost",
    "RULE-011": "blocked symbol",
    "RULE-012": "stop management",
    "RULE-013": "daily profit target",
    "RULE-014": "near the Maximum Loss Limit",
    "RULE-015": "over the plan's size",
    "RULE-016": "the firm's close",
    "RULE-017": "losing streak",
    RESTRICT: "trading small near a limit",
    CLEANUP: "leftover stop",
    STOP_SIZE: "stop larger than the position",
    SELF_LOCK: "you locked yourself out",
    HISTORY_LOCK: "reading today's trade history",
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
    return RULE_NAMES.get(rule_id, rule_id)


def rule_cause(rule_id: str) -> str:
    """A lock's cause in a few words: "Locked until 17:00 CST (daily loss)"."""
    return _CAUSES.get(rule_id, rule_id)


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


def gateway_failure(exc: GatewayRestError) -> str:
    """Why a call to the gateway failed, and what to do, for a message the trader reads (the
    technical chain stays in the log)."""
    if isinstance(exc, AuthError):
        return "the gateway refused the login: check the username and the API key"
    if isinstance(exc, GatewayError):
        return f"the gateway refused the request ({exc.message or exc.name})"
    if isinstance(exc, GatewayHttpError):
        if exc.status is None:
            return ("the gateway could not be reached: check the internet connection and the "
                    "gateway address in the config, then try again")
        if exc.status == 429:
            return "the gateway is limiting requests right now: try again in a minute"
        if exc.status >= 500:
            return f"the gateway had an error (HTTP {exc.status}): try again later"
        return f"the gateway answered HTTP {exc.status}"
    return "the gateway's answer was not clear: try again"
