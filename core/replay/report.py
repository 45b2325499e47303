"""The replay report as data: per trading day, per candidate, per rule. Rendered as text
(:mod:`core.replay.text`), as a self-contained HTML file (:mod:`core.replay.html`) and in the
GUI's "What if…" window; built by :mod:`core.replay.summary`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

Curve = tuple[tuple[datetime, Decimal], ...]


@dataclass(frozen=True, slots=True)
class DayResult:
    net: Decimal  # realized net P&L of the trading day
    drawdown: Decimal  # worst fall of the day's running realized P&L from its high (≤ 0)
    breaches: int = 0
    prevented: int = 0  # contracts of entries prevented
    closed: int = 0  # contracts closed by the rules


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    trades: int  # the trader's fills that day
    actual: DayResult
    candidates: tuple[DayResult, ...]  # one per candidate, in the order given
    missing: tuple[str, ...]  # what data was missing that day


@dataclass(frozen=True, slots=True)
class RuleRow:
    rule_id: str
    name: str
    breaches: int
    locks: int
    prevented: int  # contracts
    closed: int  # contracts
    saved: Decimal  # + saved, − cost; includes ``open_part``
    open_part: Decimal  # of which: contracts never exited in the data, at the last price
    unpriced: int  # contracts whose money could not be counted (unknown tick value)


@dataclass(frozen=True, slots=True)
class EventLine:
    """One line of what happened: a breach, a lock, a prevented entry or a simulated close."""

    at: datetime
    kind: str  # "breach", "lock", "prevented", "closed"
    rule_id: str
    text: str


@dataclass(frozen=True, slots=True)
class CandidateSummary:
    name: str
    total: Decimal
    drawdown: Decimal
    breaches: int
    locks: int
    prevented: int
    closed: int
    rules: tuple[RuleRow, ...]
    unattributed: Decimal  # total difference the rule rows do not explain (see assumptions)
    events: tuple[EventLine, ...]
    curve: Curve
    not_replayed: tuple[str, ...]  # rule names left out


@dataclass(frozen=True, slots=True)
class ReplayReport:
    account_id: int
    first_day: date
    last_day: date
    zone: str
    day_rule: str  # "17:00 to 17:00 America/Chicago"
    source: str
    price_source: str
    slippage_ticks: int
    days: tuple[DayRow, ...]
    actual_total: Decimal
    actual_drawdown: Decimal
    actual_curve: Curve
    candidates: tuple[CandidateSummary, ...]
    assumptions: tuple[str, ...]
    missing: tuple[str, ...]  # data problems over the whole range

    @property
    def trade_count(self) -> int:
        return sum(row.trades for row in self.days)
