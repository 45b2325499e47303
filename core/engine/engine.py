"""The event router: one engine protects every account at once.

For each event: update state → lockout gate → rules in table order → the first breach is
enforced once. Enforcement leaves as commands through an :class:`EnforcementPort` (sent by the
:class:`CommandDispatcher`); locks are set and ended by the :class:`LockKeeper`; nothing here
waits on the network or the disk. Clock ticks (about once a second) drive everything
time-based: grace periods, window ends, lock expiry and the daily reset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import date, datetime
from functools import partial
from typing import Any

from core.config.models import AppConfig
from core.config.plans import PlanError, PlanTable, load_plan_table
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.commands import EnforcementCommand, EnforcementPort
from core.domain.events import (
    ClockTick,
    DepthEvent,
    MarketTradeEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    Recheck,
)
from core.domain.trading_day import TradingCalendar
from core.domain.words import rule_label
from core.engine import day_turn
from core.engine.account_plans import AccountPlans
from core.engine.dispatch import CommandDispatcher
from core.engine.gate import LockoutGate
from core.engine.housekeeping import sweep_hard_lock
from core.engine.locks import LockKeeper
from core.engine.loss_warnings import LossWarnings
from core.engine.merge import merge_commands
from core.engine.notices import BreachDetected, RereadNeeded, RuleError
from core.engine.open_pnl import OpenPnlBook
from core.engine.resend_guard import ResendGuard
from core.engine.restore import restore_state
from core.engine.rulebook import RuleBook, changed_tables
from core.engine.rules import Rule, RuleContext
from core.engine.state_update import update_state
from core.engine.symbol_lookup import judge_when_known
from core.modules.contracts import ContractCache
from core.modules.enforcement_log import EnforcementLog
from core.modules.lockouts import LockoutManager
from core.modules.mirror import PositionsMirror
from core.modules.mll_tracker import MllTracker
from core.modules.pnl_tracker import PnlTracker, PnlUpdate
from core.modules.quotes import QuoteBook
from core.modules.reset_scheduler import ResetScheduler
from core.modules.timers import TimerManager
from core.modules.trade_counter import TradeCounter
from core.persistence.store import StateStore
from core.persistence.writers import Inbox

log = logging.getLogger(__name__)

# How long an identical command is not sent again while the state it acted on is unchanged.
# The executor retries on its own; this only stops a quote storm from repeating a close.
RESEND_AFTER = 2.0
STOP_MODIFY_INTERVAL = 1.0
MAX_LOSS_GUARD = "max_loss_guard"


def _plan_table() -> PlanTable:
    try:
        return load_plan_table()
    except PlanError as exc:
        log.error("%s: no Topstep plan is known, so no account guard acts", exc)
        return PlanTable()


class Engine:
    def __init__(
        self,
        config: AppConfig,
        clock: Clock,
        port: EnforcementPort,
        bus: EventBus | None = None,
        store: StateStore | None = None,
        holidays: Iterable[date] = (),
    ) -> None:
        self.clock = clock
        self.bus = bus or EventBus()
        self.store = store
        self.inbox = store.inbox if store is not None else Inbox()
        self.holidays = frozenset(holidays)
        self.calendar = TradingCalendar(config.general.reset_time, config.general.timezone)
        self.lockouts = LockoutManager(store)
        self.timers = TimerManager()
        self.resets = ResetScheduler(self.calendar, store)
        self.pnl = PnlTracker(self.calendar, store)
        self.quotes = QuoteBook()
        self.contracts = ContractCache(store)
        self.contracts.on_known = lambda contract_id: judge_when_known(self, contract_id)
        self.counter = TradeCounter(self.calendar, store)
        self.mirror = PositionsMirror(store)
        self.enforcement_log = EnforcementLog(store)
        self.gate = LockoutGate(self.lockouts, self.contracts)
        self._contexts: dict[int, RuleContext] = {}
        self.resend = ResendGuard(self.mirror, clock, RESEND_AFTER, STOP_MODIFY_INTERVAL)
        self.dispatch = CommandDispatcher(
            port, self.resend, self.mirror, self.enforcement_log, self.bus, clock
        )
        self.locks = LockKeeper(self.lockouts, self.timers, self.mirror, self.bus, clock)
        self.warnings = LossWarnings()
        self.mll = MllTracker(store)
        self.plans = AccountPlans(_plan_table(), self.mll, config)
        self.open_pnl_book = OpenPnlBook(self.mirror, self.quotes, self.contracts)
        # (account, rule, threshold, trading day) of each warning before a limit already told
        self.limit_warned: set[tuple[int, str, float, date]] = set()
        self.apply_config(config)

    @property
    def port(self) -> EnforcementPort:
        return self.dispatch.port

    @port.setter
    def port(self, port: EnforcementPort) -> None:
        """The service plugs its executor in once the gateway client exists."""
        self.dispatch.port = port

    # --- configuration ---------------------------------------------------------------------------

    def apply_config(self, config: AppConfig) -> None:
        """Swap the rule set (whether a loosening may apply now is the caller's decision), then
        judge the rule tables that changed against the present state at once: a newly blocked
        symbol that is held is closed now; a loss limit lowered below today's loss locks now."""
        old: AppConfig | None = getattr(self, "config", None)
        self.config = config
        general = config.general
        if (general.reset_time, general.timezone) != (self.calendar.reset_time, self.calendar.zone.key):
            self.calendar.reconfigure(general.reset_time, general.timezone)
        self.protected: set[int] | None = set(general.accounts) or None
        self.rulebook = RuleBook(config)
        self.plans.config = config
        self.release_unblocked_symbols(self.mirror.accounts)
        if old is not None:
            for account_id in sorted(set(self.mirror.accounts) | self.pnl.accounts()):
                changed = changed_tables(old, config, account_id)
                if changed:
                    self.recheck(account_id, only=changed, tightened=changed)

    @property
    def rules(self) -> list[Rule[Any]]:
        """The shared rule set (an account with its own tables has its own: ``rulebook``)."""
        return self.rulebook.shared

    def release_unblocked_symbols(self, account_ids: Iterable[int]) -> None:
        for account_id in list(account_ids):
            cfg = self.config.rules_for(account_id).symbol_blocks
            self.locks.release_unblocked_symbols(
                (account_id,), set(cfg.symbols) if cfg.enabled else set()
            )

    def is_protected(self, account_id: int) -> bool:
        if self.protected is None or account_id in self.protected:
            return True
        # A lock protects its account until it ends, whatever the account list says.
        return bool(self.lockouts.locks(account_id) or self.lockouts.symbol_locks(account_id))

    # --- startup -----------------------------------------------------------------------------------

    def restore(self) -> None:
        """Load state in SPEC order: lockouts, daily P&L, contracts, resets, trade counts, mirror."""
        restore_state(self)

    # --- events ------------------------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        """Route one gateway event. Never raises: a bad event is logged and dropped."""
        started = time.perf_counter()  # latency measurement only: decisions use self.clock
        if self.inbox._pending:
            self.inbox.drain()
        try:
            self._route(event, started)
        except Exception:
            log.exception("event %r could not be handled", event)

    def _route(self, event: Any, started: float) -> None:
        kind = type(event)
        if kind is QuoteEvent or kind is MarketTradeEvent:
            mark = self.quotes.apply(event) if kind is QuoteEvent else self.quotes.apply_print(event)
            holders = self.mirror.holders(event.contract_id)
            if mark is None or not holders:
                return
            now = self.clock.now()
            book = self.rulebook
            holding = tuple(holders)
            self.open_pnl_book.mark_moved(event.contract_id, holding)
            for account_id in holding:
                if self.protected is None or account_id in self.protected or self.is_protected(account_id):
                    rules = book.kinds(account_id).get(kind)
                    if not rules:
                        continue
                    try:
                        self._judge(account_id, event, rules, now, started)
                    except Exception:  # one account's failure must not skip the next one
                        log.exception("quote %r could not be judged for %s", event, account_id)
            return
        if kind is DepthEvent:
            return
        account_id = event.account_id
        if not self.is_protected(account_id):
            return
        if kind in (PositionEvent, OrderEvent) and not (
            isinstance(event.contract_id, str) and event.contract_id
        ):
            log.warning("%s without a contract id dropped: %r", kind.__name__, event)
            return
        now = self.clock.now()
        self.resets.ensure(account_id, now)
        upkeep = update_state(self, event, now)
        if upkeep is None:
            return
        rules = self.rulebook.kinds(account_id).get(kind)
        if rules or upkeep:
            self._judge(account_id, event, rules or (), now, started, upkeep)

    def tick(self) -> None:
        """About once a second: timers, lock expiry, daily resets, time-driven rules, batches."""
        started = time.perf_counter()
        self.inbox.drain()
        now = self.clock.now()
        try:
            if not self.time_known():
                # Until the gateway has said what time it is, "now" is this computer's clock,
                # which may have been moved: no lock ends, no trading day starts and no rule acts
                # on the time of day (the gateway is unreachable meanwhile: nothing to act on).
                if self.store is not None:
                    self.store.batched.maybe_flush()
                return
            self.timers.fire_due(now)
            self.locks.expire_due(now)
            for account_id in self.resets.due(now):
                self.run_reset(account_id, now)
            tick = ClockTick(now)
            for account_id, account in list(self.mirror.accounts.items()):
                if account.unbooked or (not account.positions
                                        and not account.balance_confirmed()):
                    self._settle_closes(account_id, now)
                if account.positions and self.is_protected(account_id):
                    sweep = (
                        []
                        if self.resend.flatten_in_flight(account_id)  # give its fills time to show
                        else sweep_hard_lock(account, self.lockouts, now)
                    )
                    try:
                        rules = self.rulebook.kinds(account_id).get(ClockTick, [])
                        self._judge(account_id, tick, rules, now, started, sweep)
                    except Exception:  # one account's failure must not skip the next one
                        log.exception("clock tick could not be judged for %s", account_id)
            self.resend.prune()
            if self.store is not None:
                self.store.batched.maybe_flush()
        except Exception:
            log.exception("clock tick failed")

    def _settle_closes(self, account_id: int, now: datetime) -> None:
        """A close the balance has not shown within its window now counts as it is, and a
        balance not read since the last fill may read differently: a flat account (no quote,
        no clock rule to judge it) is judged by the loss-limit guard here."""
        account = self.mirror.account(account_id)
        account.unbooked.prune(now)
        if not account.positions and (account.unbooked.waiting()
                                      or not account.balance_confirmed()):
            # Its readings (pushes, and the last read with the closes since) may change as
            # the window passes: the guard looks again.
            self.recheck(account_id, only=(MAX_LOSS_GUARD,))

    def time_known(self) -> bool:
        """False while the clock is not yet anchored to the gateway's time (a
        :class:`core.domain.clock.GatewayClock` before any answer); other clocks always know."""
        return bool(getattr(self.clock, "anchored", True))

    def recheck(
        self, account_id: int, *, only: Iterable[str] | None = None,
        tightened: frozenset[str] = frozenset(),
    ) -> None:
        """Judge the account as it stands now: after a reconnect's catch-up (re-delivered
        trades are de-duplicated and silent, so a daily limit whose lock never reached the file
        is judged here), after a restart, after a config change (``tightened``). ``only``
        limits it to those rule tables."""
        if not self.is_protected(account_id):
            return
        started, now = time.perf_counter(), self.clock.now()
        wanted = None if only is None else set(only)
        rules = [
            r for r in self.rulebook.kinds(account_id).get(Recheck, ())
            if wanted is None or r.key in wanted
        ]
        try:
            self._judge(account_id, Recheck(now, tightened), rules, now, started)
        except Exception:
            log.exception("account %s could not be judged again", account_id)

    # --- rules ---------------------------------------------------------------------------------

    def context(self, account_id: int, now: datetime) -> RuleContext:
        ctx = self._contexts.get(account_id)
        if ctx is None:
            ctx = RuleContext(
                self.mirror.account(account_id),
                now,
                self.calendar,
                self.quotes,
                self.contracts,
                self.pnl,
                self.counter,
                self.lockouts,
                self.holidays,
                self.plans,
                self.open_pnl_book,
            )
            ctx.ask_reread = partial(self._ask_reread, account_id)
            mirror = self.mirror
            ctx.rest_answered_at = lambda: mirror.rest_answered_at
            self._contexts[account_id] = ctx
        else:
            ctx.now = now
        return ctx

    def _ask_reread(self, account_id: int, why: str) -> None:
        self.bus.publish(RereadNeeded(account_id, why))

    def _judge(
        self, account_id: int, event: Any, rules: Iterable[Rule[Any]], now: datetime,
        started: float, upkeep: list[EnforcementCommand] | None = None,
    ) -> None:
        """Every rule runs; every lock any breach asks for is set; the commands of all of them
        (and the gate's) are merged so each contract is closed and each order cancelled once."""
        ctx = self.context(account_id, now)
        commands = upkeep or []
        for rule in rules:
            try:
                breaches = rule.evaluate(ctx, event)
            except Exception as exc:
                log.exception("%s failed to judge an update (a bug; the other rules still "
                              "ran): %r", rule_label(rule.rule_id), event)
                self.bus.publish(RuleError(rule.rule_id, account_id, repr(exc)))
                continue
            for breach in breaches:
                if breach.warning is not None:
                    day_turn.warn_once(self, breach, now)
                    continue
                changed = self.locks.apply(breach, now)
                if changed is None:
                    continue  # its lock is already in force: the gate keeps it that way
                # A breach seen again on every quote until its close lands is one breach: tell
                # the trader once, not once per quote.
                fresh = [c for c in breach.commands if not self.resend.recently_sent(c)]
                if not rule.automation and (fresh or changed):
                    self.bus.publish(BreachDetected(account_id, breach.rule_id, breach.reason, now))
                commands.extend(fresh)
        if commands:
            self.dispatch.issue_all(merge_commands(commands), started)

    # --- P&L and resets (core.engine.day_turn) ---------------------------------------------

    def pnl_durable(self, update: PnlUpdate) -> None:
        """Realized P&L reached the state file (the P&L tracker calls this)."""
        day_turn.pnl_durable(self, update)

    def run_reset(self, account_id: int, now: datetime) -> None:
        day_turn.run_reset(self, account_id, now)

    # --- views ---------------------------------------------------------------------------------

    def open_pnl(self, account_id: int) -> float | None:
        """Sum of the account's open P&L; None if any position cannot be priced yet."""
        return self.context(account_id, self.clock.now()).account_open_pnl()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for pending writes and deliver what they unblocked (tests, shutdown)."""
        if self.store is not None:
            self.store.flush(timeout)
        self.inbox.drain()
