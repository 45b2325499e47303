"""MOD-010: the trailing Maximum Loss Limit floor per account (Topstep's rule, reference
``topstep-rules.md``), persisted like the P&L tracker: durable before anyone is told.

The floor is the end-of-day balance high minus the plan's MLL amount, recomputed only at each
daily reset, never moving down, and stopping at the starting balance once it reaches it. Worked
example, 50K (MLL $2,000): start 50,000 → floor 48,000; +$500 day 1 → 48,500; −$500 day 2 →
stays 48,500; +$2,500 day 3 (balance 52,500) → 50,000, and fixed there for good.

A floor the trader types in from their Topstep dashboard wins over this computation; that lives
in the config (``[accounts."<id>"] mll_floor``), not here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MllRecord:
    account_id: int
    plan_id: str  # "50K-combine": the numbers below came from it
    starting_balance: float
    mll_amount: float
    eod_high: float | None  # the highest end-of-day balance seen (None: no reset seen yet)
    floor: float
    eod_balance: float | None = None  # the last end-of-day balance (the scaling tier's)
    eod_day: date | None = None  # the trading day that balance ended

    @property
    def profit_at_reset(self) -> float | None:
        if self.eod_balance is None:
            return None
        return self.eod_balance - self.starting_balance


def resets_missed(record: MllRecord | None, last_ended: date) -> int | None:
    """How many ended trading days (up to ``last_ended``) the record has not taken in: 0 when
    it is up to date, None when it never took an end of day in (its history not read yet)."""
    if record is None or record.eod_day is None:
        return None
    return max(0, (last_ended - record.eod_day).days)


def trail(floor: float, eod_high: float, starting_balance: float, mll_amount: float) -> float:
    """The floor after an end of day: up with the high, never down, at most the start."""
    return max(floor, min(starting_balance, eod_high - mll_amount))


class MllStore(Protocol):
    def save_mll(self, record: MllRecord, then: Callable[[], None]) -> None: ...


class MllTracker:
    def __init__(self, store: MllStore | None = None) -> None:
        self._store = store
        self._records: dict[int, MllRecord] = {}
        self.version = 0  # bumped on every change: readers may cache until it moves

    def record(self, account_id: int) -> MllRecord | None:
        return self._records.get(account_id)

    def ensure(
        self, account_id: int, plan_id: str, starting_balance: float, mll_amount: float
    ) -> MllRecord:
        """The account's record for this plan: a new account starts at the plan's own floor; a
        corrected plan (picked by the trader) recomputes it from the highs already seen."""
        known = self._records.get(account_id)
        if known is not None and known.plan_id == plan_id:
            return known
        seen = known.eod_high if known is not None else None
        high = starting_balance if seen is None else max(starting_balance, seen)
        floor = trail(starting_balance - mll_amount, high, starting_balance, mll_amount)
        record = MllRecord(
            account_id, plan_id, starting_balance, mll_amount, seen, floor,
            known.eod_balance if known is not None else None,
            known.eod_day if known is not None else None,
        )
        self._put(record)
        return record

    def seed(self, account_id: int, eod_balances: Iterable[tuple[date, float]]) -> MllRecord | None:
        """First run: rebuild the high and the floor from end-of-day balances, as if the app
        had watched every reset."""
        return self.catch_up(account_id, eod_balances, None)

    def catch_up(
        self, account_id: int, eod_balances: Iterable[tuple[date, float]], since: date | None
    ) -> MllRecord | None:
        """The end-of-day balances of days the app did not see end, rebuilt from the trade
        history: each day after ``since`` (the record's last end of day when the history was
        read; None: every day), oldest first. A day a reset took in meanwhile keeps its own
        balance and stays the latest; the days before it still count toward the high."""
        record = self._records.get(account_id)
        if record is None:
            return None
        for day, balance in sorted(eod_balances):
            if since is not None and day <= since:
                continue
            if record.eod_day is not None and day <= record.eod_day:
                high = balance if record.eod_high is None else max(record.eod_high, balance)
                floor = trail(record.floor, high, record.starting_balance, record.mll_amount)
                record = replace(record, eod_high=high, floor=floor)
            else:
                record = _end_of_day(record, day, balance)
        self._put(record)
        return record

    def end_of_day(self, account_id: int, day: date, balance: float) -> MllRecord | None:
        """At the daily reset: ``balance`` ended trading day ``day``."""
        record = self._records.get(account_id)
        if record is None or (record.eod_day is not None and day <= record.eod_day):
            return record
        record = _end_of_day(record, day, balance)
        self._put(record)
        return record

    def restore(self, records: Iterable[MllRecord]) -> None:
        self.version += 1
        for record in records:
            self._records[record.account_id] = record

    def _put(self, record: MllRecord) -> None:
        self.version += 1
        self._records[record.account_id] = record
        if self._store is not None:
            self._store.save_mll(record, _noop)


def _end_of_day(record: MllRecord, day: date, balance: float) -> MllRecord:
    high = balance if record.eod_high is None else max(record.eod_high, balance)
    floor = trail(record.floor, high, record.starting_balance, record.mll_amount)
    return replace(record, eod_high=high, floor=floor, eod_balance=balance, eod_day=day)


def _noop() -> None:
    return None
