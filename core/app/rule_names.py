"""The names a trader uses for each rule: what alerts and summaries say instead of ``RULE-003``."""

from __future__ import annotations

RULE_NAMES: dict[str, str] = {
    "RULE-001": "Maximum contracts",
    "RULE-002": "Contracts per instrument",
    "RULE-003": "Daily loss limit",
    "RULE-004": "Open loss limit",
    "RULE-005": "Open profit target",
    "RULE-006": "Trade frequency limit",
    "RULE-007": "Cooldown after a loss",
    "RULE-008": "Stop-loss required",
    "RULE-009": "Trading hours",
    "RULE-010": "Trading permission",
    "RULE-011": "Blocked symbols",
    "RULE-012": "Trade management",
    "RULE-013": "Daily profit target",
    "RULE-014": "Maximum loss limit guard",
    "RULE-015": "Plan position size",
    "RULE-016": "Firm close",
    "RULE-017": "Loss streak",
    # Upkeep the engine does on its own account, not rules a trader set.
    "CLEANUP": "Order cleanup",
    "STOP-SIZE": "Stops follow the position",
}


def rule_name(rule_id: str) -> str:
    """``"RULE-003"`` → ``"Daily loss limit"``; an id not known here reads as "A risk rule"
    rather than leaking the id to a trader."""
    return RULE_NAMES.get(rule_id, "A risk rule")
