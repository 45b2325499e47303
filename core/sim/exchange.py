"""A deterministic, synchronous exchange model behind the simulated gateway.

No asyncio and no I/O: time comes from an injected callable, every state change is reported to
listeners as the exact user-hub payload (:class:`UserEvent`). Not thread-safe: drive it from one
thread (the server's event loop). How a new order and its bracket legs look is
:mod:`core.sim.new_orders`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from core.sim.ledger import Ledger
from core.sim.matching import Quote, execution_price, ratchet
from core.sim.models import (
    ACCOUNT_EVENT,
    ACTION_UPDATE,
    BUY,
    CANCELLED,
    MARKET,
    ORDER_EVENT,
    PENDING,
    REJECTED,
    SELL,
    SUSPENDED,
    TERMINAL,
    Bracket,
    SimAccount,
    SimContract,
    SimOrder,
    SimPosition,
    SimResult,
    SimTrade,
    UserEvent,
    load_contracts,
    round_price,
)
from core.sim.new_orders import arm_leg, bracket_legs, new_order
from core.sim.validation import (
    bracket_problem,
    modify_problem,
    tags_for,
    trail_ticks,
    trailing_stop_price,
    validate_order,
)

log = logging.getLogger(__name__)

Now = Callable[[], datetime]
Listener = Callable[[UserEvent], object]

ORDER_ID_START = 3_430_000_000
TRADE_ID_START = 3_410_000_000
POSITION_ID_START = 830_000_000
MAX_CASCADE = 1000

# PlaceOrderErrorCode / Cancel / Modify / Close codes used below (api reference §2.3). Live
# answers these with ``errorMessage: null``; only a rejected place or modify says why.
PLACE_ACCOUNT_NOT_FOUND, PLACE_REJECTED, PLACE_VIOLATION = 1, 2, 4
PLACE_CONTRACT_NOT_FOUND, PLACE_CONTRACT_INACTIVE = 8, 9
CANCEL_NOT_FOUND, MODIFY_NOT_FOUND, MODIFY_REJECTED = 2, 2, 3
CLOSE_POSITION_NOT_FOUND, CLOSE_CONTRACT_NOT_FOUND, PARTIAL_INVALID_SIZE = 2, 3, 5


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimExchange:
    def __init__(
        self,
        contracts: Iterable[Mapping[str, Any]] | None = None,
        *,
        now: Now | None = None,
        accounts: Iterable[SimAccount] = (),
    ) -> None:
        self.now: Now = now or _utc_now
        self.contracts: dict[str, SimContract] = {c.id: c for c in load_contracts(contracts)}
        self.accounts: dict[int, SimAccount] = {a.id: a for a in accounts}
        self._orders: dict[int, SimOrder] = {}
        self._tags: dict[int, set[str]] = {}
        self._quotes: dict[str, Quote] = {}
        self._live: dict[str, list[SimOrder]] = {}  # non-terminal orders per contract
        self.reject_next = 0  # test hook: accept the next N places, then reject them (status 5)
        # Why a new order on this account is refused at this time (the firm's desk), or None.
        self.entry_gate: Callable[[SimAccount], str | None] | None = None
        self._listeners: list[Listener] = []
        self._order_ids = itertools.count(ORDER_ID_START + 1)
        self._ledger = Ledger(
            self.accounts, self._emit, itertools.count(TRADE_ID_START + 1),
            itertools.count(POSITION_ID_START + 1),
        )

    # ------------------------------------------------------------------ listeners and accounts
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: UserEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken consumer must not corrupt exchange state
                log.exception("sim exchange listener failed on %s", event.target)

    def add_account(
        self, account_id: int, name: str, balance: float, *, can_trade: bool = True,
        is_visible: bool = True, simulated: bool = True,
    ) -> SimAccount:
        account = SimAccount(account_id, name, balance, can_trade, is_visible, simulated)
        self.accounts[account_id] = account
        self._emit(UserEvent(ACCOUNT_EVENT, ACTION_UPDATE, account.payload()))
        return account

    def set_can_trade(self, account_id: int, can_trade: bool) -> None:
        account = self.accounts[account_id]
        account.can_trade = can_trade
        self._emit(UserEvent(ACCOUNT_EVENT, ACTION_UPDATE, account.payload()))

    def set_balance(self, account_id: int, balance: float) -> None:
        account = self.accounts[account_id]
        account.balance = balance
        self._emit(UserEvent(ACCOUNT_EVENT, ACTION_UPDATE, account.payload()))

    # ------------------------------------------------------------------ prices
    def quote(self, contract_id: str) -> Quote:
        quote = self._quotes.get(contract_id)
        if quote is None:
            start = self.contracts[contract_id].start_price
            quote = self._quotes[contract_id] = Quote(start, start, start)
        return quote

    def set_price(
        self, contract_id: str, last: float, *, bid: float | None = None, ask: float | None = None
    ) -> None:
        """A trade printed at ``last``: resting orders on the contract may trigger."""
        self._quotes[contract_id] = Quote(
            last, last if bid is None else bid, last if ask is None else ask
        )
        self._match(contract_id)

    def set_book(self, contract_id: str, bid: float, ask: float) -> None:
        """Only the book moved (a partial quote): limits may fill, stops wait for a trade."""
        self._quotes[contract_id] = Quote(self.quote(contract_id).last, bid, ask)
        self._match(contract_id)

    # ------------------------------------------------------------------ queries
    def order(self, order_id: int) -> SimOrder | None:
        return self._orders.get(order_id)

    def orders(self, account_id: int) -> list[SimOrder]:
        return [o for o in self._orders.values() if o.account_id == account_id]

    def open_orders(self, account_id: int) -> list[SimOrder]:
        return [o for o in self.orders(account_id) if o.working]

    def position(self, account_id: int, contract_id: str) -> SimPosition | None:
        return self._ledger.positions.get((account_id, contract_id))

    def positions(self, account_id: int) -> list[SimPosition]:
        return [p for (a, _), p in self._ledger.positions.items() if a == account_id]

    def trades(self, account_id: int) -> list[SimTrade]:
        return [t for t in self._ledger.trades if t.account_id == account_id]

    def search_contracts(self, text: str, limit: int = 20) -> list[SimContract]:
        needle = text.strip().lower()
        found = [
            c for c in self.contracts.values()
            if needle in c.name.lower() or needle in c.id.lower() or needle in c.root.lower()
            or needle in c.description.lower()
        ]
        return found[:limit]

    # ------------------------------------------------------------------ commands
    def place_order(
        self, account_id: int, contract_id: str, type: int, side: int, size: int, *,
        limit_price: float | None = None, stop_price: float | None = None,
        trail_price: float | None = None, custom_tag: str | None = None,
        stop_loss_bracket: Bracket | None = None, take_profit_bracket: Bracket | None = None,
    ) -> SimResult:
        account = self.accounts.get(account_id)
        if account is None:
            return SimResult.fail(PLACE_ACCOUNT_NOT_FOUND)
        contract = self.contracts.get(contract_id)
        if contract is None:
            return SimResult.fail(PLACE_CONTRACT_NOT_FOUND)
        if not contract.active:
            return SimResult.fail(PLACE_CONTRACT_INACTIVE)
        if not account.can_trade:
            return SimResult.fail(PLACE_VIOLATION)
        closed = self.entry_gate(account) if self.entry_gate is not None else None
        if closed:
            return SimResult.fail(PLACE_REJECTED, closed)
        quote = self.quote(contract_id)
        problem = validate_order(contract, type, side, size, limit_price, stop_price, trail_price, quote)
        brackets = (stop_loss_bracket, take_profit_bracket)
        tags = tags_for(custom_tag, *brackets)
        used = self._tags.setdefault(account_id, set())
        problem = problem or bracket_problem(*brackets)
        if not problem and any(t in used for t in tags):
            problem = f"Custom tag '{custom_tag}' is already in use for this account"
        if problem:
            return SimResult.fail(PLACE_REJECTED, problem)

        order = new_order(
            next(self._order_ids), account_id, contract, type, side, size, self.now(), quote,
            limit_price=limit_price, stop_price=stop_price, trail_price=trail_price,
            custom_tag=custom_tag,
        )
        self._add(order)
        used.update(tags)
        self._emit_order(order)
        if self.reject_next > 0:
            # Live: "accepted" over REST, then status 5 on the stream with no reason given.
            self.reject_next -= 1
            order.status, order.updated = REJECTED, self.now()
            self._emit_order(order)
            return SimResult.ok(order.id)
        self._create_children(order, stop_loss_bracket, take_profit_bracket)
        self._try_fill(order, resting=False)
        self._match(contract_id)
        return SimResult.ok(order.id)

    def cancel_order(self, account_id: int, order_id: int) -> SimResult:
        if account_id not in self.accounts:
            return SimResult.fail(1)
        order = self._orders.get(order_id)
        if order is None or order.account_id != account_id or order.status in TERMINAL:
            return SimResult.fail(CANCEL_NOT_FOUND)
        self._cancel(order)
        return SimResult.ok()

    def modify_order(
        self, account_id: int, order_id: int, *, size: int | None = None,
        limit_price: float | None = None, stop_price: float | None = None,
        trail_price: float | None = None,
    ) -> SimResult:
        if account_id not in self.accounts:
            return SimResult.fail(1)
        order = self._orders.get(order_id)
        if order is None or order.account_id != account_id or order.status in TERMINAL:
            return SimResult.fail(MODIFY_NOT_FOUND)
        problem = modify_problem(order, size, limit_price, stop_price, trail_price,
                                  self.quote(order.contract.id))
        if problem:
            return SimResult.fail(MODIFY_REJECTED, problem)
        if size is not None:
            order.size = size
            for child in self._children(order):
                child.size = size
        if limit_price is not None:
            order.limit_price = limit_price
        if stop_price is not None:
            order.stop_price = stop_price
        if trail_price is not None:
            # A new price level: the distance is measured again from the last trade.
            quote = self.quote(order.contract.id)
            order.trail_ticks = trail_ticks(trail_price, quote, order.contract)
            if not order.triggered:
                order.stop_price = trailing_stop_price(order.side, order.trail_ticks, quote,
                                                       order.contract)
        order.updated = self.now()
        self._emit_order(order)
        self._match(order.contract.id)
        return SimResult.ok()

    def close_position(self, account_id: int, contract_id: str) -> SimResult:
        return self._close(account_id, contract_id, None)

    def partial_close_position(self, account_id: int, contract_id: str, size: int) -> SimResult:
        return self._close(account_id, contract_id, size)

    # ------------------------------------------------------------------ internals
    def _close(self, account_id: int, contract_id: str, size: int | None) -> SimResult:
        if account_id not in self.accounts:
            return SimResult.fail(1)
        if contract_id not in self.contracts:
            return SimResult.fail(CLOSE_CONTRACT_NOT_FOUND)
        position = self.position(account_id, contract_id)
        if position is None:
            return SimResult.fail(CLOSE_POSITION_NOT_FOUND)
        if size is not None and not 0 < size <= abs(position.net):
            return SimResult.fail(PARTIAL_INVALID_SIZE)
        quantity = abs(position.net) if size is None else size
        side = SELL if position.net > 0 else BUY
        now = self.now()
        # Closing bypasses canTrade on purpose: a locked account must still be flattenable.
        order = SimOrder(next(self._order_ids), account_id, self.contracts[contract_id], MARKET,
                         side, quantity, now, now, PENDING)
        self._add(order)
        self._emit_order(order)
        self._try_fill(order, resting=False)
        self._match(contract_id)
        return SimResult.ok(order.id)

    def _add(self, order: SimOrder) -> None:
        self._orders[order.id] = order
        self._live.setdefault(order.contract.id, []).append(order)

    def _create_children(self, parent: SimOrder, sl: Bracket | None, tp: Bracket | None) -> None:
        for child in bracket_legs(parent, sl, tp, self._order_ids):
            self._add(child)
            parent.children.append(child.id)
            self._emit_order(child)

    def _children(self, order: SimOrder) -> list[SimOrder]:
        return [self._orders[i] for i in order.children]

    def _siblings(self, order: SimOrder) -> list[SimOrder]:
        parent = self._orders.get(order.parent_id) if order.parent_id is not None else None
        return [] if parent is None else [c for c in self._children(parent) if c.id != order.id]

    def _cancel(self, order: SimOrder) -> None:
        order.status = CANCELLED
        order.updated = self.now()
        self._emit_order(order)
        for child in self._children(order):
            if child.status == SUSPENDED:  # an entry that never filled takes its bracket with it
                self._cancel(child)

    def _activate_children(self, parent: SimOrder, fill: float) -> None:
        for child in self._children(parent):
            if arm_leg(parent, child, fill):
                child.updated = self.now()
                self._emit_order(child)

    def _try_fill(self, order: SimOrder, *, resting: bool) -> bool:
        quote = self.quote(order.contract.id)
        price = execution_price(order, quote, resting=resting)
        if price is None:
            return False
        price = round_price(price, order.contract.tick_size)
        now = self.now()
        self._ledger.execute(order, price, now)
        order.status, order.fill_volume, order.filled_price, order.updated = 2, order.size, price, now
        self._emit_order(order)
        self._ledger.emit_balance(order.account_id)
        self._activate_children(order, price)
        for sibling in self._siblings(order):
            if sibling.working or sibling.status == SUSPENDED:
                self._cancel(sibling)  # OCO: one leg filled, the other goes
        return True

    def _match(self, contract_id: str) -> None:
        quote = self.quote(contract_id)
        for _ in range(MAX_CASCADE):
            filled = False
            # Prune finished orders so a long demo session does not slow every price tick.
            live = self._live[contract_id] = [
                o for o in self._live.get(contract_id, ()) if o.status not in TERMINAL
            ]
            for order in live:
                if not order.working:
                    continue
                if ratchet(order, quote):
                    order.updated = self.now()
                    self._emit_order(order)
                if self._try_fill(order, resting=True):
                    filled = True
                    break  # a fill can cancel or arm other orders: rescan from the start
            if not filled:
                return
        log.warning("sim exchange: fill cascade cut off on %s", contract_id)

    def _emit_order(self, order: SimOrder) -> None:
        self._emit(UserEvent(ORDER_EVENT, ACTION_UPDATE, order.payload(stream=True)))
