"""Top-level config: gateway, general, the shared rules, and rules per account."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field

from core.config.accounts import AccountConfig, AccountKey, effective_rules
from core.config.alerts import AlertsConfig
from core.config.rules import RulesConfig
from core.config.types import Amount, ClockTime, Count, TimezoneName


class _Strict(BaseModel):
    # A typo must not silently disable protection: unknown keys are errors.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GatewayConfig(_Strict):
    """Where the ProjectX Gateway lives. The API key never goes in this file."""

    api_url: str = Field("https://api.topstepx.com", title="REST API URL")
    user_hub_url: str = Field("https://rtc.topstepx.com/hubs/user", title="User hub URL")
    market_hub_url: str = Field("https://rtc.topstepx.com/hubs/market", title="Market hub URL")
    username: str = Field(
        "", title="Username", description="Your TopstepX login; or set PROJECTX_USERNAME."
    )


class GeneralConfig(_Strict):
    """The trading-day clock and which accounts to protect."""

    timezone: TimezoneName = Field(
        "America/Chicago", title="Timezone", description="IANA zone of the trading-day clock."
    )
    reset_time: ClockTime = Field(
        time(17, 0),
        title="Daily reset",
        description="A new trading day starts at this time in the timezone above.",
    )
    data_dir: str = Field(
        "", title="Data folder", description="Empty: the platform's user data folder."
    )
    accounts: list[Count] = Field(
        default_factory=list,
        title="Protected accounts",
        description="Account ids to protect; empty protects every active account.",
    )


class TopstepConfig(_Strict):
    """What the app shows about the Topstep account beyond the rules."""

    consistency_warning: Amount = Field(
        0.0, ge=0, lt=1, title="Consistency warning",
        description="Warn when the best day is more than this share of the total profit "
        "(0.4 = 40 %; 0 = off). Topstep's own number is unconfirmed.",
    )


class AppConfig(_Strict):
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    general: GeneralConfig = Field(default_factory=GeneralConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    topstep: TopstepConfig = Field(default_factory=TopstepConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    accounts: dict[AccountKey, AccountConfig] = Field(
        default_factory=dict,
        title="Accounts",
        description="Per account: its Topstep plan, and rule tables that replace the shared ones.",
    )

    def account(self, account_id: int) -> AccountConfig | None:
        return self.accounts.get(str(account_id))

    def rules_for(self, account_id: int) -> RulesConfig:
        """The rules that protect ``account_id``: the shared tables, with its own over them."""
        return effective_rules(self.rules, self.account(account_id))
