"""What a settings change does to protection, and when it takes effect (SPEC section 3).

"Config changes that tighten take effect at once; changes that loosen an active rule take
effect at the next reset, and need the admin password when one is set."

:func:`classify` compares two configs key by key. Each change is judged *from the config in
force*, as if it were the only change: a lower loss limit tightens, disabling an enabled rule
loosens, and a key with no clear direction (a scope, a timezone, the data folder, a gateway URL
or the username) loosens unless it is clearly tighter, erring on the side of protection. Changes to a rule that is off change no protection
now (enabling it tightens). :func:`split` applies what does not loosen and keeps the whole new
config for the reset. :class:`core.app.config_manager.ConfigManager` owns the files and the
deferral.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from core.config.models import AppConfig
from core.config.rules import (
    CooldownAfterLoss,
    MaxContractsPerInstrument,
    RuleConfig,
    SessionBlockOutside,
)
from core.config.types import WEEKDAYS

log = logging.getLogger(__name__)


class Direction(StrEnum):
    TIGHTENS = "tightens"
    LOOSENS = "loosens"
    NEUTRAL = "neutral"  # no protection in force changes (a rule that is off, an alert setting)


@dataclass(frozen=True, slots=True)
class Change:
    key: str  # dotted TOML key; a map entry adds its symbol: rules.….limits.MNQ
    old: Any  # as written in TOML; None for a map entry that was absent
    new: Any  # None for a map entry that was removed
    direction: Direction

    @property
    def waits(self) -> bool:
        """Loosening: waits for the next reset, and needs the admin password when one is set."""
        return self.direction is Direction.LOOSENS

    def describe(self) -> str:
        return f"{self.key}: {_show(self.old)} → {_show(self.new)} ({self.direction.value})"


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


T, L, N = Direction.TIGHTENS, Direction.LOOSENS, Direction.NEUTRAL
INF = float("inf")
# Entries of these maps are judged one by one (adding an MNQ limit is not changing ES's).
MAP_FIELDS = {
    ("max_contracts_per_instrument", "limits"),
    ("session_block_outside", "symbols"),
    ("firm_close", "symbols"),
}


def _compare(old: float, new: float, tighter_when_lower: bool = True) -> Direction:
    if old == new:
        return N
    return T if (new < old) == tighter_when_lower else L


def _superset(old: Any, new: Any) -> Direction:
    """More blocked symbols, holidays or warnings tighten; any removal loosens."""
    return T if set(new) >= set(old) else L


def _order(*loosest_first: Any) -> Callable[[Any, Any], Direction]:
    return lambda old, new: _compare(loosest_first.index(old), loosest_first.index(new), False)


def _restrict_fraction(o: Any, n: Any) -> Direction:
    """0 switches the step off (the loosest); otherwise restricting sooner tightens."""
    return _compare(INF if o == 0 else o, INF if n == 0 else n)


LADDERED = ("daily_realized_loss", "daily_unrealized_loss", "daily_realized_profit", "max_loss_guard")
# Keys judged on their own values, as "table.key". A lower value tightens for LOWER, a higher
# one for HIGHER; for the switches True is the stricter side.
LOWER = {
    "max_contracts.limit", "daily_realized_loss.limit", "daily_unrealized_loss.limit",
    "max_unrealized_profit.target",  # taking profit sooner leaves less exposure
    "trade_frequency_limit.per_minute", "trade_frequency_limit.per_hour",
    "trade_frequency_limit.per_session", "no_stop_loss_grace.grace_seconds",
    "trade_management.breakeven_trigger_ticks", "trade_management.trail_activation_ticks",
    "trade_management.trail_distance_ticks", "daily_realized_profit.target",
    "loss_streak.losses",
}
HIGHER = {
    "trade_frequency_limit.minute_cooldown_seconds", "trade_frequency_limit.hour_cooldown_seconds",
    "trade_frequency_limit.session_cooldown_seconds",
    "trade_management.breakeven_offset_ticks",  # the stop locks in more profit
    "max_loss_guard.buffer", "max_loss_guard.buffer_share",  # acting further from the floor
    "firm_close.flatten_minutes_before",
    "loss_streak.cooldown_seconds",
    "firm_close.reopen",  # no new entries for longer
}
SWITCHES = {
    "cooldown_after_loss.flatten", "session_block_outside.respect_holidays",
    "trade_management.breakeven", "trade_management.trailing",
}
SIMPLE: dict[str, Callable[[Any, Any], Direction]] = {
    **{key: _compare for key in LOWER},
    **{key: (lambda o, n: _compare(o, n, tighter_when_lower=False)) for key in HIGHER},
    **{key: _order(False, True) for key in SWITCHES},
    # closing newest positions whole takes off more than reducing them to the limit
    "max_contracts.reduce_to_limit": _order(True, False),
    "max_contracts.count_type": _order("net", "gross"),  # gross ≥ net, always
    "loss_streak.reset_daily": _order(True, False),  # a streak carried over the reset is stricter
    "daily_realized_loss.warn_at": _superset,
    "session_block_outside.holidays": _superset,
    "symbol_blocks.symbols": _superset,
    "max_loss_guard.warn_at": _superset,
    "firm_close.close": _compare,  # an earlier close: flat sooner
    # an earlier close for a product, or a product added to the list, is flat sooner
    "firm_close.symbols": lambda o, n: L if n is None else (T if o is None else _compare(o, n)),
    "firm_close.timezone": lambda o, n: L,
    # the ladder: warnings, then the restrict step (sooner, smaller, longer is tighter)
    **{f"{t}.warn_at": _superset for t in ("daily_unrealized_loss", "daily_realized_profit")},
    **{f"{t}.restrict_at": _restrict_fraction
       for t in ("daily_realized_loss", "daily_unrealized_loss", "daily_realized_profit")},
    "max_loss_guard.restrict_at": lambda o, n: _compare(o, n, tighter_when_lower=False),
    **{f"{t}.restrict_max_contracts": _compare for t in LADDERED},
    **{f"{t}.restrict_cooldown_seconds": (lambda o, n: _compare(o, n, tighter_when_lower=False))
       for t in LADDERED},
    # no clear direction: neither scope contains the other; another zone moves the window
    "daily_unrealized_loss.scope": lambda o, n: L,
    "max_unrealized_profit.scope": lambda o, n: L,
    "session_block_outside.timezone": lambda o, n: L,
}


def _unlisted_limit(cfg: MaxContractsPerInstrument, default: int | None) -> float:
    if default is not None:
        return default
    return 0 if cfg.unknown_symbol == "block" else INF


def _per_instrument(key: str, old: MaxContractsPerInstrument, o: Any, n: Any) -> Direction:
    if key == "limits":  # one symbol's entry; a missing entry falls back to the unlisted limit
        fallback = _unlisted_limit(old, old.default_limit)
        return _compare(fallback if o is None else o, fallback if n is None else n)
    if key == "default_limit":
        return _compare(_unlisted_limit(old, o), _unlisted_limit(old, n))
    if key == "unknown_symbol":  # only matters while there is no default limit
        return N if old.default_limit is not None else _order("allow", "block")(o, n)
    return L


WEEK = 7 * 1440


def _minutes(start: Any, end: Any, days: list[str]) -> frozenset[int]:
    """The minutes of the week a window allows. A window that wraps midnight belongs to the day
    it ends (17:00–16:00 on Monday runs from Sunday 17:00), as RULE-009 reads it."""
    s, e = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    allowed: set[int] = set()
    for day in days:
        base = WEEKDAYS.index(day) * 1440
        first = base + s if s < e else base - 1440 + s  # a wrapping window opened the day before
        allowed.update(minute % WEEK for minute in range(first, base + e))
    return frozenset(allowed)


def _narrower(old: frozenset[int], new: frozenset[int]) -> Direction:
    return N if new == old else (T if new <= old else L)


def _together(*directions: Direction) -> Direction:
    """Several windows judged as one change: tighter only if none of them widens."""
    if L in directions:
        return L
    return T if T in directions else N


def _session(
    key: str, sub: str | None, old: SessionBlockOutside, new: SessionBlockOutside
) -> Direction:
    if key in ("start", "end", "days"):
        # Judged together: moving only the start past the end would wrap the window wider.
        table_window = _narrower(
            _minutes(old.start, old.end, old.days), _minutes(new.start, new.end, new.days)
        )
        # A symbol with its own hours but not its own days follows the table's days.
        followers = [
            _narrower(_minutes(w.start, w.end, old.days), _minutes(w.start, w.end, new.days))
            for w in old.symbols.values()
            if w.days is None
        ]
        return _together(table_window, *followers)
    if key == "symbols" and sub is not None:
        # One symbol's own hours and days; without them it follows the main window (each judged
        # as in force: the table's days and hours are the old ones).
        def window(cfg: SessionBlockOutside) -> frozenset[int]:
            own = cfg.symbols.get(sub)
            if own is None:
                return main
            return _minutes(own.start, own.end, old.days if own.days is None else own.days)

        main = _minutes(old.start, old.end, old.days)
        return _narrower(window(old), window(new))
    return L


def _tiers(old: CooldownAfterLoss, new: CooldownAfterLoss) -> Direction:
    """Tighter when every loss gets at least as long a cooldown as before."""
    def cooldown(cfg: CooldownAfterLoss, loss: float) -> int:
        return max((t.seconds for t in cfg.tiers if loss >= t.loss), default=0)

    points = {t.loss for t in old.tiers} | {t.loss for t in new.tiers}
    pairs = [(cooldown(old, x), cooldown(new, x)) for x in points]
    if all(n == o for o, n in pairs):
        return N
    return T if all(n >= o for o, n in pairs) else L


def _rule_direction(
    table: str, key: str, sub: str | None, old: RuleConfig, new: RuleConfig, o: Any, n: Any
) -> Direction:
    if not old.enabled:
        # An off rule protects nothing now: its settings change nothing, switching it on tightens.
        return T if key == "enabled" else N
    if key == "enabled":
        return L  # switching an enabled rule off
    judge = SIMPLE.get(f"{table}.{key}")
    if judge is not None:
        return judge(o, n)
    if isinstance(old, MaxContractsPerInstrument):
        return _per_instrument(key, old, o, n)
    if isinstance(old, SessionBlockOutside) and isinstance(new, SessionBlockOutside):
        return _session(key, sub, old, new)
    if isinstance(old, CooldownAfterLoss) and isinstance(new, CooldownAfterLoss) and key == "tiers":
        return _tiers(old, new)
    return L  # a key nobody has judged yet: assume the worst


def _any_rule_enabled(config: AppConfig) -> bool:
    return any(getattr(config.rules, name).enabled for name in type(config.rules).model_fields)


def _general_direction(key: str, old: AppConfig, o: Any, n: Any) -> Direction:
    if not _any_rule_enabled(old):
        return N  # nothing is enforced, so nothing can be loosened
    if key == "accounts":
        # An empty list protects every account: going to [] tightens, leaving it loosens.
        if not n:
            return T
        return T if o and set(n) >= set(o) else L
    # timezone / reset_time move the trading day (a new day starts the loss limit afresh);
    # data_dir moves state.db, and with it every persisted lock. No clear direction: loosens.
    return L


def _gateway_direction(key: str, old: AppConfig, o: Any, n: Any) -> Direction:
    """Where to connect and as whom: another URL or user could leave the app watching nothing,
    so it waits like any loosening (unless nothing is enforced to begin with). Naming the user
    where none was named (first setup) is what makes protection possible: it tightens."""
    if not _any_rule_enabled(old):
        return N
    if key == "username" and not o:
        return T
    return L


Leaf = tuple[str, str, str | None, Any, Any]  # dotted key, field, map entry, old, new


def _leaves(prefix: str, table: str, old: BaseModel, new: BaseModel) -> list[Leaf]:
    """Every value that differs, as written in TOML; map entries one by one."""
    od, nd = old.model_dump(mode="json"), new.model_dump(mode="json")
    out: list[Leaf] = []
    for name in type(old).model_fields:
        o, n = od[name], nd[name]
        if o == n:
            continue
        if (table, name) in MAP_FIELDS:
            for sub in sorted(set(o) | set(n)):
                if o.get(sub) != n.get(sub):
                    out.append((f"{prefix}.{name}.{sub}", name, sub, o.get(sub), n.get(sub)))
        else:
            out.append((f"{prefix}.{name}", name, None, o, n))
    return out


def _plan_direction(o: Any, n: Any) -> Direction:
    # Another plan has other limits (a bigger size loosens them); only gaining a plan where
    # there was none adds protection.
    return T if o == "none" and n != "none" else L


def _floor_direction(o: Any, n: Any) -> Direction:
    # A higher typed floor acts sooner; a lower one, or none (the app's own), may act later.
    if o is not None and n is not None:
        return _compare(o, n, tighter_when_lower=False)
    return L


def _account_changes(old: AppConfig, new: AppConfig) -> list[Change]:
    """Per account: its plan, its typed-in floor, and its effective rules (the shared tables
    with its own over them), each judged like the shared ones."""
    changes: list[Change] = []
    for acct in sorted(set(old.accounts) | set(new.accounts), key=int):
        o_acct, n_acct = old.accounts.get(acct), new.accounts.get(acct)
        o_plan = o_acct.plan if o_acct else "auto"
        n_plan = n_acct.plan if n_acct else "auto"
        if o_plan != n_plan:
            changes.append(Change(f"accounts.{acct}.plan", o_plan, n_plan, _plan_direction(o_plan, n_plan)))
        o_floor = o_acct.mll_floor if o_acct else None
        n_floor = n_acct.mll_floor if n_acct else None
        if o_floor != n_floor:
            changes.append(
                Change(f"accounts.{acct}.mll_floor", o_floor, n_floor, _floor_direction(o_floor, n_floor))
            )
        o_rules, n_rules = old.rules_for(int(acct)), new.rules_for(int(acct))
        for table in type(o_rules).model_fields:
            o_rule: RuleConfig = getattr(o_rules, table)
            n_rule: RuleConfig = getattr(n_rules, table)
            # A change of the shared table shows under [rules]; here only what the account's
            # own tables make different.
            if o_rule == n_rule or (
                getattr(old.rules, table) != getattr(new.rules, table)
                and o_rule == getattr(old.rules, table) and n_rule == getattr(new.rules, table)
            ):
                continue
            changes += [
                Change(key, o, n, _rule_direction(table, name, sub, o_rule, n_rule, o, n))
                for key, name, sub, o, n in _leaves(f"accounts.{acct}.{table}", table, o_rule, n_rule)
            ]
    return changes


def classify(old: AppConfig, new: AppConfig) -> list[Change]:
    """Every changed key and what it does to the protection in force, in file order."""
    changes = [
        Change(key, o, n, _gateway_direction(name, old, o, n))
        for key, name, _, o, n in _leaves("gateway", "gateway", old.gateway, new.gateway)
    ]
    changes += [
        Change(key, o, n, _general_direction(name, old, o, n))
        for key, name, _, o, n in _leaves("general", "general", old.general, new.general)
    ]
    changes += [
        Change(key, o, n, N)  # who is told off the PC changes no protection: applies at once
        for key, _, _, o, n in _leaves("alerts", "alerts", old.alerts, new.alerts)
    ]
    for table in type(old.rules).model_fields:
        o_rule: RuleConfig = getattr(old.rules, table)
        n_rule: RuleConfig = getattr(new.rules, table)
        if o_rule == n_rule:
            continue
        changes += [
            Change(key, o, n, _rule_direction(table, name, sub, o_rule, n_rule, o, n))
            for key, name, sub, o, n in _leaves(f"rules.{table}", table, o_rule, n_rule)
        ]
    changes += [
        Change(key, o, n, N)  # a warning threshold: nothing enforced changes
        for key, _, _, o, n in _leaves("topstep", "topstep", old.topstep, new.topstep)
    ]
    return changes + _account_changes(old, new)


def _with(config: AppConfig, changes: list[Change]) -> AppConfig:
    data = config.model_dump(mode="json")
    for change in changes:
        *parents, last = change.key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})  # an account or its table not written yet
        table_path = tuple(parents[-2:]) if parents[:1] == ["accounts"] else tuple(parents[1:])
        if change.new is None and (table_path in MAP_FIELDS or last in ("mll_floor",)):
            node.pop(last, None)  # a removed map entry, or a typed-in floor taken away
        else:
            node[last] = change.new
    return AppConfig.model_validate(data)


def split(old: AppConfig, new: AppConfig) -> tuple[AppConfig, AppConfig | None]:
    """(what applies now, what waits for the reset or None). What waits is the whole of ``new``."""
    changes = classify(old, new)
    now = [c for c in changes if not c.waits]
    if len(now) == len(changes):
        return new, None
    if not now:
        return old, new
    try:
        applied = _with(old, now)
    except ValueError:
        log.exception("the changes that tighten do not make a valid config alone: all wait")
        return old, new
    # Judged one by one, changes could still combine into a loosening: then everything waits.
    if any(c.waits for c in classify(old, applied)):
        log.error("tightening changes combine into a loosening: all wait for the reset")
        return old, new
    return applied, new
