"""RULE-004: an open loss reached the limit → close that position (account scope: all)."""

from __future__ import annotations

from core.config.rules import DailyUnrealizedLoss
from core.engine.rules.open_pnl_bound import OpenPnlBoundRule


class DailyUnrealizedLossRule(OpenPnlBoundRule[DailyUnrealizedLoss]):
    rule_id = "RULE-004"
    key = "daily_unrealized_loss"
    noun = "loss"
    bound_word = "limit"
    side = -1

    def __init__(self, config: DailyUnrealizedLoss) -> None:
        super().__init__(config, -config.limit, config.scope == "position")
