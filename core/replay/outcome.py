"""What one replay run recorded: the replayed P&L as it happened, breaches, locks, prevented
entries, simulated closes and each rule's money. The report is built from these alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from core.replay.ledger import Attribution


@dataclass(frozen=True, slots=True)
class RealizedStep:
    """One half-turn of the replay: what it added to the day's net realized P&L."""

    at: datetime
    contract_id: str
    net: Decimal  # gross − costs (an entry: −costs)
    by_rule: str | None = None  # the rule whose simulated close this was


@dataclass(frozen=True, slots=True)
class BreachRecord:
    at: datetime
    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class LockRecord:
    at: datetime
    rule_id: str
    kind: str  # "hard", "cooldown", "symbol"
    until: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class PreventedEntry:
    at: datetime
    contract_id: str
    size: int
    price: Decimal
    rule_id: str


@dataclass(frozen=True, slots=True)
class SimulatedClose:
    at: datetime  # when the rule asked (the replay takes it at once)
    contract_id: str
    size: int
    price: Decimal | None  # None: nothing to price it with
    rule_id: str
    reason: str
    priced_by: str  # "next bar open", "last price" (no later bar), "no price"


@dataclass
class ModelCheck:
    """The position model against the gateway's own profit, on fills the replay left as they
    were: how often it agreed and by how much it did not."""

    compared: int = 0
    differed: int = 0
    difference: Decimal = Decimal(0)


@dataclass
class RunOutcome:
    name: str  # the candidate's name: its file's name, or "candidate"
    steps: list[RealizedStep] = field(default_factory=list)
    breaches: list[BreachRecord] = field(default_factory=list)
    locks: list[LockRecord] = field(default_factory=list)
    prevented: list[PreventedEntry] = field(default_factory=list)
    closes: list[SimulatedClose] = field(default_factory=list)
    attributions: list[Attribution] = field(default_factory=list)
    removed_exits: int = 0  # contracts of the trader's exits that settled prevented/closed ones
    carried_in: list[tuple[datetime, str, int]] = field(default_factory=list)
    unpriced: list[tuple[datetime, str]] = field(default_factory=list)
    stop_changes: int = 0  # trade-management / stop-size changes asked for, not simulated
    rule_errors: list[str] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)  # rule ids left out, and why below
    model: ModelCheck = field(default_factory=ModelCheck)
