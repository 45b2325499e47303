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
from datetime import date, datetime, timedelta
from typing import Any

from core.config.models import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.domain.commands import CancelOrder, CloseContract, EnforcementPort
from core.domain.events import (
    AccountEvent,
    ClockTick,
    DepthEvent,
    MarketTradeEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from core.domain.trading_day import TradingCalendar
from core.engine.dispatch import CommandDispatcher
from core.engine.gate import LockoutGate
from core.engine.locks import LockKeeper
from core.engine.loss_warnings import LossWarnings
from core.engine.notices import (
    BreachDetected,
    DailyReset,
    LossWarning,
    RealizedPnlChanged,
    RuleError,
)
from core.engine.resend_guard import ResendGuard
from core.engine.rules import Breach, Rule, RuleContext, build_rules
from core.engine.rules.r010_auth_loss_guard import AuthLossGuardRule
from core.modules.contracts import ContractCache
from core.modules.enforcement_log import EnforcementLog
from core.modules.lockouts import LockoutManager
from core.modules.mirror import AccountMirror, PositionsMirror
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
KEEP_PNL_DAYS = 3
DAILY_LIMIT_RULES = ("RULE-003", "RULE-013")


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
        """Swap the rule set. (Whether a loosening may apply now is the caller's decision.)"""
        self.config = config
        general = config.general
        if (general.reset_time, general.timezone) != (self.calendar.reset_time, self.calendar.zone.key):
            self.calendar.reconfigure(general.reset_time, general.timezone)
        self.protected: set[int] | None = set(general.accounts) or None
        self.rules: list[Rule[Any]] = build_rules(config.rules)
        self._by_kind: dict[type, list[Rule[Any]]] = {}
        for rule in self.rules:
            for kind in rule.watches:
                self._by_kind.setdefault(kind, []).append(rule)
        self._release_unblocked_symbols(self.mirror.accounts)

    def _release_unblocked_symbols(self, account_ids: Iterable[int]) -> None:
        cfg = self.config.rules.symbol_blocks
        self.locks.release_unblocked_symbols(account_ids, set(cfg.symbols) if cfg.enabled else set())

    def is_protected(self, account_id: int) -> bool:
        return self.protected is None or account_id in self.protected

    # --- startup -----------------------------------------------------------------------------------

    def restore(self) -> None:
        """Load state in SPEC order: lockouts, daily P&L, contracts, resets, trade counts, mirror."""
        if self.store is None:
            return
        now = self.clock.now()
        locks, symbol_locks = self.store.load_locks()
        self.lockouts.restore(locks, symbol_locks)
        for lock in locks:
            self.locks.arm_expiry(lock, now)
        today = self.calendar.trading_day(now)
        trades = self.store.load_trades(today - timedelta(days=KEEP_PNL_DAYS))
        self.pnl.restore(trades)
        for account_id in {t.account_id for t in trades}:
            # Warnings already given before the restart are not given again.
            self.warnings.passed(
                self.config.rules.daily_realized_loss, account_id, today, self.pnl.realized(account_id, today)
            )
        self.contracts.restore(self.store.load_contracts())
        self.resets.restore(self.store.load_resets())
        for account_id in self.resets.due(now):
            log.info("account %s missed its daily reset while stopped: running it now", account_id)
            self._run_reset(account_id, now)
        self.counter.restore(trades, now)
        self.mirror.restore(self.store.load_positions(), self.store.load_orders())
        # The symbol may have been unblocked while the app was stopped (even with no position
        # left, so the account need not be in the mirror).
        self._release_unblocked_symbols({sl.account_id for sl in symbol_locks})

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
            for account_id in tuple(holders):
                if self.protected is None or account_id in self.protected:
                    try:
                        self._evaluate(account_id, event, kind, now, started)
                    except Exception:  # one account's failure must not skip the next one
                        log.exception("quote %r could not be judged for %s", event, account_id)
            return
        if kind is DepthEvent:
            return
        account_id = event.account_id
        if not self.is_protected(account_id):
            return
        now = self.clock.now()
        self.resets.ensure(account_id, now)
        account = self.mirror.account(account_id)
        if kind is PositionEvent:
            change = self.mirror.apply_position(event, now)
            if change.after != change.before:
                # The position a past close acted on is gone: closed and reopened at the same
                # size within RESEND_AFTER is new exposure, and must be closed again.
                self.resend.position_changed(account_id, change.contract_id)
            if abs(change.after) < abs(change.before) or (change.after > 0) != (change.before > 0):
                self.lockouts.shrink_baseline(account_id, change.contract_id, change.after)
            if change.before != 0 and change.after == 0:
                self._cancel_orphan_stops(account, change.contract_id, change.before > 0, started)
            if self.dispatch.issue_all(self.gate.on_position(account, change, now), started):
                return
        elif kind is OrderEvent:
            change_o = self.mirror.apply_order(event)
            if self.dispatch.issue_all(self.gate.on_order(account, change_o, now), started):
                return
        elif kind is TradeEvent:
            update = self.pnl.apply(event, self._pnl_durable)
            if update is None:
                return  # already counted: nothing new to judge
            self.counter.record(event)
        elif kind is AccountEvent:
            self.mirror.apply_account(event)
            if event.can_trade is True and self.lockouts.get(account_id, AuthLossGuardRule.rule_id):
                self.locks.clear(account_id, AuthLossGuardRule.rule_id, "can trade again")
        else:
            log.warning("unknown event type %s dropped", kind.__name__)
            return
        self._evaluate(account_id, event, kind, now, started)

    def tick(self) -> None:
        """About once a second: timers, lock expiry, daily resets, time-driven rules, batches."""
        started = time.perf_counter()
        self.inbox.drain()
        now = self.clock.now()
        try:
            self.timers.fire_due(now)
            self.locks.expire_due(now)
            for account_id in self.resets.due(now):
                self._run_reset(account_id, now)
            tick = ClockTick(now)
            for account_id, account in list(self.mirror.accounts.items()):
                if account.positions and self.is_protected(account_id):
                    self._sweep_hard_lock(account_id, now, started)
                    try:
                        self._evaluate(account_id, tick, ClockTick, now, started)
                    except Exception:  # one account's failure must not skip the next one
                        log.exception("clock tick could not be judged for %s", account_id)
            self.resend.prune()
            if self.store is not None:
                self.store.batched.maybe_flush()
        except Exception:
            log.exception("clock tick failed")

    def _cancel_orphan_stops(
        self, account: AccountMirror, contract_id: str, was_long: bool, started: float
    ) -> None:
        """A stop that protected a position now flat would open one the other way if it
        triggered (trade management's own stops are not OCO-linked): cancel it."""
        closing_side = 1 if was_long else 0
        for order in account.orders_for(contract_id):
            if order.is_stop and order.side == closing_side and order.is_working:
                self.dispatch.issue(
                    CancelOrder(
                        account_id=account.account_id,
                        rule_id="CLEANUP",
                        reason=f"stop left behind after the {self.contracts.symbol(contract_id)} "
                        "position closed",
                        order_id=order.order_id,
                        contract_id=contract_id,
                    ),
                    started,
                )

    def recheck_daily_limits(self, account_id: int) -> None:
        """After a catch-up (start-up, reconnect): the day may already be past a daily limit
        whose lock never reached the file (a crash between the trade's commit and the
        lock's); re-judge it once, since re-delivered trades are de-duplicated and silent."""
        if not self.is_protected(account_id):
            return
        started, now = time.perf_counter(), self.clock.now()
        ctx = self.context(account_id, now)
        for rule in self._by_kind.get(TradeEvent, ()):
            if rule.rule_id in DAILY_LIMIT_RULES:
                breaches = rule.evaluate(ctx, None)
                if breaches:
                    self._enforce(rule, breaches, now, started)
                    return

    def _sweep_hard_lock(self, account_id: int, now: datetime, started: float) -> None:
        """A hard lock means flat. Whatever the mirror still shows open is closed again (at
        most every RESEND_AFTER seconds per contract), so a close lost in a race with the
        trader, or absorbed by one that was just finishing, cannot leave exposure behind."""
        hard = self.lockouts.hard_lock(account_id, now)
        if hard is None or self.resend.flatten_in_flight(account_id):
            return  # a flatten just went out: give its fills time to show
        for contract_id in list(self.mirror.account(account_id).positions):
            self.dispatch.issue(
                CloseContract(
                    account_id=account_id,
                    rule_id=hard.rule_id,
                    reason=f"still open during a lock: {hard.reason}",
                    contract_id=contract_id,
                ),
                started,
            )

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
            )
            self._contexts[account_id] = ctx
        else:
            ctx.now = now
        return ctx

    def _evaluate(self, account_id: int, event: Any, kind: type, now: datetime, started: float) -> None:
        rules = self._by_kind.get(kind)
        if not rules:
            return
        ctx = self.context(account_id, now)
        held_back = False
        for rule in rules:
            if held_back and rule.automation:
                continue  # never move stops on a position another rule is already closing
            try:
                breaches = rule.evaluate(ctx, event)
            except Exception as exc:
                log.exception("%s failed on %r", rule.rule_id, event)
                self.bus.publish(RuleError(rule.rule_id, account_id, repr(exc)))
                continue
            if breaches:
                if self._enforce(rule, breaches, now, started):
                    return  # first breach wins
                # Already enforced and in flight (or its lock already set): it must not hide a
                # later rule's breach, such as the end-of-window lock behind a stop-loss close.
                held_back = True

    def _enforce(self, rule: Rule[Any], breaches: list[Breach], now: datetime, started: float) -> bool:
        """Apply a rule's breaches; True if anything new happened (a command or a lock)."""
        acted = False
        for breach in breaches:
            changed = self.locks.apply(breach, now)
            if changed is None:
                continue
            # A breach seen again on every quote until its close lands is one breach: tell the
            # trader once, not once per quote.
            fresh = [c for c in breach.commands if not self.resend.recently_sent(c)]
            if not rule.automation and (fresh or changed):
                self.bus.publish(BreachDetected(breach.account_id, breach.rule_id, breach.reason, now))
            issued = self.dispatch.issue_all(fresh, started)
            acted = acted or issued or changed
        return acted

    # --- locks, P&L, resets --------------------------------------------------------------------

    def _pnl_durable(self, update: PnlUpdate) -> None:
        self.bus.publish(
            RealizedPnlChanged(update.account_id, update.trading_day, update.net, update.trade_count)
        )
        cfg = self.config.rules.daily_realized_loss
        if not cfg.enabled or update.trading_day != self.calendar.trading_day(self.clock.now()):
            return
        day, net = update.trading_day, update.net
        for fraction in self.warnings.to_announce(cfg, update.account_id, day, net):
            self.bus.publish(LossWarning(update.account_id, day, fraction, net, cfg.limit))

    def _run_reset(self, account_id: int, now: datetime) -> None:
        day = self.resets.mark_reset(account_id, now)
        self.counter.reset_session(account_id, now)
        self.pnl.prune(day - timedelta(days=KEEP_PNL_DAYS))
        self.warnings.forget_before(day)
        self.bus.publish(DailyReset(account_id, day))

    # --- views ---------------------------------------------------------------------------------

    def open_pnl(self, account_id: int) -> float | None:
        """Sum of the account's open P&L; None if any position cannot be priced yet."""
        return self.context(account_id, self.clock.now()).account_open_pnl()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for pending writes and deliver what they unblocked (tests, shutdown)."""
        if self.store is not None:
            self.store.flush(timeout)
        self.inbox.drain()
