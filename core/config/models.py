"""Top-level config: gateway, general, rules."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field

from core.config.alerts import AlertsConfig
from core.config.rules import RulesConfig
from core.config.types import ClockTime, Count, TimezoneName


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


class AppConfig(_Strict):
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    general: GeneralConfig = Field(default_factory=GeneralConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
