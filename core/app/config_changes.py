"""What a settings change does to protection, and when it takes effect (SPEC section 3).

"Config changes that tighten take effect at once; changes that loosen an active rule take
effect at the next reset, and need the admin password when one is set."

:func:`classify` compares two configs key by key. Each change is judged *from the config in
force*, as if it were the only change: a lower loss limit tightens, disabling an enabled rule
loosens, and a key with no clear direction (a scope, a timezone) loosens unless it is clearly
tighter, erring on the side of protection. Changes to a rule that is off change no protection
now (enabling it tightens). :func:`split` applies what does not loosen and keeps the whole new
config for the reset. :class:`ConfigManager` owns the files and the deferral.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel

from core.app.admin_password import AdminPassword
from core.config.io import dump_config, load_config, parse_config, save_config, write_text_atomic
from core.config.models import AppConfig
from core.config.rules import (
    CooldownAfterLoss,
    MaxContractsPerInstrument,
    RuleConfig,
    SessionBlockOutside,
)
from core.config.types import WEEKDAYS
from core.domain.clock import Clock, SystemClock
from core.domain.trading_day import TradingCalendar

log = logging.getLogger(__name__)


class Direction(StrEnum):
    TIGHTENS = "tightens"
    LOOSENS = "loosens"
    NEUTRAL = "neutral"  # no protection in force changes (a rule that is off, a gateway URL)


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
MAP_FIELDS = {("max_contracts_per_instrument", "limits"), ("session_block_outside", "symbols")}


def _compare(old: float, new: float, tighter_when_lower: bool = True) -> Direction:
    if old == new:
        return N
    return T if (new < old) == tighter_when_lower else L


def _superset(old: Any, new: Any) -> Direction:
    """More blocked symbols, holidays or warnings tighten; any removal loosens."""
    return T if set(new) >= set(old) else L


def _order(*loosest_first: Any) -> Callable[[Any, Any], Direction]:
    return lambda old, new: _compare(loosest_first.index(old), loosest_first.index(new), False)


# Keys judged on their own values, as "table.key". A lower value tightens for LOWER, a higher
# one for HIGHER; for the switches True is the stricter side.
LOWER = {
    "max_contracts.limit", "daily_realized_loss.limit", "daily_unrealized_loss.limit",
    "max_unrealized_profit.target",  # taking profit sooner leaves less exposure
    "trade_frequency_limit.per_minute", "trade_frequency_limit.per_hour",
    "trade_frequency_limit.per_session", "no_stop_loss_grace.grace_seconds",
    "trade_management.breakeven_trigger_ticks", "trade_management.trail_activation_ticks",
    "trade_management.trail_distance_ticks", "daily_realized_profit.target",
}
HIGHER = {
    "trade_frequency_limit.minute_cooldown_seconds", "trade_frequency_limit.hour_cooldown_seconds",
    "trade_frequency_limit.session_cooldown_seconds",
    "trade_management.breakeven_offset_ticks",  # the stop locks in more profit
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
    "daily_realized_loss.warn_at": _superset,
    "session_block_outside.holidays": _superset,
    "symbol_blocks.symbols": _superset,
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


def _minutes(start: Any, end: Any, days: list[str]) -> frozenset[int]:
    """The minutes of the week a window allows; a window past midnight belongs to its first day."""
    s, e = start.hour * 60 + start.minute, end.hour * 60 + end.minute
    allowed: set[int] = set()
    for day in days:
        base = WEEKDAYS.index(day) * 1440
        if s < e:
            allowed.update(range(base + s, base + e))
        else:
            allowed.update(range(base + s, base + 1440))
            nxt = (WEEKDAYS.index(day) + 1) % 7 * 1440
            allowed.update(range(nxt, nxt + e))
    return frozenset(allowed)


def _narrower(old: frozenset[int], new: frozenset[int]) -> Direction:
    return N if new == old else (T if new <= old else L)


def _session(
    key: str, sub: str | None, old: SessionBlockOutside, new: SessionBlockOutside
) -> Direction:
    if key in ("start", "end", "days"):
        # Judged together: moving only the start past the end would wrap the window wider.
        return _narrower(
            _minutes(old.start, old.end, old.days), _minutes(new.start, new.end, new.days)
        )
    if key == "symbols" and sub is not None:
        # One symbol's own hours; without them it follows the main window (judged as in force).
        def window(cfg: SessionBlockOutside) -> frozenset[int]:
            own = cfg.symbols.get(sub)
            return _minutes(own.start, own.end, old.days) if own else main

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


def classify(old: AppConfig, new: AppConfig) -> list[Change]:
    """Every changed key and what it does to the protection in force, in file order."""
    changes = [
        Change(key, o, n, N)  # where to connect and as whom: not a rule, applies at once
        for key, _, _, o, n in _leaves("gateway", "gateway", old.gateway, new.gateway)
    ]
    changes += [
        Change(key, o, n, _general_direction(name, old, o, n))
        for key, name, _, o, n in _leaves("general", "general", old.general, new.general)
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
    return changes


def _with(config: AppConfig, changes: list[Change]) -> AppConfig:
    data = config.model_dump(mode="json")
    for change in changes:
        *parents, last = change.key.split(".")
        node = data
        for part in parents:
            node = node[part]
        if change.new is None and tuple(parents[1:]) in MAP_FIELDS:
            node.pop(last, None)  # a removed map entry
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


# --- the files and the deferral -------------------------------------------------------------------


class ProposalStatus(StrEnum):
    NO_CHANGE = "no_change"
    APPLIED = "applied"  # all in force now
    DEFERRED = "deferred"  # what tightens is in force; what loosens waits for the reset
    PASSWORD_REQUIRED = "password_required"  # nothing was changed
    WRONG_PASSWORD = "wrong_password"  # nothing was changed


@dataclass(frozen=True, slots=True)
class ProposalResult:
    status: ProposalStatus
    message: str
    applied: tuple[Change, ...] = ()  # in force now (or would be, given the password)
    waiting: tuple[Change, ...] = ()  # wait for the reset (or need the password)
    applies_at: datetime | None = None  # when the waiting ones take effect


@dataclass(frozen=True, slots=True)
class _Pending:
    config: AppConfig
    proposed_at: datetime
    applies_at: datetime
    base: str  # digest of the config in force when it was proposed


def _digest(config: AppConfig) -> str:
    return hashlib.sha256(dump_config(config).encode("utf-8")).hexdigest()


class ConfigManager:
    """Owns the config file, the config in force and the one waiting for the reset.

    The waiting config is kept in ``<name>.pending.toml`` beside the config, so a restart
    keeps the deferral; it applies only at or after the reset following its proposal. Call
    :meth:`apply_pending_if_due` at startup and on every clock tick (cheap until due).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None,
                 admin: AdminPassword | None = None, config: AppConfig | None = None) -> None:
        self.path = path
        self.pending_path = path.with_name(f"{path.stem}.pending.toml")
        self.clock = clock or SystemClock()
        # By default the password file beside the config: forgetting to wire it cannot skip it.
        self.admin = admin if admin is not None else AdminPassword.beside(path)
        self.config = config if config is not None else load_config(path)
        self._listeners: list[Callable[[AppConfig], None]] = []
        self._pending = self._load_pending()

    @property
    def pending(self) -> AppConfig | None:
        return self._pending.config if self._pending else None

    @property
    def pending_applies_at(self) -> datetime | None:
        return self._pending.applies_at if self._pending else None

    def editable(self) -> AppConfig:
        """Where the settings window starts: the latest wish, waiting or not."""
        return self._pending.config if self._pending else self.config

    def add_listener(self, listener: Callable[[AppConfig], None]) -> None:
        """``listener(config)`` runs each time a new config is in force."""
        self._listeners.append(listener)

    def propose(self, new: AppConfig, password: str | None = None) -> ProposalResult:
        """``new`` is the whole desired config; it replaces anything already waiting."""
        changes = classify(self.config, new)
        if not changes:
            text = "the waiting changes were withdrawn" if self._pending else "nothing changed"
            self.cancel_pending()
            return ProposalResult(ProposalStatus.NO_CHANGE, text)
        at = self.clock.now()
        now_part = tuple(c for c in changes if not c.waits)
        waiting = tuple(c for c in changes if c.waits)
        applies_at = self._calendar().next_reset(at) if waiting else None
        if waiting and self.admin.is_set() and not self._approved(waiting):
            status, text = (
                (ProposalStatus.PASSWORD_REQUIRED, "loosening a rule needs the admin password")
                if password is None
                else (ProposalStatus.WRONG_PASSWORD, "wrong admin password: nothing was changed")
            )
            if password is None or not self.admin.verify(password):
                return ProposalResult(status, text, now_part, waiting, applies_at)
        apply_now, pending = split(self.config, new)
        if pending is None or applies_at is None:
            self._put_in_force(new)
            self.cancel_pending()
            return ProposalResult(ProposalStatus.APPLIED, "applied now", now_part)
        if apply_now is self.config:
            now_part, waiting = (), tuple(changes)  # nothing could apply alone: all of it waits
        self._put_in_force(apply_now)
        self._pending = _Pending(pending, at, applies_at, _digest(self.config))
        write_text_atomic(self.pending_path, tomli_w.dumps({
            "pending": {"proposed_at": at, "applies_at": applies_at, "base_sha256": self._pending.base},
            "config": pending.model_dump(mode="json", exclude_none=True),
        }))
        return ProposalResult(
            ProposalStatus.DEFERRED,
            f"{len(waiting)} change(s) loosen protection: they take effect at the next reset",
            now_part, waiting, applies_at,
        )

    def cancel_pending(self) -> None:
        """Forget the waiting changes (keeping the stricter config needs no password)."""
        self._pending = None
        self.pending_path.unlink(missing_ok=True)

    def apply_pending_if_due(self, now: datetime, calendar: TradingCalendar) -> AppConfig | None:
        """At or after the reset, put the waiting config in force and return it (for
        ``engine.apply_config``); None otherwise. It must have waited for a reset under both
        the engine's ``calendar`` and the clock it was proposed under."""
        pending = self._pending
        if pending is None or now < pending.applies_at or now < calendar.next_reset(pending.proposed_at):
            return None
        if pending.base != _digest(self.config):  # approved against another config: never apply
            log.warning("the config changed since the waiting changes were proposed: dropped")
            self.cancel_pending()
            return None
        self._put_in_force(pending.config)
        self.cancel_pending()
        return pending.config

    # --- internals ----------------------------------------------------------------------------

    def _calendar(self) -> TradingCalendar:
        return TradingCalendar(self.config.general.reset_time, self.config.general.timezone)

    def _approved(self, waiting: tuple[Change, ...]) -> bool:
        """The same waiting values were accepted with the password already: don't ask again."""
        if self._pending is None:
            return False
        accepted = {(c.key, repr(c.new)) for c in classify(self.config, self._pending.config)}
        return all((c.key, repr(c.new)) in accepted for c in waiting)

    def _put_in_force(self, config: AppConfig) -> None:
        if config == self.config:
            return
        save_config(config, self.path)  # durable first: a crash must not undo what we reported
        self.config = config
        for listener in list(self._listeners):
            try:
                listener(config)
            except Exception:  # one broken listener must not leave the others uninformed
                log.exception("a config listener failed")

    def _load_pending(self) -> _Pending | None:
        if not self.pending_path.exists():
            return None
        try:
            data = tomllib.loads(self.pending_path.read_text(encoding="utf-8"))
            meta = data["pending"]
            pending = _Pending(parse_config(data["config"], self.pending_path),
                               meta["proposed_at"], meta["applies_at"], meta["base_sha256"])
            if not (isinstance(pending.applies_at, datetime) and pending.applies_at.tzinfo
                    and isinstance(pending.proposed_at, datetime) and pending.proposed_at.tzinfo):
                raise ValueError("its times have no timezone")
        except (OSError, ValueError, KeyError, TypeError) as exc:  # ConfigError is a ValueError
            log.warning("ignoring the unreadable waiting config %s: %s", self.pending_path, exc)
            return None  # never applied; the next proposal replaces the file
        if pending.base != _digest(self.config):
            # The config was edited while we were stopped: the approval was for another one.
            log.warning("the config changed since %s was proposed: dropped", self.pending_path)
            self.pending_path.unlink(missing_ok=True)
            return None
        return pending
