"""Plain-Python notices the core publishes: what the tray, dashboard and log show.

Notices about critical state (locks, daily P&L) are published only after that state is
durable in SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from core.domain.commands import EnforcementCommand
    from core.modules.lockouts import Lock, SymbolLock


@dataclass(frozen=True, slots=True)
class LockSet:
    lock: Lock


@dataclass(frozen=True, slots=True)
class LockCleared:
    lock: Lock
    why: str  # "expired", "can trade again", "config"


@dataclass(frozen=True, slots=True)
class SymbolLockSet:
    lock: SymbolLock


@dataclass(frozen=True, slots=True)
class SymbolLockCleared:
    lock: SymbolLock


@dataclass(frozen=True, slots=True)
class RealizedPnlChanged:
    account_id: int
    trading_day: date
    net: Decimal
    trade_count: int


@dataclass(frozen=True, slots=True)
class LossWarning:
    """Daily realized loss reached a configured fraction of its limit (once per day each)."""

    account_id: int
    trading_day: date
    fraction: float
    net: Decimal
    limit: float


@dataclass(frozen=True, slots=True)
class BreachDetected:
    account_id: int
    rule_id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class EnforcementIssued:
    command: EnforcementCommand


@dataclass(frozen=True, slots=True)
class EnforcementDone:
    """The gateway carried a command out (and, for closes and flattens, a re-read confirmed it)."""

    command: EnforcementCommand
    latency_ms: float  # from the triggering event entering the engine
    attempts: int


@dataclass(frozen=True, slots=True)
class EnforcementFailed:
    """Critical: a command still fails after its retries. Repeats until resolved."""

    command: EnforcementCommand
    error: str
    attempts: int


@dataclass(frozen=True, slots=True)
class EnforcementRecovered:
    """A command that had raised EnforcementFailed finally went through."""

    command: EnforcementCommand
    attempts: int


@dataclass(frozen=True, slots=True)
class DailyReset:
    account_id: int
    trading_day: date  # the day that has just begun


@dataclass(frozen=True, slots=True)
class AccountStatusChanged:
    """starting → reconciling → protected; reconnecting after any connection loss."""

    account_id: int
    status: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class HubStatusChanged:
    hub: str  # "user" or "market"
    state: str  # connecting, connected, disconnected, stopped


@dataclass(frozen=True, slots=True)
class RuleError:
    """A rule raised: logged and reported, never fatal."""

    rule_id: str
    account_id: int
    error: str


@dataclass(frozen=True, slots=True)
class LimitWarning:
    """A limit is near (the distance to the Maximum Loss Limit fell to a warning amount):
    told once per trading day per threshold; nothing is enforced yet."""

    account_id: int
    rule_id: str
    message: str
    threshold: float
    trading_day: date


@dataclass(frozen=True, slots=True)
class RereadNeeded:
    """An update could not be applied as it stood (a position never seen without its side or
    price, an order without its type or size, an impossible value): the account's positions
    and orders must be read again over REST instead of guessed at."""

    account_id: int
    why: str


Notice: TypeAlias = (
    LockSet
    | LockCleared
    | SymbolLockSet
    | SymbolLockCleared
    | RealizedPnlChanged
    | LossWarning
    | BreachDetected
    | EnforcementIssued
    | EnforcementDone
    | EnforcementFailed
    | EnforcementRecovered
    | DailyReset
    | AccountStatusChanged
    | HubStatusChanged
    | RuleError
    | RereadNeeded
    | LimitWarning
)
