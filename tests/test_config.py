"""core/config and resources/default_config.toml: load, validate (errors name the key), save."""

from __future__ import annotations

import os
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

import core.config.io as config_io
from core.config import AppConfig, ConfigError, dump_config, load_config, save_config
from core.config.io import DEFAULT_CONFIG_RESOURCE, parse_config
from core.config.rules import RulesConfig
from tests.builders import config, default_config

# SPEC section 2, in its order.
RULE_TABLES = [
    "max_contracts", "max_contracts_per_instrument", "daily_realized_loss",
    "daily_unrealized_loss", "max_unrealized_profit", "trade_frequency_limit",
    "cooldown_after_loss", "no_stop_loss_grace", "session_block_outside", "auth_loss_guard",
    "symbol_blocks", "trade_management", "daily_realized_profit",
    # SPEC section 6: the Topstep account guard
    "max_loss_guard", "plan_position_size", "firm_close", "loss_streak",
]

SPEC_EXAMPLE = """
[gateway]
api_url = "https://api.topstepx.com"
user_hub_url = "https://rtc.topstepx.com/hubs/user"
market_hub_url = "https://rtc.topstepx.com/hubs/market"
username = "trader@example.com"        # or env PROJECTX_USERNAME

[general]
timezone = "America/Chicago"           # trading-day clock
reset_time = "17:00"
data_dir = ""
accounts = []

[rules.max_contracts]
enabled = true
limit = 5
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(data)
    return excinfo.value


def rule(name: str, **table: Any) -> dict[str, Any]:
    return {"rules": {name: {"enabled": True, **table}}}


# --- the shipped default and loading ---------------------------------------------------------------


def test_rule_tables_are_those_of_the_spec() -> None:
    assert list(RulesConfig.model_fields) == RULE_TABLES


def test_shipped_default_loads() -> None:
    cfg = load_config(DEFAULT_CONFIG_RESOURCE)
    assert cfg == default_config()
    assert cfg.general.timezone == "America/Chicago" and cfg.general.reset_time == time(17, 0)
    assert cfg.general.accounts == [] and cfg.gateway.username == ""
    r = cfg.rules
    assert r.max_contracts.enabled and r.max_contracts.limit == 5
    assert r.max_contracts_per_instrument.limits == {"MNQ": 4, "ES": 1}
    assert r.daily_realized_loss.enabled and r.daily_realized_loss.limit == 500
    assert r.daily_realized_loss.warn_at == [0.5, 0.8]
    assert [(t.loss, t.seconds) for t in r.cooldown_after_loss.tiers] == [
        (100, 300), (200, 900), (300, 1800)]
    assert r.session_block_outside.start == time(8, 30) and r.session_block_outside.end == time(15, 10)
    assert r.auth_loss_guard.enabled and not r.trade_management.enabled


def test_default_file_has_every_rule_table() -> None:
    data = tomllib.loads(DEFAULT_CONFIG_RESOURCE.read_text(encoding="utf-8"))
    assert list(data["rules"]) == RULE_TABLES


def test_spec_example_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, SPEC_EXAMPLE))
    assert cfg.gateway.username == "trader@example.com"
    assert cfg.rules.max_contracts.enabled and not cfg.rules.daily_realized_loss.enabled


def test_no_user_file_falls_back_to_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "config.toml"
    monkeypatch.setattr(config_io, "default_config_path", lambda: missing)
    assert load_config(None) == default_config()
    assert load_config() == default_config()
    assert not missing.exists()  # loading never writes


def test_user_file_at_the_default_path_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    user = write(tmp_path, "[rules.max_contracts]\nenabled = true\nlimit = 2\n")
    monkeypatch.setattr(config_io, "default_config_path", lambda: user)
    cfg = load_config(None)
    assert cfg.rules.max_contracts.limit == 2 and not cfg.rules.auth_loss_guard.enabled


def test_an_explicit_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "typo.toml")


# --- tables and keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", RULE_TABLES)
def test_a_table_with_only_enabled_is_valid(name: str) -> None:
    off = parse_config({"rules": {name: {"enabled": False}}})
    assert getattr(off.rules, name).enabled is False
    on = parse_config({"rules": {name: {"enabled": True}}})
    assert getattr(on.rules, name).enabled is True
    others = [getattr(on.rules, other).enabled for other in RULE_TABLES if other != name]
    assert others == [False] * (len(RULE_TABLES) - 1)  # a missing table means that rule is off


def test_missing_rules_section_means_every_rule_off() -> None:
    cfg = parse_config({})
    assert not any(getattr(cfg.rules, name).enabled for name in RULE_TABLES)
    assert cfg.general.timezone == "America/Chicago"


def test_builder_config_enables_only_what_it_is_given() -> None:
    cfg = config({"max_contracts": {"limit": 2}})
    assert cfg.rules.max_contracts.enabled and cfg.rules.max_contracts.limit == 2
    assert not cfg.rules.daily_realized_loss.enabled


def test_unknown_rule_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[rules.max_contracts]\nenabled = true\nlimt = 3\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    err = excinfo.value
    assert err.key == "rules.max_contracts.limt"
    assert "unknown" in err.reason and "unknown" in str(err)
    assert str(path) in str(err) and err.path == path
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(("data", "key"), [
    ({"rules": {"max_contract": {"enabled": True}}}, "rules.max_contract"),
    ({"rule": {}}, "rule"),
    ({"general": {"time_zone": "UTC"}}, "general.time_zone"),
    ({"gateway": {"api_key": "secret"}}, "gateway.api_key"),
    ({"rules": {"cooldown_after_loss": {"enabled": True, "tiers": [{"loss": 1, "seconds": 2,
                                                                   "flatten": True}]}}},
     "rules.cooldown_after_loss.tiers.0.flatten"),
])
def test_unknown_tables_and_keys_are_named(data: dict[str, Any], key: str) -> None:
    err = config_error(data)
    assert err.key == key and "unknown key" in str(err)


@pytest.mark.parametrize(("data", "key"), [
    (rule("daily_realized_loss", limit=-100), "rules.daily_realized_loss.limit"),
    (rule("daily_realized_loss", limit=0), "rules.daily_realized_loss.limit"),
    (rule("daily_realized_loss", limit=float("inf")), "rules.daily_realized_loss.limit"),
    (rule("daily_realized_loss", limit="lots"), "rules.daily_realized_loss.limit"),
    (rule("max_contracts", limit=-1), "rules.max_contracts.limit"),
    (rule("max_contracts", count_type="both"), "rules.max_contracts.count_type"),
    (rule("max_contracts_per_instrument", default_limit=-1),
     "rules.max_contracts_per_instrument.default_limit"),
    (rule("max_contracts_per_instrument", limits={"MNQ": -1}),
     "rules.max_contracts_per_instrument.limits"),
    (rule("daily_unrealized_loss", scope="portfolio"), "rules.daily_unrealized_loss.scope"),
    (rule("trade_frequency_limit", per_minute=0), "rules.trade_frequency_limit.per_minute"),
    (rule("no_stop_loss_grace", grace_seconds=-5), "rules.no_stop_loss_grace.grace_seconds"),
    (rule("cooldown_after_loss", tiers=[]), "rules.cooldown_after_loss.tiers"),
    (rule("cooldown_after_loss", tiers=[{"loss": -1, "seconds": 60}]),
     "rules.cooldown_after_loss.tiers.0.loss"),
    (rule("cooldown_after_loss", tiers=[{"loss": 100}]), "rules.cooldown_after_loss.tiers.0.seconds"),
    ({"rules": {"max_contracts": {"limit": 3}}}, "rules.max_contracts.enabled"),
    ({"general": {"timezone": "Mars/Olympus_Mons"}}, "general.timezone"),
    ({"general": {"timezone": "America"}}, "general.timezone"),  # a tzdata folder, not a zone
    ({"general": {"timezone": ""}}, "general.timezone"),
    ({"general": {"reset_time": "25:00"}}, "general.reset_time"),
    ({"general": {"reset_time": "5pm"}}, "general.reset_time"),
    ({"general": {"reset_time": "17:60"}}, "general.reset_time"),
    ({"general": {"reset_time": "17"}}, "general.reset_time"),
    ({"general": {"reset_time": 1700}}, "general.reset_time"),
    ({"general": {"accounts": ["main"]}}, "general.accounts.0"),
    (rule("session_block_outside", timezone="Chicago"), "rules.session_block_outside.timezone"),
    (rule("session_block_outside", days=[]), "rules.session_block_outside.days"),
    (rule("session_block_outside", holidays=["christmas"]), "rules.session_block_outside.holidays.0"),
    (rule("symbol_blocks", symbols=["E-S"]), "rules.symbol_blocks.symbols.0"),
])
def test_bad_values_name_the_key(data: dict[str, Any], key: str) -> None:
    err = config_error(data)
    assert err.key == key
    assert str(err).startswith(f"{key}: ") and err.reason


@pytest.mark.parametrize("day", ["funday", "monkey", "mo", "", 1])
def test_bad_weekday(day: Any) -> None:
    err = config_error(rule("session_block_outside", days=["mon", day]))
    assert err.key == "rules.session_block_outside.days.1"
    assert "not a weekday" in err.reason


def test_weekdays_are_normalised() -> None:
    cfg = parse_config(rule("session_block_outside", days=["Monday", "TUE", " wed ", "sunday"]))
    assert cfg.rules.session_block_outside.days == ["mon", "tue", "wed", "sun"]


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2])
def test_warn_at_fractions_must_be_inside_zero_one(fraction: float) -> None:
    err = config_error(rule("daily_realized_loss", warn_at=[0.5, fraction]))
    assert err.key == "rules.daily_realized_loss.warn_at" and "between 0 and 1" in err.reason


def test_warn_at_and_tiers_are_sorted() -> None:
    cfg = parse_config({"rules": {
        "daily_realized_loss": {"enabled": True, "warn_at": [0.8, 0.5, 0.8]},
        "cooldown_after_loss": {"enabled": True, "tiers": [{"loss": 300, "seconds": 60},
                                                           {"loss": 100, "seconds": 10}]},
    }})
    assert cfg.rules.daily_realized_loss.warn_at == [0.5, 0.8]
    assert [t.loss for t in cfg.rules.cooldown_after_loss.tiers] == [100, 300]


def test_cooldown_tiers_must_not_be_empty() -> None:
    err = config_error(rule("cooldown_after_loss", tiers=[]))
    assert err.key == "rules.cooldown_after_loss.tiers" and "at least one tier" in err.reason


def test_symbol_roots_are_upper_cased() -> None:
    cfg = parse_config({"rules": {
        "max_contracts_per_instrument": {"enabled": True, "limits": {"mnq": 2, " es ": 1}},
        "symbol_blocks": {"enabled": True, "symbols": ["cl", "Mes"]},
        "session_block_outside": {"enabled": True,
                                  "symbols": {"es": {"start": "08:30", "end": "15:00"}}},
    }})
    assert cfg.rules.max_contracts_per_instrument.limits == {"MNQ": 2, "ES": 1}
    assert cfg.rules.symbol_blocks.symbols == ["CL", "MES"]
    assert list(cfg.rules.session_block_outside.symbols) == ["ES"]


def test_toml_native_times_are_accepted(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[general]\nreset_time = 06:05:30\n"))
    assert cfg.general.reset_time == time(6, 5)


@pytest.mark.parametrize("text", [
    "[rules.max_contracts\nenabled = true\n",
    "[general]\ntimezone = America/Chicago\n",
    "[general]\ntimezone = \"UTC\"\ntimezone = \"UTC\"\n",
])
def test_invalid_toml_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="not valid TOML") as excinfo:
        load_config(path)
    assert excinfo.value.path == path


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe[general]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_validate_assignment_keeps_models_valid() -> None:
    cfg = default_config()
    with pytest.raises(ValueError):
        cfg.rules.max_contracts.limit = -1
    assert cfg.rules.max_contracts.limit == 5


# --- saving ----------------------------------------------------------------------------------------


def test_round_trip_of_the_default(tmp_path: Path) -> None:
    original = load_config(DEFAULT_CONFIG_RESOURCE)
    path = tmp_path / "out" / "config.toml"
    save_config(original, path)
    assert load_config(path) == original


def test_round_trip_of_a_rich_config(tmp_path: Path) -> None:
    cfg = parse_config({
        "gateway": {"username": "trader@example.com"},
        "general": {"timezone": "Europe/London", "reset_time": "06:05", "accounts": [2**40, 7]},
        "rules": {
            "max_contracts_per_instrument": {"enabled": True, "limits": {"mnq": 2}},
            "session_block_outside": {"enabled": True, "days": ["mon", "fri"],
                                      "holidays": [date(2026, 12, 25)],
                                      "symbols": {"ES": {"start": "07:00", "end": "16:00"}}},
            "daily_realized_loss": {"enabled": True, "limit": 123.45, "warn_at": [0.25]},
        },
    })
    path = tmp_path / "config.toml"
    save_config(cfg, path)
    again = load_config(path)
    assert again == cfg
    assert again.rules.max_contracts_per_instrument.default_limit is None
    assert again.rules.session_block_outside.holidays == [date(2026, 12, 25)]


def test_times_serialise_as_hh_mm() -> None:
    cfg = parse_config({"general": {"reset_time": time(6, 5)},
                        "rules": {"session_block_outside": {"enabled": True, "start": "8:30"}}})
    data = tomllib.loads(dump_config(cfg))
    assert data["general"]["reset_time"] == "06:05"
    window = data["rules"]["session_block_outside"]
    assert (window["start"], window["end"]) == ("08:30", "15:10")


def test_default_limit_none_is_omitted_and_reloads_as_none(tmp_path: Path) -> None:
    cfg = parse_config(rule("max_contracts_per_instrument", limits={"MNQ": 1}))
    assert cfg.rules.max_contracts_per_instrument.default_limit is None
    text = dump_config(cfg)
    assert "default_limit" not in text
    assert tomllib.loads(text)["rules"]["max_contracts_per_instrument"]["limits"] == {"MNQ": 1}
    path = tmp_path / "config.toml"
    save_config(cfg, path)
    assert load_config(path).rules.max_contracts_per_instrument.default_limit is None


def test_save_is_atomic_and_replaces_an_existing_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path, "old contents, not even TOML")
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        assert Path(src).read_text(encoding="utf-8") == dump_config(default_config())
        assert path.read_text(encoding="utf-8") == "old contents, not even TOML"
        calls.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(config_io.os, "replace", spy)
    save_config(default_config(), path)
    assert len(calls) == 1
    src, dst = calls[0]
    assert dst == str(path) and Path(src).parent == path.parent and src != dst
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    assert load_config(path) == default_config()


def test_a_failed_save_leaves_the_old_file_and_no_temp(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path, "[rules.max_contracts]\nenabled = true\nlimit = 1\n")

    def broken(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(config_io.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        save_config(default_config(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]
    assert load_config(path).rules.max_contracts.limit == 1


def test_dump_never_writes_secrets_or_nulls() -> None:
    text = dump_config(AppConfig())
    assert "api_key" not in text.lower() and "null" not in text and "None" not in text
    assert load_config_text(text) == AppConfig()


def load_config_text(text: str) -> AppConfig:
    return parse_config(tomllib.loads(text))


# --- strict types (SPEC 3: "true is not an amount, "5" is not a count") ------------------------

COUNTS = [
    ("max_contracts", "limit"), ("max_contracts_per_instrument", "default_limit"),
    ("trade_frequency_limit", "per_minute"), ("trade_frequency_limit", "per_hour"),
    ("trade_frequency_limit", "per_session"), ("trade_frequency_limit", "minute_cooldown_seconds"),
    ("trade_frequency_limit", "hour_cooldown_seconds"),
    ("trade_frequency_limit", "session_cooldown_seconds"), ("no_stop_loss_grace", "grace_seconds"),
    ("trade_management", "breakeven_trigger_ticks"), ("trade_management", "breakeven_offset_ticks"),
    ("trade_management", "trail_activation_ticks"), ("trade_management", "trail_distance_ticks"),
]
AMOUNTS = [
    ("daily_realized_loss", "limit"), ("daily_unrealized_loss", "limit"),
    ("max_unrealized_profit", "target"), ("daily_realized_profit", "target"),
]
SWITCHES = [
    ("max_contracts", "reduce_to_limit"), ("cooldown_after_loss", "flatten"),
    ("session_block_outside", "respect_holidays"), ("trade_management", "breakeven"),
    ("trade_management", "trailing"),
    *[(table, "enabled") for table in RULE_TABLES],
]


@pytest.mark.parametrize(("table", "key"), COUNTS)
@pytest.mark.parametrize("value", [True, False, "5", 5.0, 2.5, [5], {"n": 5}])
def test_a_count_is_a_whole_number_and_nothing_else(table: str, key: str, value: Any) -> None:
    err = config_error(rule(table, **{key: value}))
    assert err.key == f"rules.{table}.{key}"
    assert "whole number" in err.reason


@pytest.mark.parametrize(("table", "key"), COUNTS)
def test_a_count_written_as_a_whole_number_is_taken(table: str, key: str) -> None:
    cfg = parse_config(rule(table, **{key: 7}))
    value = getattr(getattr(cfg.rules, table), key)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize(("table", "key"), AMOUNTS)
@pytest.mark.parametrize("value", [True, False, "500", [500]])
def test_an_amount_is_a_number_not_a_switch_or_text(table: str, key: str, value: Any) -> None:
    err = config_error(rule(table, **{key: value}))
    assert err.key == f"rules.{table}.{key}"
    assert "number" in err.reason


@pytest.mark.parametrize(("table", "key"), AMOUNTS)
@pytest.mark.parametrize("value", [425, 425.5, 0.01])
def test_an_amount_may_be_whole_or_decimal(table: str, key: str, value: float) -> None:
    cfg = parse_config(rule(table, **{key: value}))
    assert getattr(getattr(cfg.rules, table), key) == value


@pytest.mark.parametrize(("table", "key"), SWITCHES)
@pytest.mark.parametrize("value", [1, 0, "true", "yes", 1.0])
def test_a_switch_is_true_or_false(table: str, key: str, value: Any) -> None:
    data = {"rules": {table: {"enabled": True, key: value}}}
    err = config_error(data)
    assert err.key == f"rules.{table}.{key}"
    assert "true or false" in err.reason


def test_limit_true_in_a_file_is_an_error_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[rules.daily_realized_loss]\nenabled = true\nlimit = true\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert excinfo.value.key == "rules.daily_realized_loss.limit"
    assert str(excinfo.value) == (
        f"{path}: rules.daily_realized_loss.limit: expected a number such as 500 or 0.5, got true"
    )


def test_a_quoted_count_in_a_file_is_an_error_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[rules.max_contracts]\nenabled = true\nlimit = "5"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert excinfo.value.key == "rules.max_contracts.limit"
    assert "whole number" in excinfo.value.reason and '"5"' in excinfo.value.reason


def test_a_decimal_count_in_a_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[rules.max_contracts]\nenabled = true\nlimit = 5.0\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert excinfo.value.key == "rules.max_contracts.limit"
    assert "whole number" in excinfo.value.reason and "5.0" in excinfo.value.reason


@pytest.mark.parametrize(("data", "key"), [
    (rule("max_contracts_per_instrument", limits={"MNQ": "2"}),
     "rules.max_contracts_per_instrument.limits.MNQ"),
    (rule("max_contracts_per_instrument", limits={"MNQ": 2.0}),
     "rules.max_contracts_per_instrument.limits.MNQ"),
    (rule("max_contracts_per_instrument", limits={"MNQ": True}),
     "rules.max_contracts_per_instrument.limits.MNQ"),
    (rule("cooldown_after_loss", tiers=[{"loss": 100, "seconds": 300.0}]),
     "rules.cooldown_after_loss.tiers.0.seconds"),
    (rule("cooldown_after_loss", tiers=[{"loss": True, "seconds": 300}]),
     "rules.cooldown_after_loss.tiers.0.loss"),
    (rule("daily_realized_loss", warn_at=[0.5, "0.8"]), "rules.daily_realized_loss.warn_at.1"),
    ({"general": {"accounts": [123, 4.0]}}, "general.accounts.1"),
    ({"general": {"accounts": [True]}}, "general.accounts.0"),
    ({"general": {"accounts": ["123"]}}, "general.accounts.0"),
])
def test_strict_types_inside_maps_lists_and_tables(data: dict[str, Any], key: str) -> None:
    err = config_error(data)
    assert err.key == key
    assert "expected" in err.reason


def test_amounts_inside_lists_and_tables_may_be_whole() -> None:
    cfg = parse_config({"rules": {
        "cooldown_after_loss": {"enabled": True, "tiers": [{"loss": 150, "seconds": 60},
                                                           {"loss": 99.5, "seconds": 30}]},
    }})
    assert [(t.loss, t.seconds) for t in cfg.rules.cooldown_after_loss.tiers] == [
        (99.5, 30), (150, 60)]


@pytest.mark.parametrize("holidays", [
    [date(2026, 12, 25)],  # a TOML date
    ["2026-12-25"],  # the ISO text a dumped config or the settings window holds
])
def test_holidays_accept_toml_dates_and_iso_text(holidays: list[Any]) -> None:
    cfg = parse_config(rule("session_block_outside", holidays=holidays))
    assert cfg.rules.session_block_outside.holidays == [date(2026, 12, 25)]


@pytest.mark.parametrize("holiday", [
    20261225, True, "christmas", "2026-12-32", "25/12/2026", "２０２６-１２-２５",
    datetime(2026, 12, 25, 9, 0),  # a TOML date-time is not a whole day
])
def test_a_holiday_must_be_a_date(holiday: Any) -> None:
    err = config_error(rule("session_block_outside", holidays=[holiday]))
    assert err.key == "rules.session_block_outside.holidays.0"
    assert "expected a date" in err.reason


def test_toml_holidays_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[rules.session_block_outside]\nenabled = true\n"
                           "holidays = [2026-12-25, \"2026-12-31\"]\n")
    assert load_config(path).rules.session_block_outside.holidays == [
        date(2026, 12, 25), date(2026, 12, 31)]


def test_a_json_dump_validates_again_as_the_settings_window_does() -> None:
    cfg = parse_config({
        "general": {"accounts": [7, 2**40]},
        "rules": {
            "max_contracts_per_instrument": {"enabled": True, "limits": {"MNQ": 2},
                                             "default_limit": 1},
            "daily_realized_loss": {"enabled": True, "limit": 425, "warn_at": [0.5]},
            "session_block_outside": {"enabled": True, "holidays": [date(2026, 12, 25)],
                                      "symbols": {"ES": {"start": "17:00", "end": "16:00",
                                                         "days": ["mon"]}}},
        },
    })
    data = cfg.model_dump(mode="json")
    assert data["rules"]["session_block_outside"]["holidays"] == ["2026-12-25"]
    assert AppConfig.model_validate(data) == cfg
    assert AppConfig.model_validate(default_config().model_dump(mode="json")) == default_config()


# --- symbol roots ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "key", "names"), [
    (rule("max_contracts_per_instrument", limits={"MNQ": 2, "mnq": 3}),
     "rules.max_contracts_per_instrument.limits", ["'MNQ'", "'mnq'"]),
    (rule("max_contracts_per_instrument", limits={"Es": 1, "MNQ": 2, "eS": 1}),
     "rules.max_contracts_per_instrument.limits", ["'Es'", "'eS'"]),
    (rule("session_block_outside", symbols={"ES": {"start": "08:30", "end": "15:00"},
                                            " es": {"start": "08:30", "end": "15:00"}}),
     "rules.session_block_outside.symbols", ["'ES'", "' es'"]),
])
def test_two_keys_differing_only_in_case_are_an_error_naming_both(
    data: dict[str, Any], key: str, names: list[str]
) -> None:
    err = config_error(data)
    assert err.key == key
    for name in names:
        assert name in err.reason
    assert "same symbol root" in err.reason


def test_keys_differing_only_in_case_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[rules.max_contracts_per_instrument]\nenabled = true\n"
                           "[rules.max_contracts_per_instrument.limits]\nMNQ = 2\nmnq = 3\n")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert excinfo.value.key == "rules.max_contracts_per_instrument.limits"
    assert "'MNQ'" in excinfo.value.reason and "'mnq'" in excinfo.value.reason


@pytest.mark.parametrize("root", [
    "ＭＮＱ",  # full-width letters
    "MNQ\u200b",  # a zero-width space
    "\u0395S",  # a Greek capital epsilon that looks like E
    "MNÖ", "M-Q", "",
])
def test_roots_outside_ascii_letters_and_digits_are_refused(root: str) -> None:
    err = config_error(rule("symbol_blocks", symbols=[root]))
    assert err.key == "rules.symbol_blocks.symbols.0"
    assert "not a symbol root" in err.reason
    err = config_error(rule("max_contracts_per_instrument", limits={root: 1}))
    assert err.key.startswith("rules.max_contracts_per_instrument.limits")


def test_roots_in_any_case_mean_the_same_root() -> None:
    cfg = parse_config({"rules": {
        "max_contracts_per_instrument": {"enabled": True, "limits": {"mNq": 2}},
        "symbol_blocks": {"enabled": True, "symbols": ["es"]},
        "session_block_outside": {"enabled": True,
                                  "symbols": {"Es": {"start": "08:30", "end": "15:00"}}},
    }})
    assert cfg.rules.max_contracts_per_instrument.limits == {"MNQ": 2}
    assert cfg.rules.symbol_blocks.symbols == ["ES"]
    assert list(cfg.rules.session_block_outside.symbols) == ["ES"]


# --- a symbol's own trading days ----------------------------------------------------------------


def test_a_symbols_own_days_are_optional_and_validated() -> None:
    hours = {"start": "17:00", "end": "16:00"}
    cfg = parse_config(rule("session_block_outside", symbols={
        "ES": hours, "NQ": {**hours, "days": ["Sunday", "mon"]}}))
    symbols = cfg.rules.session_block_outside.symbols
    assert symbols["ES"].days is None and symbols["NQ"].days == ["sun", "mon"]
    err = config_error(rule("session_block_outside", symbols={"ES": {**hours, "days": []}}))
    assert err.key == "rules.session_block_outside.symbols.ES.days"
    assert "at least one day" in err.reason
    err = config_error(rule("session_block_outside", symbols={"ES": {**hours, "days": ["funday"]}}))
    assert err.key == "rules.session_block_outside.symbols.ES.days.0"
    # The same time twice is a 24-hour session ending then (the end is not after the start).
    cfg = parse_config(rule("session_block_outside", start="17:00", end="17:00",
                            symbols={"ES": {"start": "09:00", "end": "09:00"}}))
    window = cfg.rules.session_block_outside
    assert window.start == window.end == time(17, 0)
    assert window.symbols["ES"].start == window.symbols["ES"].end == time(9, 0)


def test_a_symbol_without_its_own_days_saves_without_them(tmp_path: Path) -> None:
    cfg = parse_config(rule("session_block_outside", symbols={
        "ES": {"start": "17:00", "end": "16:00"}}))
    text = dump_config(cfg)
    assert "days" not in tomllib.loads(text)["rules"]["session_block_outside"]["symbols"]["ES"]
    path = tmp_path / "config.toml"
    save_config(cfg, path)
    assert load_config(path) == cfg
