"""Top-level config: gateway, general, rules."""

from __future__ import annotations

import ipaddress
import urllib.parse
from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.config.rules import RulesConfig
from core.config.types import ClockTime, TimezoneName


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
    accounts: list[int] = Field(
        default_factory=list,
        title="Protected accounts",
        description="Account ids to protect; empty protects every active account.",
    )


class AppConfig(_Strict):
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    general: GeneralConfig = Field(default_factory=GeneralConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
