"""Top-level config: gateway, general, the shared rules, and rules per account."""

from __future__ import annotations

import ipaddress
import urllib.parse
from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    @field_validator("api_url", "user_hub_url", "market_hub_url")
    @classmethod
    def _secure_url(cls, value: str) -> str:
        return check_gateway_url(value)


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_gateway_url(value: str) -> str:
    """An https:// URL, or http:// to this computer only (a local test gateway).

    The token and every order go over this connection: plain http to another machine would
    hand them to anyone on the network.
    """
    try:
        parts = urllib.parse.urlsplit(value.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ValueError(f"must start with https:// ({shown} is not allowed)")
    if not host:
        raise ValueError("has no host name")
    if scheme == "http" and not _is_loopback(host):
        raise ValueError(
            "plain http:// would send your token and orders unencrypted; use https:// "
            "(http:// is allowed only for this computer: localhost, 127.0.0.1, ::1)"
        )
    return value.strip()


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
