"""What a settings change does to protection, and when it takes effect (SPEC section 3).

"Config changes that tighten take effect at once; changes that loosen an active rule take
effect at the next reset, and need the admin password when one is set."

:func:`classify` compares two configs key by key. Each change is judged *from the config in
force*, as if it were the only change: a lower loss limit tightens, disabling an enabled rule
loosens, and a key with no clear direction (a scope, a timezone, the data folder, a gateway URL
or the username) loosens unless it is clearly tighter, erring on the side of protection. Changes to a rule that is off change no protection
now (enabling it tightens). :func:`split` applies what does not loosen and keeps the whole new
config for the reset. How each rule's settings are judged is :mod:`core.config.directions`;
:class:`core.app.config_manager.ConfigManager` owns the files and the deferral.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core.config.directions import Direction, L, N, T, compare, rule_direction
from core.config.models import AppConfig
from core.config.rules import RuleConfig

log = logging.getLogger(__name__)


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


# Entries of these maps are judged one by one (adding an MNQ limit is not changing ES's).
MAP_FIELDS = {
    ("max_contracts_per_instrument", "limits"),
    ("session_block_outside", "symbols"),
    ("firm_close", "symbols"),
}


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
        return compare(o, n, tighter_when_lower=False)
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
                Change(key, o, n, rule_direction(table, name, sub, o_rule, n_rule, o, n))
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
            Change(key, o, n, rule_direction(table, name, sub, o_rule, n_rule, o, n))
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
