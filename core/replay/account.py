"""One account in the replay: the trader's real position, the replayed one, and the ledger
between them; it turns each fill and each simulated close into the engine's events.

Invariant, per contract: the replayed position is on the trader's side and never larger than
it (rules only ever close or prevent), and the difference is exactly what the ledger holds.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.domain.events import (
    MarketTradeEvent,
    OrderEvent,
    OrderSide,
    OrderStatus,
    PositionEvent,
    PositionType,
    TradeEvent,
)
from core.engine.engine import Engine
from core.modules.contracts import Contract
from core.replay.book import ZERO, Book, Spec, dec, realized
from core.replay.ledger import Ledger, Lot
from core.replay.outcome import PreventedEntry, RealizedStep, RunOutcome, SimulatedClose
from core.replay.prices import PriceTape

log = logging.getLogger(__name__)


class ReplayedAccount:
    def __init__(
        self,
        engine: Engine,
        account_id: int,
        tape: PriceTape,
        contracts: Mapping[str, Contract],
        slippage_ticks: int,
        outcome: RunOutcome,
        settle: Callable[[], None],
        on_hold: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.account_id = account_id
        self.tape = tape
        self.specs = {cid: Spec.of(c) for cid, c in contracts.items()}
        self.slippage_ticks = slippage_ticks
        self.outcome = outcome
        self._settle = settle
        self._on_hold = on_hold
        self.reality: dict[str, int] = {}
        self.books: dict[str, Book] = {}
        self.ledger = Ledger()
        # Contracts whose replay has differed from the trader since the trader was last flat:
        # their profit is the model's, not the gateway's (the average prices differ).
        self.diverged: set[str] = set()
        self.cost_each: dict[str, Decimal] = {}  # the trader's costs per contract, per fill
        self.last_price: dict[str, tuple[datetime, Decimal]] = {}
        self.cancelled: dict[int, str] = {}  # order id → the rule that cancelled it
        self._trade_ids = itertools.count(1)
        self._position_ids: dict[str, int] = {}

    # --- the trader's history ------------------------------------------------------------------

    def fill(self, trade: TradeEvent) -> None:
        now, contract, size = trade.created_at, trade.contract_id, trade.size
        price = dec(trade.price)
        side = 1 if trade.side == OrderSide.BUY else -1
        cost_each = trade.costs / size
        self.cost_each[contract] = cost_each
        self.last_price[contract] = (now, price)
        self._feed(MarketTradeEvent(contract, trade.price, size, now))  # a real print
        held = self.reality.get(contract, 0)
        if held == 0 and trade.pnl is not None:
            self._carried_in(trade, side, price)
            held = self.reality[contract]
        exiting = min(size, abs(held)) if held and (held > 0) != (side > 0) else 0
        if exiting:
            self._exit(trade, exiting, price, cost_each)
        if size > exiting:
            self._entry(trade, size - exiting, side, price, cost_each)
        self.reality[contract] = held + side * size
        if self.reality[contract] == 0:
            self.diverged.discard(contract)  # both flat: the replay's average is the trader's again

    def order_placed(self, order: OrderEvent) -> None:
        if order.order_id not in self.cancelled:
            self._feed(replace(order, status=OrderStatus.OPEN, fill_volume=0, filled_price=None,
                               updated_at=order.created_at))

    def order_ended(self, order: OrderEvent) -> None:
        if order.order_id not in self.cancelled:
            self._feed(order)

    def quote(self, contract_id: str, at: datetime, price: float) -> None:
        self.last_price[contract_id] = (at, dec(price))
        self._feed(MarketTradeEvent(contract_id, price, 1, at))

    # --- what the rules ask for ----------------------------------------------------------------

    def close(self, contract_id: str, size: int | None, rule_id: str, reason: str) -> None:
        """Close ``size`` contracts (None: all) of the replayed position at the next bar's open
        plus slippage against the trader; the trader keeps them, so they go to the ledger."""
        book = self.books.get(contract_id)
        if book is None or book.size == 0 or (size is not None and size <= 0):
            return
        now = self.engine.clock.now()
        size = abs(book.size) if size is None else min(size, abs(book.size))
        direction = book.direction
        price, priced_by = self._close_price(contract_id, now, direction)
        spec = self.specs.get(contract_id)
        if price is None or spec is None:
            self.outcome.unpriced.append((now, contract_id))
            gross = ZERO
        else:
            gross = realized(spec, book.average, price, direction, size)
        fill_price = price if price is not None else book.average
        cost_each = self.cost_each.get(contract_id, ZERO)
        book.reduce(size)
        self.ledger.add(Lot(contract_id, direction, size, "closed", rule_id, fill_price, cost_each, now))
        self.diverged.add(contract_id)
        self.outcome.closes.append(
            SimulatedClose(now, contract_id, size, price, rule_id, reason, priced_by)
        )
        self._position(contract_id, now)
        closing_side = OrderSide.SELL if direction > 0 else OrderSide.BUY
        self._trade(contract_id, now, fill_price, closing_side, size, cost_each * size, gross,
                    None, rule_id)

    def cancel(self, order_id: int, rule_id: str) -> None:
        order = self.engine.mirror.account(self.account_id).orders.get(order_id)
        if order is None:
            return
        self.cancelled[order_id] = rule_id
        self._feed(replace(order, status=OrderStatus.CANCELLED, updated_at=self.engine.clock.now()))

    def held_contracts(self) -> list[str]:
        return [c for c, book in self.books.items() if book.size]

    def finish(self, end: datetime) -> None:
        """Contracts the trader never exited in the data: valued at the last known price."""
        for contract in self.ledger.contracts():
            last = self._last_price(contract, end)
            spec = self.specs.get(contract) if last is not None else None
            self.outcome.attributions += self.ledger.take(
                contract, self.ledger.held(contract), last or ZERO, ZERO, spec, end, open_at_end=True
            )

    # --- internals -----------------------------------------------------------------------------

    def _carried_in(self, trade: TradeEvent, side: int, price: Decimal) -> None:
        """An exit with nothing to exit: the position was opened before the range. Its entry is
        read back from the gateway's profit on this fill."""
        contract, size = trade.contract_id, trade.size
        spec = self.specs.get(contract)
        average = price
        if spec is not None and trade.pnl is not None:
            average = price + side * trade.pnl * spec.tick_size / spec.tick_value / size
        else:
            self.outcome.unpriced.append((trade.created_at, contract))
        self.reality[contract] = -side * size
        self.books.setdefault(contract, Book()).add(-side * size, average, trade.created_at)
        self.outcome.carried_in.append((trade.created_at, contract, size))
        self._position(contract, trade.created_at)

    def _exit(self, trade: TradeEvent, exiting: int, price: Decimal, cost_each: Decimal) -> None:
        contract, now = trade.contract_id, trade.created_at
        spec = self.specs.get(contract)
        settled = min(exiting, self.ledger.held(contract))
        if settled:
            # The trader's exit takes what the rules removed first: left out of the replay.
            self.outcome.attributions += self.ledger.take(contract, settled, price, cost_each, spec, now)
            self.outcome.removed_exits += settled
        size = exiting - settled
        if not size:
            return
        book = self.books[contract]
        direction = book.direction
        model = realized(spec, book.average, price, direction, size) if spec else None
        if contract not in self.diverged and trade.pnl is not None:
            gross = trade.pnl  # the replay holds what the trader held: the gateway's own number
            if model is not None:
                check = self.outcome.model
                check.compared += 1
                if model != gross:
                    check.differed += 1
                    check.difference += model - gross
        elif model is not None:
            gross = model
        else:
            self.outcome.unpriced.append((now, contract))
            gross = ZERO
        book.reduce(size)
        self._position(contract, now)
        self._trade(contract, now, price, trade.side, size, cost_each * size, gross, trade.order_id)

    def _entry(self, trade: TradeEvent, size: int, side: int, price: Decimal,
               cost_each: Decimal) -> None:
        contract, now = trade.contract_id, trade.created_at
        blocked, rule_id = self._blocked(contract, size, side, trade.order_id, now)
        if blocked:
            self.ledger.add(Lot(contract, side, blocked, "prevented", rule_id, price, cost_each, now))
            self.diverged.add(contract)
            self.outcome.prevented.append(PreventedEntry(now, contract, blocked, price, rule_id))
        size -= blocked
        if size:
            book = self.books.setdefault(contract, Book())
            book.add(side * size, price, now)
            self._position(contract, now)
            self._trade(contract, now, price, trade.side, size, cost_each * size, None, trade.order_id)

    def _blocked(self, contract: str, size: int, side: int, order_id: int | None,
                 now: datetime) -> tuple[int, str]:
        """How much of an entry a lock in force would have blocked, and which rule's lock."""
        if order_id is not None and order_id in self.cancelled:
            return size, self.cancelled[order_id]  # its order was cancelled before it filled
        lockouts, acct = self.engine.lockouts, self.account_id
        hard = lockouts.hard_lock(acct, now)
        if hard is not None:
            return size, hard.rule_id
        symbol_locks = lockouts.symbol_locks(acct)
        if symbol_locks:
            symbol = self.engine.contracts.matches(contract, {sl.symbol for sl in symbol_locks})
            if symbol is not None:
                return size, next(sl.rule_id for sl in symbol_locks if sl.symbol == symbol)
        cool = lockouts.cooldown(acct, now)
        if cool is None:
            return 0, ""
        # A cooldown leaves exposure held at its start alone: growth back up to it is allowed.
        base = cool.baseline.get(contract, 0)
        current = self.books[contract].size if contract in self.books else 0
        room = 0
        if base and (base > 0) == (side > 0) and (current == 0 or (current > 0) == (side > 0)):
            room = max(0, abs(base) - abs(current))
        return size - min(size, room), cool.rule_id

    def _close_price(self, contract: str, now: datetime, direction: int) -> tuple[Decimal | None, str]:
        spec = self.specs.get(contract)
        slip = (spec.tick_size if spec else ZERO) * self.slippage_ticks * direction
        if self.tape.has_bars:
            nxt = self.tape.next_open(contract, now)
            if nxt is not None:
                return dec(nxt[1]) - slip, "next bar open"
        last = self._last_price(contract, now)
        if last is not None:
            return last - slip, "last price"
        return None, "no price"

    def _last_price(self, contract: str, at: datetime) -> Decimal | None:
        known = self.last_price.get(contract)
        bar = self.tape.last_close(contract, at)
        if bar is not None and (known is None or bar[0] > known[0]):
            return dec(bar[1])
        return known[1] if known is not None else None

    def _position(self, contract: str, now: datetime) -> None:
        book = self.books[contract]
        size = book.size
        kind = PositionType.LONG if size > 0 else PositionType.SHORT if size < 0 else PositionType.UNDEFINED
        if contract not in self._position_ids:
            self._position_ids[contract] = len(self._position_ids) + 1
        self._feed(PositionEvent(
            position_id=self._position_ids[contract],
            account_id=self.account_id,
            contract_id=contract,
            type=int(kind),
            size=abs(size),
            average_price=float(book.average) if size else None,
            created_at=book.opened_at,
        ))
        if size:
            self._on_hold(contract)

    def _trade(self, contract: str, now: datetime, price: Decimal, side: int, size: int,
               costs: Decimal, gross: Decimal | None, order_id: int | None,
               by_rule: str | None = None) -> None:
        self.outcome.steps.append(RealizedStep(now, contract, (gross or ZERO) - costs, by_rule))
        self._feed(TradeEvent(
            trade_id=next(self._trade_ids),
            account_id=self.account_id,
            contract_id=contract,
            created_at=now,
            price=float(price),
            side=int(side),
            size=size,
            fees=costs,
            pnl=gross,
            order_id=order_id,
        ))

    def _feed(self, event: Any) -> None:
        self.engine.handle(event)
        self._settle()
