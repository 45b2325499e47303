"""The ``[alerts]`` table: which off-PC services get which events.

Only settings that are safe to read in a config file live here. What grants access is a
secret and lives in the OS keyring (see ``core.app.alerts.secrets``), never in the TOML:

- Discord: the webhook URL. Its path holds the webhook's token; whoever has the URL can post
  to the channel as the app.
- Telegram: the bot token (it controls the bot). The chat id is not secret: it only says
  where to send, and without the token nobody can send there.
- ntfy: the topic. On a public server the topic is the only thing standing between a stranger
  and the trader's notifications (anyone who knows it can read and post), so it is a bearer
  secret; an optional access token for protected topics is one too. The server URL is not.
- Generic webhook: the URL (such URLs usually carry their own key) and an optional bearer token.

Every key has a default, unknown keys are errors that name them, and values are strictly typed,
like every other table of the config.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from core.config.types import Count, Switch, as_toml

AlertEvent = Literal[
    "lock_set",
    "lock_lifted",
    "enforcement_failing",
    "enforcement_recovered",
    "warning",
    "connection_lost",
    "day_summary",
    "breach",
]
"""lock_set: a lock or cooldown starts (symbol blocks too); lock_lifted: one ends;
enforcement_failing / enforcement_recovered: a close or cancel keeps failing / finally went
through; warning: a limit is getting close; connection_lost: the link to the gateway is down
for longer than ``connection_lost_after_seconds`` (and the all-clear when it is back);
day_summary: the day's results at the daily reset; breach: every rule breach (noisy: off by
default)."""

ALL_EVENTS: tuple[AlertEvent, ...] = get_args(AlertEvent)
DEFAULT_EVENTS: tuple[AlertEvent, ...] = tuple(e for e in ALL_EVENTS if e != "breach")

SERVICES: tuple[str, ...] = ("discord", "telegram", "ntfy", "webhook")

SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "discord": ("webhook_url",),
    "telegram": ("bot_token",),
    "ntfy": ("topic", "access_token"),
    "webhook": ("url", "token"),
}
"""Each service's secrets, by name: kept in the OS keyring, refused in the config file."""


def _web_address(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a web address such as \"https://ntfy.sh\", got {as_toml(value)}")
    text = value.strip().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or " " in text:
        raise ValueError(f"{value!r} is not a web address starting with https://")
    return text


WebAddress = Annotated[str, BeforeValidator(_web_address)]
"""An http(s) URL without a trailing slash (paths are appended to it)."""


def _chat_id(value: Any) -> str:
    # Telegram shows a chat id as a number (groups are negative) and a channel as @name; a
    # TOML integer is the natural way to write the first, so both are accepted, kept as text.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"expected a chat id such as 123456789 or \"@mychannel\", got {as_toml(value)}"
        )
    text = str(value).strip()
    if text and not (text.lstrip("-").isdigit() or (text.startswith("@") and len(text) > 1)):
        raise ValueError(f"{value!r} is not a chat id (a number, or @ and a channel name)")
    return text


ChatId = Annotated[str, BeforeValidator(_chat_id)]


class _Strict(BaseModel):
    # A typo must not silently switch an alert off: unknown keys are errors.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServiceAlerts(_Strict):
    service_key: ClassVar[str] = ""  # the table's name under [alerts]

    enabled: Switch = Field(False, title="Enabled")
    events: list[AlertEvent] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        title="Send",
        description="Which events go to this service: lock_set, lock_lifted, enforcement_failing, "
        "enforcement_recovered, warning, connection_lost, day_summary, breach.",
    )

    @field_validator("events", mode="before")
    @classmethod
    def _no_repeats(cls, value: Any) -> Any:
        if isinstance(value, list):
            seen: set[Any] = set()
            for item in value:
                if isinstance(item, str) and item in seen:
                    raise ValueError(f"{item!r} is listed twice")
                seen.add(item)
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, value: Any) -> Any:
        # Plainer than "unknown key" for someone who pastes the webhook URL into the file.
        if isinstance(value, dict):
            for key in SECRET_KEYS.get(cls.service_key, ()):
                if key in value:
                    raise ValueError(
                        f"{key} is a secret: it is kept in the OS keyring, never in this file "
                        "(enter it in Settings, Alerts); remove it from here"
                    )
        return value


class DiscordAlerts(ServiceAlerts):
    """A Discord channel webhook. Its URL is kept in the OS keyring."""

    service_key: ClassVar[str] = "discord"


class TelegramAlerts(ServiceAlerts):
    """A Telegram bot writing to a chat. The bot token is kept in the OS keyring."""

    service_key: ClassVar[str] = "telegram"

    chat_id: ChatId = Field(
        "",
        title="Chat id",
        description="The chat the bot writes to: your user id, a group id (negative) or @channel.",
    )
    api_url: WebAddress = Field(
        "https://api.telegram.org", title="Bot API address", description="Rarely changed."
    )


class NtfyAlerts(ServiceAlerts):
    """An ntfy topic (the ntfy app on a phone subscribes to it). The topic is kept in the OS
    keyring: on a public server anyone who knows it can read the alerts."""

    service_key: ClassVar[str] = "ntfy"

    server_url: WebAddress = Field(
        "https://ntfy.sh", title="Server", description="ntfy.sh or your own ntfy server."
    )


class WebhookAlerts(ServiceAlerts):
    """Any service that takes a JSON POST. The URL (and an optional bearer token) are kept in
    the OS keyring."""

    service_key: ClassVar[str] = "webhook"


class AlertsConfig(_Strict):
    """Alerts sent off the PC: Discord, Telegram, ntfy and a generic JSON webhook."""

    connection_lost_after_seconds: Count = Field(
        60,
        ge=0,
        title="Connection lost after (s)",
        description="Say so when the gateway connection has been down this long.",
    )
    seconds_between_messages: Count = Field(
        10,
        ge=0,
        title="Seconds between messages",
        description="At most one message this often per service; what happens in between is "
        "sent together as one digest.",
    )
    summary_on_quiet_days: Switch = Field(
        False,
        title="Summary on quiet days",
        description="Also send the end-of-day summary for a day with no trades, breaches or locks.",
    )
    discord: DiscordAlerts = Field(default_factory=DiscordAlerts, title="Discord")
    telegram: TelegramAlerts = Field(default_factory=TelegramAlerts, title="Telegram")
    ntfy: NtfyAlerts = Field(default_factory=NtfyAlerts, title="ntfy")
    webhook: WebhookAlerts = Field(default_factory=WebhookAlerts, title="Webhook")

    def service(self, name: str) -> ServiceAlerts:
        if name not in SERVICES:
            raise KeyError(name)
        table: ServiceAlerts = getattr(self, name)
        return table
