"""What the engine knows of each account's Topstep plan: which plan it is on (from the config's
choice, else its name), and where its Maximum Loss Limit floor is (typed in by the trader, else
the MLL tracker's). Rules 014-016 read it through their context."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.config.models import AppConfig
from core.config.plans import Plan, PlanError, PlanTable, resolve_plan
from core.modules.mirror import AccountMirror
from core.modules.mll_tracker import MllRecord, MllTracker, resets_missed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Floor:
    value: float
    typed_in: bool  # the trader's number from the Topstep dashboard, not the app's
    mll_amount: float


@dataclass(frozen=True, slots=True)
class MllStatus:
    """How far an account stands from its floor, or why that cannot be said."""

    plan: Plan | None
    floor: Floor
    balance: float | None
    open_pnl: float | None  # None while a position has no price yet

    @property
    def equity(self) -> float | None:
        if self.balance is None or self.open_pnl is None:
            return None
        return self.balance + self.open_pnl

    @property
    def distance(self) -> float | None:
        equity = self.equity
        return None if equity is None else equity - self.floor.value


class AccountPlans:
    def __init__(self, table: PlanTable, tracker: MllTracker, config: AppConfig) -> None:
        self.table = table
        self.tracker = tracker
        self._plans: dict[tuple[int, str, str], Plan | None] = {}
        # account → (name, tracker version, floor): read on every quote of a guarded account
        self._floors: dict[int, tuple[str, int, Floor | None]] = {}
        self.config = config

    @property
    def config(self) -> AppConfig:
        return self._config

    @config.setter
    def config(self, config: AppConfig) -> None:
        self._config = config
        self._floors.clear()

    def plan(self, account: AccountMirror) -> Plan | None:
        settings = self.config.account(account.account_id)
        choice = settings.plan if settings is not None else "auto"
        key = (account.account_id, choice, account.name)
        if key not in self._plans:
            try:
                self._plans[key] = resolve_plan(choice, account.name, self.table)
            except PlanError as exc:
                log.error("account %s: %s", account.account_id, exc)
                self._plans[key] = None
        return self._plans[key]

    def record(self, account: AccountMirror) -> MllRecord | None:
        plan = self.plan(account)
        if plan is None:
            return None
        spec = plan.spec
        return self.tracker.ensure(account.account_id, plan.id, spec.starting_balance, spec.mll)

    def resets_missed(self, account: AccountMirror, today: date) -> int | None:
        """Trading days ended before ``today`` that the account's record has not taken in (a
        reset missed while the app was off): 0 when up to date, None when its history was never
        read. Until it is 0 the floor may be below Topstep's and the scaling tier is not known."""
        return resets_missed(self.record(account), today - timedelta(days=1))

    def profit_at_reset(self, account: AccountMirror, today: date) -> float | None:
        """The profit at the last end of day (what a scaling tier is reached by), only when
        that end of day is the one just before ``today``: an older one is not the tier now."""
        record = self.record(account)
        if record is None or resets_missed(record, today - timedelta(days=1)) != 0:
            return None
        return record.profit_at_reset

    def floor(self, account: AccountMirror) -> Floor | None:
        cached = self._floors.get(account.account_id)
        if cached is not None and cached[0] == account.name and cached[1] == self.tracker.version:
            return cached[2]
        floor = self._floor(account)
        self._floors[account.account_id] = (account.name, self.tracker.version, floor)
        return floor

    def _floor(self, account: AccountMirror) -> Floor | None:
        settings = self.config.account(account.account_id)
        plan = self.plan(account)
        mll = plan.spec.mll if plan is not None else 0.0
        if settings is not None and settings.mll_floor is not None:
            return Floor(settings.mll_floor, True, mll)
        record = self.record(account)
        return Floor(record.floor, False, mll) if record is not None else None

    def status(
        self, account: AccountMirror, open_pnl: float | None, now: datetime
    ) -> MllStatus | None:
        floor = self.floor(account)
        if floor is None:
            return None
        return MllStatus(self.plan(account), floor, account.settled_balance(now), open_pnl)
