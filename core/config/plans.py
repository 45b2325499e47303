"""Topstep account plans: the table in ``resources/plans.toml`` and reading a plan off an account.

A plan is a size (50K, 100K, 150K) and a kind: a Trading Combine (``TC`` in the account name,
``50KTC-V2-DLL-…``), an Express Funded Account (scaling applies), or none (a practice account).
The trader may pick or correct it per account (``[accounts."<id>"] plan = "50K-express"``); the
name only decides when the config says ``auto``.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.config.types import Amount, Count, SymbolRoot

PLANS_RESOURCE = Path(__file__).resolve().parents[2] / "resources" / "plans.toml"


class PlanKind(StrEnum):
    COMBINE = "combine"
    EXPRESS = "express"


class ScalingTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    above_profit: Amount = Field(ge=0)
    max_position: Count = Field(ge=0)


class PlanSpec(BaseModel):
    """One plan size's numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    starting_balance: Amount = Field(gt=0)
    profit_target: Amount = Field(ge=0)
    mll: Amount = Field(gt=0)
    max_position: Count = Field(ge=0)
    micros_ratio: Count = Field(10, ge=1)
    scaling: tuple[ScalingTier, ...] = ()
    unconfirmed: tuple[str, ...] = ()

    @field_validator("scaling")
    @classmethod
    def _ascending(cls, value: tuple[ScalingTier, ...]) -> tuple[ScalingTier, ...]:
        return tuple(sorted(value, key=lambda t: t.above_profit))


class PlanTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    micros: tuple[SymbolRoot, ...] = ()
    plans: dict[str, PlanSpec] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan an account is on: its size's numbers and its kind."""

    size: str  # "50K"
    kind: PlanKind
    spec: PlanSpec
    micros: frozenset[str]

    @property
    def id(self) -> str:
        return f"{self.size}-{self.kind.value}"

    @property
    def title(self) -> str:
        kind = "Trading Combine" if self.kind is PlanKind.COMBINE else "Express Funded"
        return f"{self.size} {kind}"

    def unconfirmed(self, key: str) -> bool:
        return key in self.spec.unconfirmed

    def position_cap(self, profit_at_last_reset: float | None) -> tuple[int, str]:
        """(maximum lots, why): the plan's maximum, or on an Express Funded Account the
        scaling tier reached by the end-of-day balance (a tier changes only at the reset).

        An end-of-day profit not known yet (None: the history is still being read, or could
        not be) is no tier: the cap is then the plan's maximum, the only one that is sure,
        so a position the tier may well allow is never cut."""
        cap, why = self.spec.max_position, f"{self.size} plan maximum"
        if self.kind is PlanKind.EXPRESS and self.spec.scaling:
            if profit_at_last_reset is None:
                return cap, f"{why} (scaling plan tier not known until the end-of-day balance is read)"
            profit = profit_at_last_reset
            reached = [t for t in self.spec.scaling if profit >= t.above_profit]
            tier = reached[-1] if reached else self.spec.scaling[0]
            cap = min(cap, tier.max_position)
            why = f"scaling plan tier (profit {profit:,.0f} at the last reset)"
        return cap, why


class PlanError(ValueError):
    pass


def load_plan_table(path: Path = PLANS_RESOURCE) -> PlanTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read the plan table ({exc})") from None
    try:
        return PlanTable.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise PlanError(f"{path}: {key}: {err['msg']}") from None


_NAME = re.compile(r"^(?P<size>\d{2,3})K(?P<kind>TC|XFA|EF|EFA|EXF)?", re.IGNORECASE)
_CHOICE = re.compile(r"^(?P<size>\d{2,3}K)-(?P<kind>combine|express)$", re.IGNORECASE)


def detect_plan(account_name: str, table: PlanTable) -> Plan | None:
    """The plan an account name says: ``50KTC-…`` is a 50K Combine; ``PRAC-…`` says none."""
    match = _NAME.match(account_name.strip())
    if match is None:
        return None
    size = f"{match['size']}K"
    spec = table.plans.get(size)
    if spec is None:
        return None
    code = (match["kind"] or "TC").upper()
    kind = PlanKind.COMBINE if code == "TC" else PlanKind.EXPRESS
    return Plan(size, kind, spec, frozenset(table.micros))


def resolve_plan(choice: str, account_name: str, table: PlanTable) -> Plan | None:
    """``auto``: from the name; ``none``: no plan; ``50K-express``: that plan."""
    if choice == "none":
        return None
    if choice == "auto":
        return detect_plan(account_name, table)
    match = _CHOICE.match(choice)
    if match is None or match["size"].upper() not in table.plans:
        raise PlanError(f"{choice!r} is not a plan (e.g. \"50K-combine\", \"150K-express\")")
    size = match["size"].upper()
    return Plan(size, PlanKind(match["kind"].lower()), table.plans[size], frozenset(table.micros))


def plan_choices(table: PlanTable) -> list[str]:
    return ["auto", "none", *(f"{size}-{kind.value}" for size in table.plans for kind in PlanKind)]


def check_plan_choice(value: Any) -> str:
    """For the config: the spelling of a plan choice (the sizes are checked against the table
    when an account is resolved, so an edited table never makes an old config unreadable)."""
    if not isinstance(value, str):
        raise ValueError("expected \"auto\", \"none\" or a plan such as \"50K-combine\"")
    text = value.strip()
    if text.lower() in ("auto", "none"):
        return text.lower()
    match = _CHOICE.match(text)
    sizes = _shipped_sizes()
    if match is None or (sizes and match["size"].upper() not in sizes):
        known = ", ".join(f"{size}-combine, {size}-express" for size in sizes) or "50K-combine"
        raise ValueError(f"{value!r} is not a plan: auto, none, {known}")
    return f"{match['size'].upper()}-{match['kind'].lower()}"


@functools.cache
def _shipped_sizes() -> tuple[str, ...]:
    try:
        return tuple(load_plan_table().plans)
    except PlanError:
        return ()  # an unreadable table is reported where plans are resolved
