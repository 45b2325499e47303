"""The 13 rules, one per file, in the SPEC's table order (which is also evaluation order)."""

from __future__ import annotations

from core.config.rules import RulesConfig
from core.rules.base import Breach, LockRequest, Rule, RuleContext
from core.rules.r001_max_contracts import MaxContractsRule
from core.rules.r002_max_contracts_per_instrument import MaxContractsPerInstrumentRule
from core.rules.r003_daily_realized_loss import DailyRealizedLossRule
from core.rules.r004_daily_unrealized_loss import DailyUnrealizedLossRule
from core.rules.r005_max_unrealized_profit import MaxUnrealizedProfitRule
from core.rules.r006_trade_frequency_limit import TradeFrequencyLimitRule
from core.rules.r007_cooldown_after_loss import CooldownAfterLossRule
from core.rules.r008_no_stop_loss_grace import NoStopLossGraceRule
from core.rules.r009_session_block_outside import SessionBlockOutsideRule
from core.rules.r010_auth_loss_guard import AuthLossGuardRule
from core.rules.r011_symbol_blocks import SymbolBlocksRule
from core.rules.r012_trade_management import TradeManagementRule
from core.rules.r013_daily_realized_profit import DailyRealizedProfitRule

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
)


def build_rules(config: RulesConfig) -> list[Rule]:  # type: ignore[type-arg]
    """The enabled rules, in table order."""
    rules = []
    for rule_cls in ALL_RULES:
        rule_config = getattr(config, rule_cls.key)
        if rule_config.enabled:
            rules.append(rule_cls(rule_config))
    return rules


__all__ = ["ALL_RULES", "Breach", "LockRequest", "Rule", "RuleContext", "build_rules"]
