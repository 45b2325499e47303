"""How one changed rule setting moves protection: tighter, looser or neither (SPEC section 3).

Each key is judged from the rule in force, as if it were the only change: :data:`SIMPLE` judges
a key on its own two values (a lower loss limit tightens, fewer allowed symbols tighten), and a
few are judged against the whole rule (a per-instrument limit falls back to the unlisted one,
trading-hours windows as the minutes of the week they allow, cooldown tiers loss by loss). A
rule that is off protects nothing, so its settings change nothing and switching it on tightens.
A key nobody has judged loosens. :mod:`core.config.changes` walks the whole config with these.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from core.config.rules import (
    CooldownAfterLoss,
    MaxContractsPerInstrument,
    RuleConfig,
    SessionBlockOutside,
)
from core.config.types import WEEKDAYS


class Direction(StrEnum):
    TIGHTENS = "tightens"
    LOOSENS = "loosens"
    NEUTRAL = "neutral"  # no protection in force changes (a rule that is off, an alert setting)


T, L, N = Direction.TIGHTENS, Direction.LOOSENS, Direction.NEUTRAL
INF = float("inf")


def compare(old: float, new: float, tighter_when_lower: bool = True) -> Direction:
    if old == new:
        return N
    return T if (new < old) == tighter_when_lower else L


def _superset(old: Any, new: Any) -> Direction:
    """More blocked symbols, holidays or warnings tighten; any removal loosens."""
    return T if set(new) >= set(old) else L


def _order(*loosest_first: Any) -> Callable[[Any, Any], Direction]:
    return lambda old, new: compare(loosest_first.index(old), loosest_first.index(new), False)


def _restrict_fraction(o: Any, n: Any) -> Direction:
    """0 switches the step off (the loosest); otherwise restricting sooner tightens."""
    return compare(INF if o == 0 else o, INF if n == 0 else n)


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
    **{key: compare for key in LOWER},
    **{key: (lambda o, n: compare(o, n, tighter_when_lower=False)) for key in HIGHER},
    **{key: _order(False, True) for key in SWITCHES},
    # closing newest positions whole takes off more than reducing them to the limit
    "max_contracts.reduce_to_limit": _order(True, False),
    "max_contracts.count_type": _order("net", "gross"),  # gross ≥ net, always
    "loss_streak.reset_daily": _order(True, False),  # a streak carried over the reset is stricter
    "daily_realized_loss.warn_at": _superset,
    "session_block_outside.holidays": _superset,
    "symbol_blocks.symbols": _superset,
    "max_loss_guard.warn_at": _superset,
    "firm_close.close": compare,  # an earlier close: flat sooner
    # an earlier close for a product, or a product added to the list, is flat sooner
    "firm_close.symbols": lambda o, n: L if n is None else (T if o is None else compare(o, n)),
    "firm_close.timezone": lambda o, n: L,
    # the ladder: warnings, then the restrict step (sooner, smaller, longer is tighter)
    **{f"{t}.warn_at": _superset for t in ("daily_unrealized_loss", "daily_realized_profit")},
    **{f"{t}.restrict_at": _restrict_fraction
       for t in ("daily_realized_loss", "daily_unrealized_loss", "daily_realized_profit")},
    "max_loss_guard.restrict_at": lambda o, n: compare(o, n, tighter_when_lower=False),
    **{f"{t}.restrict_max_contracts": compare for t in LADDERED},
    **{f"{t}.restrict_cooldown_seconds": (lambda o, n: compare(o, n, tighter_when_lower=False))
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
        return compare(fallback if o is None else o, fallback if n is None else n)
    if key == "default_limit":
        return compare(_unlisted_limit(old, o), _unlisted_limit(old, n))
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


def rule_direction(
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
