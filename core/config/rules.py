"""One model per rule table (SPEC section 3). Titles and descriptions feed the settings window.

Every key but ``enabled`` has a default, so ``[rules.x]`` with only ``enabled = false`` is valid.
A table left out of the file means the rule is off.
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config.ladder import (
    below_one,
    fractions,
    restrict_at,
    restrict_cooldown_seconds,
    restrict_max_contracts,
    warn_fractions,
)
from core.config.types import (
    Amount,
    CalendarDate,
    ClockTime,
    Count,
    OptionalCount,
    Switch,
    SymbolRoot,
    TimezoneName,
    Weekday,
    one_spelling_per_root,
)


class RuleConfig(BaseModel):
    # allow_inf_nan=False: `limit = inf` would switch a loss limit off while it says enabled.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    enabled: Switch = Field(title="Enabled")


class MaxContracts(RuleConfig):
    """RULE-001: a cap on the contracts open across the whole account."""

    limit: Count = Field(5, ge=0, title="Contract limit", description="Breach above this many.")
    count_type: Literal["net", "gross"] = Field(
        "net",
        title="Count",
        description="net = |longs − shorts|; gross = longs + shorts.",
    )
    reduce_to_limit: Switch = Field(
        True,
        title="Reduce to the limit",
        description="On: partially close the newest position back to the limit. "
        "Off: close newest positions whole.",
    )


class MaxContractsPerInstrument(RuleConfig):
    """RULE-002: a cap per symbol root (all expiries of MNQ count together)."""

    limits: dict[SymbolRoot, Count] = Field(
        default_factory=dict, title="Limits", description="Symbol root → contracts, e.g. MNQ = 2."
    )
    default_limit: OptionalCount = Field(
        None, ge=0, title="Default limit", description="For symbols not listed; empty = see below."
    )
    unknown_symbol: Literal["block", "allow"] = Field(
        "allow",
        title="Unlisted symbols",
        description="With no default limit: block closes any position in an unlisted symbol.",
    )

    _one_spelling = field_validator("limits", mode="before")(one_spelling_per_root)

    @field_validator("limits")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for symbol, limit in value.items():
            if limit < 0:
                raise ValueError(f"limit for {symbol} must be 0 or more, got {limit}")
        return value


class DailyRealizedLoss(RuleConfig):
    """RULE-003: stop for the day at a net realized loss."""

    limit: Amount = Field(500.0, gt=0, title="Loss limit ($)", description="500 stops at −$500.")
    warn_at: list[Amount] = warn_fractions(0.5, 0.8)
    restrict_at: Amount = restrict_at()
    restrict_max_contracts: Count = restrict_max_contracts()
    restrict_cooldown_seconds: Count = restrict_cooldown_seconds()

    _restrict = field_validator("restrict_at")(below_one)
    _fractions = field_validator("warn_at")(fractions)


class DailyUnrealizedLoss(RuleConfig):
    """RULE-004: close a position (or everything) at an open loss. Warnings and the restrict
    step follow the account's open loss (account scope)."""

    limit: Amount = Field(300.0, gt=0, title="Open-loss limit ($)")
    scope: Literal["position", "account"] = Field(
        "position", title="Scope", description="position: each position; account: their sum."
    )
    warn_at: list[Amount] = warn_fractions()
    restrict_at: Amount = restrict_at()
    restrict_max_contracts: Count = restrict_max_contracts()
    restrict_cooldown_seconds: Count = restrict_cooldown_seconds()

    _restrict = field_validator("restrict_at")(below_one)
    _fractions = field_validator("warn_at")(fractions)


class MaxUnrealizedProfit(RuleConfig):
    """RULE-005: take the open profit at a target."""

    target: Amount = Field(1000.0, gt=0, title="Open-profit target ($)")
    scope: Literal["position", "account"] = Field("position", title="Scope")


class TradeFrequencyLimit(RuleConfig):
    """RULE-006: a cooldown after too many entries. An entry is a fill that opens or adds."""

    per_minute: Count = Field(3, ge=1, title="Per minute", description="Breach above this many.")
    per_hour: Count = Field(10, ge=1, title="Per hour")
    per_session: Count = Field(50, ge=1, title="Per trading day")
    minute_cooldown_seconds: Count = Field(60, ge=1, title="Cooldown after the minute limit (s)")
    hour_cooldown_seconds: Count = Field(1800, ge=1, title="Cooldown after the hour limit (s)")
    session_cooldown_seconds: Count = Field(3600, ge=1, title="Cooldown after the day limit (s)")


class LossTier(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    loss: Amount = Field(gt=0, title="Loss ($)", description="A closing trade losing this much…")
    seconds: Count = Field(gt=0, title="Cooldown (s)", description="…starts this long a cooldown.")


class CooldownAfterLoss(RuleConfig):
    """RULE-007: a cooldown after one losing trade, longer for bigger losses."""

    tiers: list[LossTier] = Field(
        default_factory=lambda: [
            LossTier(loss=100, seconds=300),
            LossTier(loss=200, seconds=900),
            LossTier(loss=300, seconds=1800),
        ],
        title="Tiers",
    )
    flatten: Switch = Field(False, title="Also flatten", description="Close everything too.")

    @field_validator("tiers")
    @classmethod
    def _sorted(cls, value: list[LossTier]) -> list[LossTier]:
        if not value:
            raise ValueError("at least one tier is needed")
        return sorted(value, key=lambda t: t.loss)


class NoStopLossGrace(RuleConfig):
    """RULE-008: every position needs a protective stop within a grace period."""

    grace_seconds: Count = Field(30, ge=0, title="Grace (s)")


def _some_day(value: list[str] | None) -> list[str] | None:
    if value is not None and not value:
        raise ValueError("at least one day is needed")
    return value


class SessionWindow(BaseModel):
    """One symbol's own hours. A window whose end is not after its start wraps midnight (equal
    times make a 24-hour session ending at that time)."""

    model_config = ConfigDict(extra="forbid")

    start: ClockTime = Field(title="Opens")
    end: ClockTime = Field(title="Closes")
    days: list[Weekday] | None = Field(
        None, title="Days", description="Left out: the same days as the main window."
    )

    _days = field_validator("days")(_some_day)


class SessionBlockOutside(RuleConfig):
    """RULE-009: trade only inside allowed hours; flatten at the window's end.

    A window whose end is not after its start wraps midnight and belongs to the day it ends:
    17:00–16:00 Monday to Friday is the Globex week (Sunday evening is Monday's session), and
    17:00–17:00 is a 24-hour session ending at 17:00.
    """

    start: ClockTime = Field(time(8, 30), title="Opens")
    end: ClockTime = Field(time(15, 10), title="Closes")
    timezone: TimezoneName = Field("America/Chicago", title="Timezone")
    days: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], title="Days"
    )
    respect_holidays: Switch = Field(
        True, title="Closed on holidays", description="Use the holiday calendar in resources/."
    )
    holidays: list[CalendarDate] = Field(default_factory=list, title="Extra holidays")
    symbols: dict[SymbolRoot, SessionWindow] = Field(
        default_factory=dict, title="Per-symbol hours", description="Overrides, e.g. ES."
    )

    _days = field_validator("days")(_some_day)
    _one_spelling = field_validator("symbols", mode="before")(one_spelling_per_root)


class AuthLossGuard(RuleConfig):
    """RULE-010: when the gateway says the account may not trade, flatten and lock."""


class SymbolBlocks(RuleConfig):
    """RULE-011: symbols that may not be traded at all (exact root: ES does not block MES)."""

    symbols: list[SymbolRoot] = Field(default_factory=list, title="Blocked symbols")


class TradeManagement(RuleConfig):
    """RULE-012: move stops to breakeven and trail them. Only ever tightens a stop."""

    breakeven: Switch = Field(True, title="Breakeven")
    breakeven_trigger_ticks: Count = Field(10, ge=1, title="Breakeven after (ticks)")
    breakeven_offset_ticks: Count = Field(0, ge=0, title="Breakeven offset (ticks)")
    trailing: Switch = Field(False, title="Trailing stop")
    trail_activation_ticks: Count = Field(20, ge=1, title="Trail after (ticks)")
    trail_distance_ticks: Count = Field(10, ge=1, title="Trail distance (ticks)")


class DailyRealizedProfit(RuleConfig):
    """RULE-013: stop for the day at a net realized profit target."""

    target: Amount = Field(1000.0, gt=0, title="Profit target ($)")
    warn_at: list[Amount] = warn_fractions()
    restrict_at: Amount = restrict_at()
    restrict_max_contracts: Count = restrict_max_contracts()
    restrict_cooldown_seconds: Count = restrict_cooldown_seconds()

    _restrict = field_validator("restrict_at")(below_one)
    _fractions = field_validator("warn_at")(fractions)


class LossStreak(RuleConfig):
    """RULE-017: a cooldown after several losing exits in a row."""

    losses: Count = Field(
        3, ge=2, title="Losing exits in a row",
        description="Closing orders that lost, one after another (a win or breakeven resets it).",
    )
    cooldown_seconds: Count = Field(1800, ge=1, title="Cooldown (s)")
    reset_daily: Switch = Field(
        True, title="New day, new streak", description="The daily reset starts the count again.",
    )


# --- the Topstep account itself (SPEC section 6): act only on accounts with a plan ---------------


class MaxLossGuard(RuleConfig):
    """RULE-014: flatten and lock for the day before equity reaches the Maximum Loss Limit."""

    buffer: Amount = Field(
        250.0, ge=0, title="Buffer ($)",
        description="Act when equity is this close to the MLL floor (fills slip: never 0).",
    )
    buffer_share: Amount = Field(
        0.0, ge=0, lt=1, title="Buffer as a share of the MLL",
        description="0.1 = 10 % of the MLL amount; 0 = off. The larger of the two buffers wins.",
    )
    warn_at: list[Amount] = Field(
        default_factory=lambda: [1000.0, 500.0],
        title="Warn at ($ from the floor)",
        description="Warnings as the distance to the floor falls to these amounts.",
    )
    restrict_at: Amount = restrict_at("a distance to the floor in $")
    restrict_max_contracts: Count = restrict_max_contracts()
    restrict_cooldown_seconds: Count = restrict_cooldown_seconds()

    @field_validator("warn_at")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        for amount in value:
            if amount <= 0:
                raise ValueError(f"each warning distance must be above 0, got {amount}")
        return sorted(set(value), reverse=True)

    def buffer_for(self, mll_amount: float) -> float:
        return max(self.buffer, self.buffer_share * mll_amount)


class PlanPositionSize(RuleConfig):
    """RULE-015: no more contracts than the plan (or its scaling tier) allows; micros count at
    the plan's ratio."""


class FirmClose(RuleConfig):
    """RULE-016: flat before the firm's close, and no new entries until the next session opens."""

    close: ClockTime = Field(time(15, 10), title="Firm close", description="Topstep: 15:10 CT.")
    flatten_minutes_before: Amount = Field(
        2.0, ge=0, le=120, title="Flatten this many minutes before",
        description="Topstep's desk starts at 15:08 CT: flatten before it does.",
    )
    reopen: ClockTime = Field(time(17, 0), title="Next session opens")
    timezone: TimezoneName = Field("America/Chicago", title="Timezone")
    symbols: dict[SymbolRoot, ClockTime] = Field(
        default_factory=lambda: {
            "ZC": time(13, 20), "ZW": time(13, 20), "ZS": time(13, 20), "ZM": time(13, 20),
            "ZL": time(13, 20), "HE": time(13, 5), "LE": time(13, 5),
        },
        title="Earlier closes",
        description="Products that close before the firm's close (grains, livestock).",
    )

    _one_spelling = field_validator("symbols", mode="before")(one_spelling_per_root)

    @model_validator(mode="after")
    def _before_close(self) -> FirmClose:
        if self.reopen == self.close:
            raise ValueError("the next session cannot open at the close")
        return self


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_contracts: MaxContracts = Field(default_factory=lambda: MaxContracts(enabled=False))
    max_contracts_per_instrument: MaxContractsPerInstrument = Field(
        default_factory=lambda: MaxContractsPerInstrument(enabled=False)
    )
    daily_realized_loss: DailyRealizedLoss = Field(
        default_factory=lambda: DailyRealizedLoss(enabled=False)
    )
    daily_unrealized_loss: DailyUnrealizedLoss = Field(
        default_factory=lambda: DailyUnrealizedLoss(enabled=False)
    )
    max_unrealized_profit: MaxUnrealizedProfit = Field(
        default_factory=lambda: MaxUnrealizedProfit(enabled=False)
    )
    trade_frequency_limit: TradeFrequencyLimit = Field(
        default_factory=lambda: TradeFrequencyLimit(enabled=False)
    )
    cooldown_after_loss: CooldownAfterLoss = Field(
        default_factory=lambda: CooldownAfterLoss(enabled=False)
    )
    no_stop_loss_grace: NoStopLossGrace = Field(
        default_factory=lambda: NoStopLossGrace(enabled=False)
    )
    session_block_outside: SessionBlockOutside = Field(
        default_factory=lambda: SessionBlockOutside(enabled=False)
    )
    auth_loss_guard: AuthLossGuard = Field(default_factory=lambda: AuthLossGuard(enabled=False))
    symbol_blocks: SymbolBlocks = Field(default_factory=lambda: SymbolBlocks(enabled=False))
    trade_management: TradeManagement = Field(
        default_factory=lambda: TradeManagement(enabled=False)
    )
    daily_realized_profit: DailyRealizedProfit = Field(
        default_factory=lambda: DailyRealizedProfit(enabled=False)
    )
    max_loss_guard: MaxLossGuard = Field(default_factory=lambda: MaxLossGuard(enabled=False))
    plan_position_size: PlanPositionSize = Field(
        default_factory=lambda: PlanPositionSize(enabled=False)
    )
    firm_close: FirmClose = Field(default_factory=lambda: FirmClose(enabled=False))
    loss_streak: LossStreak = Field(default_factory=lambda: LossStreak(enabled=False))

