"""Settings changes: what tightens applies now, what loosens waits for the reset (and the password)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.app.admin_password import AdminPassword
from core.app.config_manager import ConfigManager, ProposalStatus
from core.config import AppConfig, load_config, save_config
from core.config.changes import Change, Direction, classify, split
from core.config.directions import SIMPLE
from core.config.rules import RulesConfig
from core.domain.clock import ManualClock
from core.domain.trading_day import TradingCalendar
from tests.builders import T0, config

T, L, N = Direction.TIGHTENS, Direction.LOOSENS, Direction.NEUTRAL
RESET = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # 17:00 CDT ends T0's trading day
CALENDAR = TradingCalendar(time(17, 0), "America/Chicago")
TABLES = list(RulesConfig.model_fields)


def every_rule_on(**overrides: dict[str, Any]) -> AppConfig:
    return config({table: overrides.get(table, {}) for table in TABLES})


def with_values(cfg: AppConfig, **values: Any) -> AppConfig:
    """``with_values(cfg, **{"rules.max_contracts.limit": 3})``; None removes a map entry."""
    data = cfg.model_dump(mode="json")
    for key, value in values.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is None and parents[-1] in ("limits", "symbols") and parents[0] == "rules":
            node.pop(last, None)
        else:
            node[last] = value
    return AppConfig.model_validate(data)


def direction_of(old: AppConfig, new: AppConfig) -> dict[str, Direction]:
    return {c.key: c.direction for c in classify(old, new)}


# --- classify: every key of every rule table ------------------------------------------------------

R = "rules."
CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Direction]]] = [
    # (set in the config in force, then changed to, expected directions)
    ({}, {R + "max_contracts.limit": 3}, {R + "max_contracts.limit": T}),
    ({}, {R + "max_contracts.limit": 6}, {R + "max_contracts.limit": L}),
    ({}, {R + "max_contracts.count_type": "gross"}, {R + "max_contracts.count_type": T}),
    ({R + "max_contracts.count_type": "gross"}, {R + "max_contracts.count_type": "net"},
     {R + "max_contracts.count_type": L}),
    ({}, {R + "max_contracts.reduce_to_limit": False}, {R + "max_contracts.reduce_to_limit": T}),
    ({R + "max_contracts.reduce_to_limit": False}, {R + "max_contracts.reduce_to_limit": True},
     {R + "max_contracts.reduce_to_limit": L}),
    # per instrument: one entry at a time, a missing entry falls back to the unlisted limit
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 4}},
     {R + "max_contracts_per_instrument.limits.MNQ": 2},
     {R + "max_contracts_per_instrument.limits.MNQ": T}),
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 4}},
     {R + "max_contracts_per_instrument.limits.MNQ": 6},
     {R + "max_contracts_per_instrument.limits.MNQ": L}),
    ({R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.limits.ES": 1},
     {R + "max_contracts_per_instrument.limits.ES": T}),
    ({R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.limits.ES": 5},
     {R + "max_contracts_per_instrument.limits.ES": L}),
    ({}, {R + "max_contracts_per_instrument.limits.ES": 5},  # unlisted & allowed: no limit before
     {R + "max_contracts_per_instrument.limits.ES": T}),
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 4}, R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.limits.MNQ": None},
     {R + "max_contracts_per_instrument.limits.MNQ": T}),
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 2}, R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.limits.MNQ": None},
     {R + "max_contracts_per_instrument.limits.MNQ": L}),
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 2}, R + "max_contracts_per_instrument.unknown_symbol": "block"},
     {R + "max_contracts_per_instrument.limits.MNQ": None},
     {R + "max_contracts_per_instrument.limits.MNQ": T}),
    ({R + "max_contracts_per_instrument.limits": {"MNQ": 3}},
     {R + "max_contracts_per_instrument.limits.MNQ": 3, R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.default_limit": T}),
    ({R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.default_limit": 2},
     {R + "max_contracts_per_instrument.default_limit": T}),
    ({R + "max_contracts_per_instrument.default_limit": 3},
     {R + "max_contracts_per_instrument.default_limit": None},  # falls back to "allow"
     {R + "max_contracts_per_instrument.default_limit": L}),
    ({R + "max_contracts_per_instrument.unknown_symbol": "block"},
     {R + "max_contracts_per_instrument.default_limit": 3},  # from "none allowed" to 3
     {R + "max_contracts_per_instrument.default_limit": L}),
    ({}, {R + "max_contracts_per_instrument.unknown_symbol": "block"},
     {R + "max_contracts_per_instrument.unknown_symbol": T}),
    ({R + "max_contracts_per_instrument.unknown_symbol": "block"},
     {R + "max_contracts_per_instrument.unknown_symbol": "allow"},
     {R + "max_contracts_per_instrument.unknown_symbol": L}),
    ({R + "max_contracts_per_instrument.default_limit": 2},  # a default limit makes it moot
     {R + "max_contracts_per_instrument.unknown_symbol": "block"},
     {R + "max_contracts_per_instrument.unknown_symbol": N}),
    ({}, {R + "daily_realized_loss.limit": 400}, {R + "daily_realized_loss.limit": T}),
    ({}, {R + "daily_realized_loss.limit": 600}, {R + "daily_realized_loss.limit": L}),
    ({}, {R + "daily_realized_loss.warn_at": [0.5, 0.8, 0.9]}, {R + "daily_realized_loss.warn_at": T}),
    ({}, {R + "daily_realized_loss.warn_at": [0.8]}, {R + "daily_realized_loss.warn_at": L}),
    ({}, {R + "daily_unrealized_loss.limit": 200}, {R + "daily_unrealized_loss.limit": T}),
    ({}, {R + "daily_unrealized_loss.limit": 400}, {R + "daily_unrealized_loss.limit": L}),
    ({}, {R + "daily_unrealized_loss.scope": "account"}, {R + "daily_unrealized_loss.scope": L}),
    ({R + "daily_unrealized_loss.scope": "account"}, {R + "daily_unrealized_loss.scope": "position"},
     {R + "daily_unrealized_loss.scope": L}),
    ({}, {R + "max_unrealized_profit.target": 800}, {R + "max_unrealized_profit.target": T}),
    ({}, {R + "max_unrealized_profit.target": 1200}, {R + "max_unrealized_profit.target": L}),
    ({}, {R + "max_unrealized_profit.scope": "account"}, {R + "max_unrealized_profit.scope": L}),
    *[
        ({}, {R + f"trade_frequency_limit.{key}": value}, {R + f"trade_frequency_limit.{key}": d})
        for key, value, d in [
            ("per_minute", 2, T), ("per_minute", 4, L), ("per_hour", 5, T), ("per_hour", 20, L),
            ("per_session", 10, T), ("per_session", 60, L),
            ("minute_cooldown_seconds", 120, T), ("minute_cooldown_seconds", 30, L),
            ("hour_cooldown_seconds", 3600, T), ("hour_cooldown_seconds", 60, L),
            ("session_cooldown_seconds", 7200, T), ("session_cooldown_seconds", 60, L),
        ]
    ],
    ({}, {R + "cooldown_after_loss.flatten": True}, {R + "cooldown_after_loss.flatten": T}),
    ({R + "cooldown_after_loss.flatten": True}, {R + "cooldown_after_loss.flatten": False},
     {R + "cooldown_after_loss.flatten": L}),
    *[
        ({}, {R + "cooldown_after_loss.tiers": [{"loss": lo, "seconds": s} for lo, s in tiers]},
         {R + "cooldown_after_loss.tiers": d})
        for tiers, d in [
            ([[100, 300], [200, 900], [300, 1800], [500, 3600]], T),  # a new worse tier
            ([[50, 60], [100, 300], [200, 900], [300, 1800]], T),  # smaller losses count too
            ([[100, 600], [200, 900], [300, 1800]], T),  # longer
            ([[100, 300], [200, 900], [300, 900]], L),  # shorter
            ([[150, 300], [200, 900], [300, 1800]], L),  # a higher threshold
            ([[100, 300], [300, 1800]], L),  # a tier removed
            ([[100, 1800]], T),  # one long tier covers them all
            ([[100, 300], [200, 900], [300, 1800], [400, 1000]], N),  # a tier that never wins
        ]
    ],
    ({}, {R + "no_stop_loss_grace.grace_seconds": 10}, {R + "no_stop_loss_grace.grace_seconds": T}),
    ({}, {R + "no_stop_loss_grace.grace_seconds": 60}, {R + "no_stop_loss_grace.grace_seconds": L}),
    # the window: start, end and days are judged together, as minutes of the week
    ({}, {R + "session_block_outside.start": "09:00"}, {R + "session_block_outside.start": T}),
    ({}, {R + "session_block_outside.end": "16:00"}, {R + "session_block_outside.end": L}),
    ({}, {R + "session_block_outside.start": "09:00", R + "session_block_outside.end": "15:00"},
     {R + "session_block_outside.start": T, R + "session_block_outside.end": T}),
    ({}, {R + "session_block_outside.start": "08:00", R + "session_block_outside.end": "15:00"},
     {R + "session_block_outside.start": L, R + "session_block_outside.end": L}),
    ({}, {R + "session_block_outside.start": "16:00"},  # past the end: wraps overnight, wider
     {R + "session_block_outside.start": L}),
    ({R + "session_block_outside.start": "18:00", R + "session_block_outside.end": "15:00"},
     {R + "session_block_outside.start": "19:00"},  # overnight window, opens later
     {R + "session_block_outside.start": T}),
    ({}, {R + "session_block_outside.days": ["mon", "tue", "wed", "thu"]}, {R + "session_block_outside.days": T}),
    ({}, {R + "session_block_outside.days": ["mon", "tue", "wed", "thu", "fri", "sun"]},
     {R + "session_block_outside.days": L}),
    ({}, {R + "session_block_outside.timezone": "America/New_York"}, {R + "session_block_outside.timezone": L}),
    ({}, {R + "session_block_outside.respect_holidays": False}, {R + "session_block_outside.respect_holidays": L}),
    ({R + "session_block_outside.respect_holidays": False}, {R + "session_block_outside.respect_holidays": True},
     {R + "session_block_outside.respect_holidays": T}),
    ({}, {R + "session_block_outside.holidays": ["2026-12-24"]}, {R + "session_block_outside.holidays": T}),
    ({R + "session_block_outside.holidays": ["2026-12-24"]}, {R + "session_block_outside.holidays": []},
     {R + "session_block_outside.holidays": L}),
    ({}, {R + "session_block_outside.symbols.ES": {"start": "09:00", "end": "15:00"}},
     {R + "session_block_outside.symbols.ES": T}),
    ({}, {R + "session_block_outside.symbols.ES": {"start": "08:00", "end": "15:00"}},
     {R + "session_block_outside.symbols.ES": L}),
    ({R + "session_block_outside.symbols": {"ES": {"start": "09:00", "end": "15:00"}}},
     {R + "session_block_outside.symbols.ES": None},  # back to the wider main window
     {R + "session_block_outside.symbols.ES": L}),
    # A window that wraps midnight belongs to the day it ends: 17:00-16:00 Monday to Friday
    # runs Sunday 17:00 → Friday 16:00, so Sunday evening alone is inside it.
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "23:59",
      R + "session_block_outside.days": ["sun"]},
     {R + "session_block_outside.end": T, R + "session_block_outside.days": T}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.days": ["mon", "tue", "wed", "thu"]},  # drops Thu 17:00-Fri 16:00
     {R + "session_block_outside.days": T}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.days": ["tue", "wed", "thu", "fri", "sat"]},  # Fri evening added
     {R + "session_block_outside.days": L}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.start": "08:30", R + "session_block_outside.end": "15:10"},
     {R + "session_block_outside.start": T, R + "session_block_outside.end": T}),
    ({}, {R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.start": L, R + "session_block_outside.end": L}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00"},
     {R + "session_block_outside.end": "17:00"},  # the break closed: a 24-hour session
     {R + "session_block_outside.end": L}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "17:00"},
     {R + "session_block_outside.end": "16:00"},  # a break opened
     {R + "session_block_outside.end": T}),
    # A symbol's own days: more days loosen, fewer tighten, dropping them follows the table's.
    ({R + "session_block_outside.symbols": {"ES": {"start": "17:00", "end": "16:00"}}},
     {R + "session_block_outside.symbols.ES": {"start": "17:00", "end": "16:00",
                                               "days": ["mon", "tue", "wed", "thu"]}},
     {R + "session_block_outside.symbols.ES": T}),
    ({R + "session_block_outside.symbols": {"ES": {"start": "17:00", "end": "16:00"}}},
     {R + "session_block_outside.symbols.ES": {"start": "17:00", "end": "16:00",
                                               "days": ["mon", "tue", "wed", "thu", "fri", "sun"]}},
     {R + "session_block_outside.symbols.ES": L}),
    ({R + "session_block_outside.symbols": {"ES": {"start": "17:00", "end": "16:00",
                                                   "days": ["mon"]}}},
     {R + "session_block_outside.symbols.ES": {"start": "17:00", "end": "16:00"}},  # → mon-fri
     {R + "session_block_outside.symbols.ES": L}),
    ({R + "session_block_outside.days": ["mon", "tue"],
      R + "session_block_outside.symbols": {"ES": {"start": "17:00", "end": "16:00"}}},
     {R + "session_block_outside.symbols.ES": {"start": "17:00", "end": "16:00",
                                               "days": ["mon", "tue", "wed"]}},
     {R + "session_block_outside.symbols.ES": L}),  # judged against the table's days in force
    ({R + "session_block_outside.days": ["mon", "tue", "wed"],
      R + "session_block_outside.symbols": {"ES": {"start": "17:00", "end": "16:00"}}},
     {R + "session_block_outside.symbols.ES": {"start": "17:00", "end": "16:00",
                                               "days": ["mon", "tue"]}},
     {R + "session_block_outside.symbols.ES": T}),
    # The table's days move a symbol that has its own hours but not its own days: Monday's
    # Globex session moved to Sunday evening is narrower, but ES's 08:30-15:10 moves to Sunday.
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00",
      R + "session_block_outside.days": ["mon"],
      R + "session_block_outside.symbols": {"ES": {"start": "08:30", "end": "15:10"}}},
     {R + "session_block_outside.start": "18:00", R + "session_block_outside.end": "23:00",
      R + "session_block_outside.days": ["sun"]},
     {R + "session_block_outside.start": L, R + "session_block_outside.end": L,
      R + "session_block_outside.days": L}),
    ({R + "session_block_outside.start": "17:00", R + "session_block_outside.end": "16:00",
      R + "session_block_outside.symbols": {"ES": {"start": "08:30", "end": "15:10"}}},
     {R + "session_block_outside.days": ["mon", "tue", "wed", "thu"]},  # ES loses Friday too
     {R + "session_block_outside.days": T}),
    ({}, {R + "symbol_blocks.symbols": ["CL"]}, {R + "symbol_blocks.symbols": T}),
    ({R + "symbol_blocks.symbols": ["CL", "ES"]}, {R + "symbol_blocks.symbols": ["ES"]},
     {R + "symbol_blocks.symbols": L}),
    *[
        ({}, {R + f"trade_management.{key}": value}, {R + f"trade_management.{key}": d})
        for key, value, d in [
            ("breakeven", False, L), ("trailing", True, T),
            ("breakeven_trigger_ticks", 5, T), ("breakeven_trigger_ticks", 20, L),
            ("breakeven_offset_ticks", 2, T),
            ("trail_activation_ticks", 10, T), ("trail_activation_ticks", 30, L),
            ("trail_distance_ticks", 5, T), ("trail_distance_ticks", 20, L),
        ]
    ],
    ({R + "trade_management.breakeven_offset_ticks": 2}, {R + "trade_management.breakeven_offset_ticks": 0},
     {R + "trade_management.breakeven_offset_ticks": L}),
    ({}, {R + "daily_realized_profit.target": 800}, {R + "daily_realized_profit.target": T}),
    ({}, {R + "daily_realized_profit.target": 1500}, {R + "daily_realized_profit.target": L}),
]


@pytest.mark.parametrize(("before", "after", "expected"), CASES)
def test_classify_each_key_of_an_enabled_rule(
    before: dict[str, Any], after: dict[str, Any], expected: dict[str, Direction]
) -> None:
    old = with_values(every_rule_on(), **before)
    new = with_values(old, **after)
    assert direction_of(old, new) == expected


@pytest.mark.parametrize("table", TABLES)
def test_switching_a_rule_on_tightens_and_off_loosens(table: str) -> None:
    on, off = every_rule_on(), with_values(every_rule_on(), **{f"rules.{table}.enabled": False})
    assert classify(off, on) == [Change(f"rules.{table}.enabled", False, True, T)]
    assert classify(on, off) == [Change(f"rules.{table}.enabled", True, False, L)]


def test_every_rule_key_has_a_judge() -> None:
    """A new key must be thought about: otherwise it silently counts as loosening."""
    special = {
        "max_contracts_per_instrument.limits", "max_contracts_per_instrument.default_limit",
        "max_contracts_per_instrument.unknown_symbol", "cooldown_after_loss.tiers",
        "session_block_outside.start", "session_block_outside.end",
        "session_block_outside.days", "session_block_outside.symbols",
    }
    for table, field in RulesConfig.model_fields.items():
        model = field.default_factory()  # type: ignore[misc, call-arg]
        for key in type(model).model_fields:
            if key != "enabled":
                assert f"{table}.{key}" in SIMPLE or f"{table}.{key}" in special, f"{table}.{key}"


def test_changes_to_a_rule_that_is_off_are_neutral() -> None:
    old = config({"daily_realized_loss": {"enabled": False, "limit": 500}})
    new = with_values(old, **{"rules.daily_realized_loss.limit": 5000, "rules.daily_unrealized_loss.scope": "account"})
    assert {c.direction for c in classify(old, new)} == {N}
    assert split(old, new) == (new, None)


def test_lowering_a_limit_while_switching_the_rule_off() -> None:
    old = every_rule_on()
    new = with_values(old, **{"rules.daily_realized_loss.limit": 300, "rules.daily_realized_loss.enabled": False})
    assert direction_of(old, new) == {"rules.daily_realized_loss.enabled": L, "rules.daily_realized_loss.limit": T}
    now, later = split(old, new)
    assert now.rules.daily_realized_loss.enabled and now.rules.daily_realized_loss.limit == 300
    assert later == new


def test_another_gateway_or_user_loosens_as_it_could_leave_nothing_watched() -> None:
    old = with_values(every_rule_on(), **{"gateway.username": "me"})
    for key, value in (("gateway.api_url", "https://gateway.example"),
                       ("gateway.user_hub_url", "https://rtc.example/hubs/user"),
                       ("gateway.market_hub_url", "https://rtc.example/hubs/market"),
                       ("gateway.username", "someone-else")):
        assert direction_of(old, with_values(old, **{key: value})) == {key: L}


def test_naming_the_user_where_none_was_named_tightens() -> None:
    old = every_rule_on()
    assert old.gateway.username == ""
    assert direction_of(old, with_values(old, **{"gateway.username": "me"})) == {"gateway.username": T}


def test_with_nothing_enforced_gateway_changes_are_neutral() -> None:
    old = config()
    new = with_values(old, **{"gateway.api_url": "https://gateway.example", "gateway.username": "me"})
    assert set(direction_of(old, new).values()) == {N}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([], [1], L),  # every account → only one
        ([1], [], T),  # → every account
        ([1], [1, 2], T),
        ([1, 2], [2], L),
        ([1, 2], [3], L),
    ],
)
def test_protected_accounts(before: list[int], after: list[int], expected: Direction) -> None:
    old = with_values(every_rule_on(), **{"general.accounts": before})
    assert direction_of(old, with_values(old, **{"general.accounts": after})) == {"general.accounts": expected}


@pytest.mark.parametrize(
    ("key", "value"),
    [("general.timezone", "America/New_York"), ("general.reset_time", "16:00"), ("general.data_dir", "/tmp/x")],
)
def test_moving_the_trading_day_or_the_state_loosens_while_rules_are_on(key: str, value: str) -> None:
    old = every_rule_on()
    assert direction_of(old, with_values(old, **{key: value})) == {key: L}
    idle = config()  # nothing enforced: nothing to loosen
    assert direction_of(idle, with_values(idle, **{key: value})) == {key: N}


def test_describe_reads_well() -> None:
    old = every_rule_on()
    (change,) = classify(old, with_values(old, **{"rules.daily_realized_loss.limit": 600}))
    assert change.describe() == "rules.daily_realized_loss.limit: 500.0 → 600.0 (loosens)"
    assert change.waits


# --- split ---------------------------------------------------------------------------------------


def test_split_applies_tightenings_now_and_keeps_the_whole_new_config_for_later() -> None:
    old = every_rule_on()
    new = with_values(old, **{
        "rules.daily_realized_loss.limit": 300,  # tightens
        "rules.max_contracts.limit": 8,  # loosens
        "rules.symbol_blocks.symbols": ["CL"],  # tightens
        "gateway.username": "trader",  # neutral
    })
    now, later = split(old, new)
    assert later == new
    assert now.rules.daily_realized_loss.limit == 300 and now.rules.symbol_blocks.symbols == ["CL"]
    assert now.rules.max_contracts.limit == 5 and now.gateway.username == "trader"
    assert not any(c.waits for c in classify(old, now))
    assert [c.key for c in classify(now, new)] == ["rules.max_contracts.limit"]


def test_split_removes_a_map_entry_now_when_that_tightens() -> None:
    old = with_values(every_rule_on(), **{
        "rules.max_contracts_per_instrument.limits": {"MNQ": 4, "ES": 1},
        "rules.max_contracts_per_instrument.default_limit": 3,
        "rules.session_block_outside.symbols": {"ES": {"start": "07:00", "end": "16:00"}},
    })
    new = with_values(old, **{
        "rules.max_contracts_per_instrument.limits.MNQ": None,  # 4 → the default 3: tightens
        "rules.max_contracts_per_instrument.limits.ES": None,  # 1 → 3: loosens
        "rules.session_block_outside.symbols.ES": None,  # wider own hours → the main window
    })
    now, later = split(old, new)
    assert now.rules.max_contracts_per_instrument.limits == {"ES": 1}
    assert now.rules.session_block_outside.symbols == {}
    assert later == new


def test_split_with_only_loosenings_changes_nothing_now() -> None:
    old = every_rule_on()
    new = with_values(old, **{"rules.max_contracts.limit": 8})
    assert split(old, new) == (old, new)


def test_split_with_nothing_loosening_applies_everything() -> None:
    old = every_rule_on()
    new = with_values(old, **{"rules.max_contracts.limit": 2})
    assert split(old, new) == (new, None)


MUTATIONS = [values for _, values, _ in CASES] + [
    {"rules.daily_realized_loss.enabled": False}, {"rules.symbol_blocks.enabled": False},
    {"general.accounts": [1]}, {"gateway.username": "x"},
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, len(CASES) - 1), max_size=4), st.lists(st.integers(0, len(MUTATIONS) - 1), max_size=6))
def test_what_applies_now_never_loosens(setup: list[int], picks: list[int]) -> None:
    old = every_rule_on()
    for i in setup:
        try:
            old = with_values(old, **CASES[i][0])
        except ValueError:
            continue
    new = old
    for i in picks:
        try:
            new = with_values(new, **MUTATIONS[i])
        except ValueError:
            continue  # e.g. start == end: not a config anyone could save
    now, later = split(old, new)
    assert not any(c.waits for c in classify(old, now))
    assert later is None or later == new
    if later is None:
        assert now == new
    assert (later is not None) == any(c.waits for c in classify(old, new))


# --- ConfigManager ---------------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "config.toml"
    save_config(every_rule_on(), p)
    return p


def manager(path: Path, clock: ManualClock | None = None) -> ConfigManager:
    return ConfigManager(path, clock=clock or ManualClock(T0))


def test_a_tightening_applies_at_once_and_is_saved(path: Path) -> None:
    mgr = manager(path)
    seen: list[AppConfig] = []
    mgr.add_listener(seen.append)
    new = with_values(mgr.config, **{"rules.daily_realized_loss.limit": 250})
    result = mgr.propose(new)
    assert result.status is ProposalStatus.APPLIED and result.waiting == ()
    assert [c.key for c in result.applied] == ["rules.daily_realized_loss.limit"]
    assert mgr.config == new and load_config(path) == new and seen == [new]
    assert mgr.pending is None and not mgr.pending_path.exists()


def test_a_loosening_waits_for_the_next_reset(path: Path) -> None:
    mgr = manager(path)
    seen: list[AppConfig] = []
    mgr.add_listener(seen.append)
    before = mgr.config
    new = with_values(before, **{"rules.daily_realized_loss.limit": 1000, "rules.max_contracts.limit": 2})
    result = mgr.propose(new)
    assert result.status is ProposalStatus.DEFERRED and result.applies_at == RESET
    assert [c.key for c in result.waiting] == ["rules.daily_realized_loss.limit"]
    assert [c.key for c in result.applied] == ["rules.max_contracts.limit"]
    assert mgr.config.rules.daily_realized_loss.limit == 500 and mgr.config.rules.max_contracts.limit == 2
    assert load_config(path) == mgr.config and seen == [mgr.config]
    assert mgr.pending == new and mgr.editable() == new and mgr.pending_applies_at == RESET
    assert mgr.pending_path == path.with_name("config.pending.toml") and mgr.pending_path.exists()


def test_the_deferral_survives_a_restart_and_applies_only_at_the_reset(path: Path) -> None:
    clock = ManualClock(T0)
    new = with_values(manager(path, clock).config, **{"rules.daily_realized_loss.limit": 1000})
    assert manager(path, clock).propose(new).status is ProposalStatus.DEFERRED

    clock.set(RESET - timedelta(seconds=1))
    again = manager(path, clock)  # the app restarted before the reset
    seen: list[AppConfig] = []
    again.add_listener(seen.append)
    assert again.pending == new and again.pending_applies_at == RESET
    assert again.config.rules.daily_realized_loss.limit == 500
    assert again.apply_pending_if_due(clock.now(), CALENDAR) is None  # never early
    assert load_config(path).rules.daily_realized_loss.limit == 500

    clock.set(RESET)
    applied = again.apply_pending_if_due(clock.now(), CALENDAR)
    assert applied == new and again.config == new and seen == [new]
    assert load_config(path) == new and not again.pending_path.exists() and again.pending is None
    assert again.apply_pending_if_due(clock.now(), CALENDAR) is None  # once


def test_a_restart_after_the_reset_applies_at_startup(path: Path) -> None:
    clock = ManualClock(T0)
    new = with_values(manager(path, clock).config, **{"rules.max_contracts.enabled": False})
    manager(path, clock).propose(new)
    clock.set(RESET + timedelta(days=2))
    later = manager(path, clock)
    assert later.apply_pending_if_due(clock.now(), CALENDAR) == new


def test_the_engine_calendar_can_only_make_it_wait_longer(path: Path) -> None:
    mgr = manager(path)
    mgr.propose(with_values(mgr.config, **{"rules.max_contracts.limit": 9}))
    later_reset = TradingCalendar(time(18, 0), "America/Chicago")
    assert mgr.apply_pending_if_due(RESET, later_reset) is None
    assert mgr.apply_pending_if_due(RESET + timedelta(hours=1), later_reset) is not None


def test_the_password_guards_loosening_only(path: Path) -> None:
    admin = AdminPassword.beside(path)
    admin.set("s3cret")
    mgr = manager(path)
    tighter = with_values(mgr.config, **{"rules.max_contracts.limit": 2})
    assert mgr.propose(tighter).status is ProposalStatus.APPLIED  # no password for tightening
    looser = with_values(mgr.config, **{"rules.daily_realized_loss.limit": 900, "rules.max_contracts.limit": 1})
    required = mgr.propose(looser)
    assert required.status is ProposalStatus.PASSWORD_REQUIRED and required.applies_at == RESET
    assert [c.key for c in required.waiting] == ["rules.daily_realized_loss.limit"]
    wrong = mgr.propose(looser, password="guess")
    assert wrong.status is ProposalStatus.WRONG_PASSWORD
    assert mgr.config == tighter and load_config(path) == tighter and mgr.pending is None  # untouched
    ok = mgr.propose(looser, password="s3cret")
    assert ok.status is ProposalStatus.DEFERRED and mgr.pending == looser
    assert mgr.config.rules.max_contracts.limit == 1  # the tightening in it applied


def test_resaving_an_approved_deferral_asks_no_password_again(path: Path) -> None:
    AdminPassword.beside(path).set("s3cret")
    mgr = manager(path)
    looser = with_values(mgr.config, **{"rules.daily_realized_loss.limit": 900})
    assert mgr.propose(looser, password="s3cret").status is ProposalStatus.DEFERRED
    plus = with_values(mgr.editable(), **{"rules.max_contracts.limit": 3})
    assert mgr.propose(plus).status is ProposalStatus.DEFERRED
    more = with_values(plus, **{"rules.daily_realized_loss.limit": 950})  # a new loosening
    assert mgr.propose(more).status is ProposalStatus.PASSWORD_REQUIRED


def test_a_new_proposal_replaces_the_waiting_one(path: Path) -> None:
    mgr = manager(path)
    mgr.propose(with_values(mgr.config, **{"rules.daily_realized_loss.limit": 900}))
    tighter = with_values(mgr.config, **{"rules.max_contracts.limit": 3})  # edited from what is in force
    assert mgr.propose(tighter).status is ProposalStatus.APPLIED
    assert mgr.pending is None and not mgr.pending_path.exists()


def test_proposing_what_is_in_force_withdraws_the_waiting_changes(path: Path) -> None:
    mgr = manager(path)
    mgr.propose(with_values(mgr.config, **{"rules.daily_realized_loss.limit": 900}))
    result = mgr.propose(mgr.config)
    assert result.status is ProposalStatus.NO_CHANGE and "withdrawn" in result.message
    assert mgr.pending is None and not mgr.pending_path.exists()
    assert mgr.propose(mgr.config).message == "nothing changed"


def test_cancel_pending(path: Path) -> None:
    mgr = manager(path)
    mgr.propose(with_values(mgr.config, **{"rules.max_contracts.limit": 9}))
    mgr.cancel_pending()
    assert manager(path).pending is None


def test_the_pending_file_holds_the_due_time_and_a_valid_config(path: Path) -> None:
    mgr = manager(path)
    new = with_values(mgr.config, **{"rules.max_contracts.limit": 9})
    mgr.propose(new)
    data = tomllib.loads(mgr.pending_path.read_text())
    assert data["pending"]["applies_at"] == RESET and data["pending"]["proposed_at"] == T0
    assert AppConfig.model_validate(data["config"]) == new


def test_a_config_edited_while_stopped_drops_the_deferral(path: Path) -> None:
    mgr = manager(path)
    mgr.propose(with_values(mgr.config, **{"rules.max_contracts.limit": 9}))
    save_config(with_values(mgr.config, **{"rules.daily_realized_loss.limit": 100}), path)
    again = manager(path)
    assert again.pending is None and not again.pending_path.exists()
    assert again.apply_pending_if_due(RESET + timedelta(days=1), CALENDAR) is None


@pytest.mark.parametrize("content", ["not toml [", "[pending]\n", '[pending]\napplies_at = "soon"\n[config]\n'])
def test_an_unreadable_pending_file_is_never_applied(path: Path, content: str) -> None:
    (path.with_name("config.pending.toml")).write_text(content)
    mgr = manager(path)
    assert mgr.pending is None
    assert mgr.apply_pending_if_due(RESET + timedelta(days=1), CALENDAR) is None
    assert load_config(path) == every_rule_on()


def test_a_broken_listener_does_not_stop_the_others(path: Path) -> None:
    mgr = manager(path)
    seen: list[AppConfig] = []

    def broken(_: AppConfig) -> None:
        raise RuntimeError("boom")

    mgr.add_listener(broken)
    mgr.add_listener(seen.append)
    new = with_values(mgr.config, **{"rules.max_contracts.limit": 1})
    assert mgr.propose(new).status is ProposalStatus.APPLIED and seen == [new]


def test_a_config_given_at_start_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "config.toml"  # first run: no file yet
    mgr = ConfigManager(path, clock=ManualClock(T0), config=every_rule_on())
    assert mgr.admin.path == tmp_path / "fresh" / "admin_password.json"
    new = with_values(mgr.config, **{"rules.max_contracts.limit": 1})
    assert mgr.propose(new).status is ProposalStatus.APPLIED and load_config(path) == new
