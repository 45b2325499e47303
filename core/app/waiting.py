"""Loosened settings waiting for the reset, in words, beside the values in force.

A loosening waits for the next daily reset (SPEC section 3). Until then the dashboard shows
the value in force on the limit bar and the waiting one beside it ("-$800.00 from Thu 17:00
CST"), so the trader never mistakes what is wished for what is enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from core.app.words import local_time, table_name
from core.config.changes import Change, classify
from core.config.models import AppConfig
from core.config.rules import RulesConfig
from core.domain.words import TABLE_RULES

# The key a limit bar shows, per rule: a waiting change to it goes beside the bar.
BAR_KEYS: dict[str, tuple[str, ...]] = {
    "RULE-001": ("limit",),
    "RULE-002": ("default_limit", "limits"),
    "RULE-003": ("limit",),
    "RULE-004": ("limit",),
    "RULE-005": ("target",),
    "RULE-006": ("per_minute", "per_hour", "per_session"),
    "RULE-013": ("target",),
}
MONEY_KEYS = {"limit", "target"}
NEGATIVE_MONEY = {("daily_realized_loss", "limit"), ("daily_unrealized_loss", "limit")}


@dataclass(frozen=True, slots=True)
class Waiting:
    lines: tuple[str, ...] = ()  # every waiting change: "Daily loss limit: Loss limit $500 → $800"
    by_rule: dict[str, str] = field(default_factory=dict)  # rule id → "-$800.00 from Thu 17:00 CST"


NOTHING = Waiting()


def _field_title(table: str, name: str) -> str:
    model: Any = RulesConfig.model_fields[table].annotation
    if isinstance(model, type) and issubclass(model, BaseModel) and name in model.model_fields:
        return model.model_fields[name].title or name.replace("_", " ")
    return name.replace("_", " ")


def show(table: str, name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if name in MONEY_KEYS and isinstance(value, int | float):
        sign = "-" if (table, name) in NEGATIVE_MONEY else ""
        return f"{sign}${value:,.2f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


# A change asked for by the config file while an admin password is set: no reset brings it
# into force until someone confirms it with the password in Settings.
NEEDS_PASSWORD = "waiting for the admin password in Settings, then a reset"


def describe_waiting(
    config: AppConfig, pending: AppConfig | None, applies_at: datetime | None, zone: ZoneInfo,
    *, needs_password: bool = False,
) -> Waiting:
    if pending is None:
        return NOTHING
    if needs_password:
        when = NEEDS_PASSWORD
    else:
        when = "from " + (local_time(applies_at, zone, with_day=True) if applies_at
                          else "the next reset")
    lines: list[str] = []
    by_rule: dict[str, str] = {}
    for change in classify(config, pending):
        if not change.waits:
            continue
        lines.append(_line(change, when))
        parts = change.key.split(".")
        if parts[0] != "rules" or len(parts) < 3:
            continue
        table, name = parts[1], parts[2]
        rule_id = TABLE_RULES.get(table)
        if rule_id is None:
            continue
        if name == "enabled":
            by_rule[rule_id] = f"off {when}"
        elif name in BAR_KEYS.get(rule_id, ()):
            entry = f"{parts[3]} " if len(parts) > 3 else ""
            by_rule.setdefault(rule_id, f"{entry}{show(table, name, change.new)} {when}")
    return Waiting(tuple(lines), by_rule)


def _line(change: Change, when: str) -> str:
    parts = change.key.split(".")
    if parts[0] == "rules" and len(parts) >= 3:
        table, name = parts[1], parts[2]
        what = table_name(table)
        if name == "enabled":
            return f"{what}: off {when}"
        entry = f" {parts[3]}" if len(parts) > 3 else ""
        return (f"{what}: {_field_title(table, name)}{entry} {show(table, name, change.old)} → "
                f"{show(table, name, change.new)} {when}")
    return f"{change.key}: {change.old} → {change.new} {when}"


class WaitingCache:
    """``describe_waiting`` once per (config, pending) pair: snapshots come several times a
    second, the settings change rarely."""

    def __init__(self) -> None:
        # The objects themselves, compared by identity: kept alive here, so never confused
        # with a new config that happens to reuse a freed one's id.
        self._key: tuple[AppConfig, AppConfig | None, datetime | None, bool] | None = None
        self._value = NOTHING

    def get(self, config: AppConfig, pending: AppConfig | None, applies_at: datetime | None,
            zone: ZoneInfo, *, needs_password: bool = False) -> Waiting:
        key = self._key
        if (key is None or key[0] is not config or key[1] is not pending or key[2] != applies_at
                or key[3] != needs_password):
            self._value = describe_waiting(config, pending, applies_at, zone,
                                           needs_password=needs_password)
            self._key = (config, pending, applies_at, needs_password)
        return self._value
