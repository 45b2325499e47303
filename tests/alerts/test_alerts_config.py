"""The [alerts] table: defaults, strict types, unknown keys, secrets refused, and changes that
apply at once (telling the trader changes no protection)."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from core.config.alerts import ALL_EVENTS, DEFAULT_EVENTS, SECRET_KEYS, SERVICES
from core.config.changes import Direction, classify, split
from core.config.io import ConfigError, dump_config, parse_config
from core.config.models import AppConfig
from tests.builders import config, default_config


def _error(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config({"alerts": data})
    return caught.value


def test_every_key_has_a_default_and_nothing_is_sent_by_default() -> None:
    alerts = parse_config({}).alerts
    assert alerts.connection_lost_after_seconds == 60
    assert alerts.seconds_between_messages == 10
    assert alerts.summary_on_quiet_days is False
    for name in SERVICES:
        table = alerts.service(name)
        assert table.enabled is False
        assert table.events == list(DEFAULT_EVENTS)
    assert "breach" in ALL_EVENTS and "breach" not in DEFAULT_EVENTS
    assert alerts.telegram.api_url == "https://api.telegram.org"
    assert alerts.ntfy.server_url == "https://ntfy.sh"
    assert parse_config({"alerts": {"discord": {}}}).alerts.discord.enabled is False


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"discrod": {"enabled": True}}, "alerts.discrod", "unknown key"),
        ({"ntfy": {"enabled": True, "priority": 5}}, "alerts.ntfy.priority", "unknown key"),
        ({"discord": {"enabled": "yes"}}, "alerts.discord.enabled", "expected true or false"),
        ({"connection_lost_after_seconds": "60"}, "alerts.connection_lost_after_seconds",
         "expected a whole number"),
        ({"connection_lost_after_seconds": 60.0}, "alerts.connection_lost_after_seconds",
         "expected a whole number"),
        ({"connection_lost_after_seconds": -1}, "alerts.connection_lost_after_seconds",
         "greater than or equal to 0"),
        ({"seconds_between_messages": True}, "alerts.seconds_between_messages",
         "expected a whole number"),
        ({"telegram": {"chat_id": True}}, "alerts.telegram.chat_id", "expected a chat id"),
        ({"telegram": {"chat_id": "my chat"}}, "alerts.telegram.chat_id", "is not a chat id"),
        ({"ntfy": {"server_url": "ntfy.sh"}}, "alerts.ntfy.server_url", "web address"),
        ({"ntfy": {"server_url": 5}}, "alerts.ntfy.server_url", "web address"),
        ({"webhook": {"events": ["lock_set", "lockset"]}}, "alerts.webhook.events.1", "lock_set"),
        ({"webhook": {"events": ["warning", "warning"]}}, "alerts.webhook.events",
         "'warning' is listed twice"),
        ({"webhook": {"events": "warning"}}, "alerts.webhook.events", "list"),
    ],
)
def test_bad_values_are_errors_naming_the_key(data: dict[str, Any], key: str, words: str) -> None:
    error = _error(data)
    assert error.key == key
    assert words in error.reason


@pytest.mark.parametrize(("service", "secret"), [(s, k) for s, keys in SECRET_KEYS.items() for k in keys])
def test_a_secret_written_in_the_file_is_refused_and_says_where_it_goes(service: str, secret: str) -> None:
    error = _error({service: {"enabled": True, secret: "https://example.com/abc"}})
    assert error.key == f"alerts.{service}"
    assert f"{secret} is a secret" in error.reason and "OS keyring" in error.reason


def test_chat_ids_are_numbers_or_channel_names() -> None:
    assert parse_config({"alerts": {"telegram": {"chat_id": 123456789}}}).alerts.telegram.chat_id == "123456789"
    assert parse_config({"alerts": {"telegram": {"chat_id": -100123}}}).alerts.telegram.chat_id == "-100123"
    assert parse_config({"alerts": {"telegram": {"chat_id": "@desk"}}}).alerts.telegram.chat_id == "@desk"


def test_addresses_lose_their_trailing_slash() -> None:
    cfg = parse_config({"alerts": {"ntfy": {"server_url": "https://ntfy.example.com/"}}})
    assert cfg.alerts.ntfy.server_url == "https://ntfy.example.com"


def test_the_table_survives_a_save_and_load() -> None:
    cfg = config(alerts={"telegram": {"enabled": True, "chat_id": -100123, "events": ["lock_set"]},
                         "connection_lost_after_seconds": 30})
    assert parse_config(tomllib.loads(dump_config(cfg))) == cfg


def test_the_shipped_default_config_lists_the_alert_defaults_with_every_service_off() -> None:
    alerts = default_config().alerts
    assert alerts == AppConfig().alerts  # the file documents the real defaults
    assert not any(alerts.service(name).enabled for name in SERVICES)


def test_alert_changes_apply_at_once_even_while_a_loosening_waits() -> None:
    old = config({"daily_realized_loss": {"limit": 500}})
    new = config({"daily_realized_loss": {"limit": 800}},  # loosens: waits for the reset
                 alerts={"discord": {"enabled": True}})
    changes = {c.key: c.direction for c in classify(old, new)}
    assert changes["alerts.discord"] is Direction.NEUTRAL
    now, later = split(old, new)
    assert now.alerts.discord.enabled is True
    assert now.rules.daily_realized_loss.limit == 500
    assert later is not None and later.rules.daily_realized_loss.limit == 800
