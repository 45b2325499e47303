"""The rules, one per file, in the SPEC's table order (which is also evaluation order).

A new rule is a file here (``rNNN_<table>.py``), its config model in ``core/config/rules.py``,
and its entry in ``ALL_RULES``; a rule reads state through ``RuleContext`` and returns breaches.
"""

from __future__ import annotations

from core.config.rules import RulesConfig
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.engine.rules.ladder import LadderRule
from core.engine.rules.r001_max_contracts import MaxContractsRule
from core.engine.rules.r002_max_contracts_per_instrument import MaxContractsPerInstrumentRule
from core.engine.rules.r003_daily_realized_loss import DailyRealizedLossRule
from core.engine.rules.r004_daily_unrealized_loss import DailyUnrealizedLossRule
from core.engine.rules.r005_max_unrealized_profit import MaxUnrealizedProfitRule
from core.engine.rules.r006_trade_frequency_limit import TradeFrequencyLimitRule
from core.engine.rules.r007_cooldown_after_loss import CooldownAfterLossRule
from core.engine.rules.r008_no_stop_loss_grace import NoStopLossGraceRule
from core.engine.rules.r009_session_block_outside import SessionBlockOutsideRule
from core.engine.rules.r010_auth_loss_guard import AuthLossGuardRule
from core.engine.rules.r011_symbol_blocks import SymbolBlocksRule
from core.engine.rules.r012_trade_management import TradeManagementRule
from core.engine.rules.r013_daily_realized_profit import DailyRealizedProfitRule
from core.engine.rules.r014_max_loss_guard import MaxLossGuardRule
from core.engine.rules.r015_plan_position_size import PlanPositionSizeRule
from core.engine.rules.r016_firm_close import FirmCloseRule
from core.engine.rules.r017_loss_streak import LossStreakRule

ALL_RULES: tuple[type[Rule], ...] = (  # type: ignore[type-arg]
    MaxContractsRule,
    MaxContractsPerInstrumentRule,
    DailyRealizedLossRule,
    DailyUnrealizedLossRule,
    MaxUnrealizedProfitRule,
    TradeFrequencyLimitRule,
    CooldownAfterLossRule,
    NoStopLossGraceRule,
    SessionBlockOutsideRule,
    AuthLossGuardRule,
    SymbolBlocksRule,
    TradeManagementRule,
    DailyRealizedProfitRule,
    MaxLossGuardRule,
    PlanPositionSizeRule,
    FirmCloseRule,
    LossStreakRule,
)


def build_rules(config: RulesConfig) -> list[Rule]:  # type: ignore[type-arg]
    """The enabled rules, in table order; the ladder's restrict steps last, when any is set."""
    rules: list[Rule] = []  # type: ignore[type-arg]
    for rule_cls in ALL_RULES:
        rule_config = getattr(config, rule_cls.key)
        if rule_config.enabled:
            rules.append(rule_cls(rule_config))
    if LadderRule.wanted(config):
        rules.append(LadderRule(config))
    return rules


__all__ = ["ALL_RULES", "Breach", "LockRequest", "Rule", "RuleContext", "build_rules"]
