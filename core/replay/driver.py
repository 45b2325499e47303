"""Drive the real engine through the past: one candidate rule set over one account's history.

The engine runs on a :class:`ManualClock` moved from event to event. It is ticked as a live
clock would tick it where it matters: at every minute while the replay holds a position
(trading-hours windows are whole minutes), at the next timer (a lock's expiry), at each daily
reset and at each open contract's grace end; never every second, so a month replays in
seconds. Bar quotes reach the engine only while the replay holds that contract (nothing
else reads them); the trader's own fills are real prints and always do.

What the rules ask for is carried out here (see :class:`ReplayPort`): closes, partial closes
and flattens at once, priced at the next bar's open plus slippage; cancels remove the order
from the replay. Stop changes (trade management, stops following a reduced position) are
counted but not simulated.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from core.config.models import AppConfig
from core.config.plans import Plan, PlanError, PlanKind, load_plan_table, resolve_plan
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    PartialClose,
)
from core.domain.events import OrderStatus, OrderType
from core.engine.engine import Engine
from core.engine.notices import BreachDetected, LockSet, RuleError, SymbolLockSet
from core.replay.account import ReplayedAccount
from core.replay.inputs import ReplayInput
from core.replay.outcome import BreachRecord, LockRecord, RunOutcome
from core.replay.prices import PriceTape

MINUTE = timedelta(minutes=1)
# At one instant: the trader's orders appear, then fills happen, then orders end.
PLACED, FILL, ENDED, QUOTE = 1, 2, 3, 0


class ReplayPort:
    """The engine's enforcement port in a replay: commands wait until the event that caused
    them has been handled (the engine is not re-entered), then the driver carries them out."""

    def __init__(self) -> None:
        self.pending: deque[EnforcementCommand] = deque()

    def submit(self, command: EnforcementCommand) -> None:
        self.pending.append(command)


def replay_config(
    config: AppConfig, *, orders_known: bool, account_id: int | None = None
) -> tuple[AppConfig, list[str]]:
    """The candidate as the replay can judge it, and the enabled rules it must leave out.

    Every account is protected (the replayed one may not be listed), with the replayed
    account's own rule tables folded in, so a rule left out stays out. Without order history
    the stop rules would see no stops at all and close every position: they are left out, as is
    the trading-permission rule, which has no history anywhere. The Topstep guard needs the
    account's balance, which past fills do not carry; the plan rules need the account's plan,
    named in the candidate's ``[accounts]`` table (past fills carry no account name), and the
    scaling tier of an Express Funded Account needs the balance too.
    """
    settings = config.account(account_id) if account_id is not None else None
    rules = config.rules_for(account_id) if account_id is not None else config.rules
    left_out = ["auth_loss_guard", "max_loss_guard"]
    if not orders_known:
        left_out += ["no_stop_loss_grace", "trade_management"]
    plan = _named_plan(settings.plan if settings is not None else "auto")
    if plan is None:
        left_out += ["plan_position_size", "firm_close"]
    elif plan.kind is PlanKind.EXPRESS:
        left_out.append("plan_position_size")
    dropped = [key for key in left_out if getattr(rules, key).enabled]
    updates = {key: getattr(rules, key).model_copy(update={"enabled": False}) for key in dropped}
    accounts = dict(config.accounts)
    if settings is not None and account_id is not None:
        accounts[str(account_id)] = settings.model_copy(update={"overrides": {}})
    return config.model_copy(update={
        "general": config.general.model_copy(update={"accounts": []}),
        "rules": rules.model_copy(update=updates),
        "accounts": accounts,
    }), dropped


def _named_plan(choice: str) -> Plan | None:
    """The plan the candidate names for the replayed account; None for "auto" (by name)."""
    try:
        return resolve_plan(choice, "", load_plan_table())
    except PlanError:
        return None


class Replayer:
    def __init__(
        self,
        data: ReplayInput,
        config: AppConfig,
        *,
        name: str = "candidate",
        slippage_ticks: int = 1,
        holidays: frozenset[date] = frozenset(),
    ) -> None:
        self.data = data
        self.config, dropped = replay_config(
            config, orders_known=data.orders is not None, account_id=data.account_id
        )
        self.outcome = RunOutcome(name=name, not_replayed=dropped)
        self.clock = ManualClock(data.start)
        self.port = ReplayPort()
        self.bus = EventBus()
        self.bus.subscribe(self._on_notice)
        self.engine = Engine(self.config, self.clock, self.port, self.bus, None, holidays)
        for contract in data.contracts.values():
            self.engine.contracts.put(contract, persist=False)
        self.tape = PriceTape(data.bars)
        self.account = ReplayedAccount(
            self.engine, data.account_id, self.tape, data.contracts, slippage_ticks,
            self.outcome, self._settle, self._hold,
        )
        self._settling = False
        self._seq = itertools.count()
        self._quotes: list[tuple[datetime, int, int, str, float]] = []  # a heap
        self._streams: dict[str, Iterator[tuple[datetime, float]]] = {}
        self._last_tick: datetime | None = None
        self._next_reset = self.engine.calendar.next_reset(data.start)
        grace = self.config.rules.no_stop_loss_grace
        self._grace = timedelta(seconds=grace.grace_seconds) if grace.enabled else None

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        data, account = self.data, self.account
        self.engine.resets.ensure(data.account_id, data.start)
        timeline = self._timeline()
        i = 0
        while True:
            static = timeline[i] if i < len(timeline) else None
            quote = self._quotes[0] if self._quotes else None
            if quote is not None and (static is None or quote[:2] < static[:2]):
                heapq.heappop(self._quotes)
                at, _, _, contract, price = quote
                if at >= data.end:
                    continue
                self._advance(at)
                if self._holds(contract):
                    account.quote(contract, at, price)
                    self._next_quote(contract)
                else:
                    self._streams.pop(contract, None)
                continue
            if static is None:
                break
            i += 1
            at, kind, _, item = static
            self._advance(at)
            if kind == FILL:
                account.fill(item)
            elif kind == PLACED:
                account.order_placed(item)
            else:
                account.order_ended(item)
        self._advance(data.end)
        account.finish(data.end)
        return self.outcome

    def _timeline(self) -> list[tuple[datetime, int, int, Any]]:
        data = self.data
        items: list[tuple[datetime, int, int, Any]] = [
            (t.created_at, FILL, next(self._seq), t)
            for t in data.trades
            if not t.voided and data.start <= t.created_at < data.end
        ]
        # Live order history stamps a filled bracket stop as updated when it began working, not
        # when it filled: a filled order ends at its last fill as the trades record it.
        filled_at: dict[int, datetime] = {}
        for t in data.trades:
            if t.order_id is not None:
                filled_at[t.order_id] = max(t.created_at, filled_at.get(t.order_id, t.created_at))
        for order in data.orders or ():
            # A market order fills at once: nothing for a rule to see while it works.
            if order.created_at is None or order.type == OrderType.MARKET:
                continue
            if not data.start <= order.created_at < data.end:
                continue
            items.append((order.created_at, PLACED, next(self._seq), order))
            if order.is_working:
                continue
            ended = filled_at.get(order.order_id) if order.status == OrderStatus.FILLED else None
            ended = ended or order.updated_at
            if ended is not None and ended < data.end:
                items.append((max(ended, order.created_at), ENDED, next(self._seq), order))
        items.sort(key=lambda item: item[:3])
        return items

    # --- time --------------------------------------------------------------------------------

    def _advance(self, until: datetime) -> None:
        """Tick at every moment the engine must see between now and ``until`` (inclusive)."""
        while True:
            due = self._next_tick()
            if due is None or due > until:
                break
            self.clock.set(due)
            self._last_tick = due
            self.engine.tick()
            self._settle()
        if until > self.clock.now():
            self.clock.set(until)

    def _next_tick(self) -> datetime | None:
        now = self.clock.now()
        last = self._last_tick
        if self._next_reset <= now:
            self._next_reset = self.engine.calendar.next_reset(now)
        candidates = [self._next_reset]
        expiry = self.engine.timers.next_expiry()
        if expiry is not None:
            candidates.append(max(expiry, now))
        positions = self.engine.mirror.account(self.data.account_id).positions
        if positions:
            candidates.append(_next_minute(now))
            if self._grace is not None:
                ends = [lot.opened_at + self._grace for p in positions.values() for lot in p.lots]
                candidates.extend(end for end in ends if end > now)
        due = [c for c in candidates if last is None or c > last]
        return min(due) if due else None

    # --- quotes --------------------------------------------------------------------------------

    def _holds(self, contract_id: str) -> bool:
        book = self.account.books.get(contract_id)
        return book is not None and book.size != 0

    def _hold(self, contract_id: str) -> None:
        """The replay holds the contract: its bar quotes start reaching the engine."""
        if contract_id not in self._streams and self.tape.has_bars:
            self._streams[contract_id] = self.tape.quotes_after(contract_id, self.clock.now())
            self._next_quote(contract_id)

    def _next_quote(self, contract_id: str) -> None:
        stream = self._streams.get(contract_id)
        nxt = next(stream, None) if stream is not None else None
        if nxt is None:
            self._streams.pop(contract_id, None)
            return
        heapq.heappush(self._quotes, (nxt[0], QUOTE, next(self._seq), contract_id, nxt[1]))

    # --- enforcement ---------------------------------------------------------------------------

    def _settle(self) -> None:
        if self._settling:
            return  # the loop below is already draining: never re-enter the engine from a command
        self._settling = True
        try:
            while self.port.pending:
                self._carry_out(self.port.pending.popleft())
        finally:
            self._settling = False

    def _carry_out(self, command: EnforcementCommand) -> None:
        account = self.account
        if isinstance(command, CloseContract):
            account.close(command.contract_id, None, command.rule_id, command.reason)
        elif isinstance(command, PartialClose):
            account.close(command.contract_id, command.size, command.rule_id, command.reason)
        elif isinstance(command, Flatten):
            for contract in account.held_contracts():
                account.close(contract, None, command.rule_id, command.reason)
            orders = self.engine.mirror.account(self.data.account_id).orders
            for order_id in list(orders):
                account.cancel(order_id, command.rule_id)
        elif isinstance(command, CancelOrder):
            account.cancel(command.order_id, command.rule_id)
        else:
            self.outcome.stop_changes += 1  # stop moves are not simulated (see the report)

    # --- what the engine told --------------------------------------------------------------

    def _on_notice(self, notice: Any) -> None:
        out = self.outcome
        if isinstance(notice, BreachDetected):
            out.breaches.append(BreachRecord(notice.at, notice.rule_id, notice.reason))
        elif isinstance(notice, LockSet):
            lock = notice.lock
            # An extension repeats the lock with its first start: the report keeps the last word.
            out.locks.append(LockRecord(lock.locked_at, lock.rule_id, lock.kind.value, lock.until, lock.reason))
        elif isinstance(notice, SymbolLockSet):
            sl = notice.lock
            out.locks.append(LockRecord(sl.locked_at, sl.rule_id, "symbol", None, sl.reason))
        elif isinstance(notice, RuleError):
            out.rule_errors.append(f"{notice.rule_id}: {notice.error}")


def _next_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + MINUTE


def replay(data: ReplayInput, config: AppConfig, **options: Any) -> RunOutcome:
    return Replayer(data, config, **options).run()


