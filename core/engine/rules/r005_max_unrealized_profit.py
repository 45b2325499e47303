"""RULE-005: an open profit reached the target → take it (close that position, or all)."""

from __future__ import annotations

from core.config.rules import MaxUnrealizedProfit
from core.engine.rules.open_pnl_bound import OpenPnlBoundRule


class MaxUnrealizedProfitRule(OpenPnlBoundRule[MaxUnrealizedProfit]):
    rule_id = "RULE-005"
    key = "max_unrealized_profit"
    noun = "profit"
    bound_word = "target"
    side = 1

    def __init__(self, config: MaxUnrealizedProfit) -> None:
        super().__init__(config, config.target, config.scope == "position")
