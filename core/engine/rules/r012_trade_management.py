"""RULE-012 (automation): move the stop to breakeven, then trail it. Only ever tightens.

The working stop itself remembers the best level reached, so no high-water mark is kept:
a stop is moved only when the newly wanted level is at least one tick tighter.

Breakeven is the average price rounded to the tick on the side that cannot lose (up for a
long, down for a short) before the offset is applied: an average of 20000.125 from two fills
puts a long's breakeven stop at 20000.25, never at 20000.00 where it would lose.
"""

from __future__ import annotations

import math

from core.config.rules import TradeManagement
from core.domain.commands import ModifyStop, PlaceStop
from core.domain.events import (
    MarketTradeEvent,
    OrderEvent,
    OrderSide,
    OrderStatus,
    PositionEvent,
    QuoteEvent,
)
from core.engine.rules.base import EPSILON, Breach, Rule, RuleContext
from core.modules.mirror import AccountMirror, Position


def closing_stop(account: AccountMirror, position: Position) -> tuple[OrderEvent | None, bool]:
    """The position's stop to manage and whether a bracket stop is still waiting.

    The stop is the tightest working closing-side stop wherever the market is: a stop the
    market has gone through is being filled, not missing, so no second stop is placed next to
    it. A suspended bracket child (status 8, no price) activates when its parent fills; while
    one waits and no other stop exists, placing a stop would double it.
    """
    closing_side = OrderSide.SELL if position.is_long else OrderSide.BUY
    direction = 1 if position.is_long else -1
    best: OrderEvent | None = None
    best_price = 0.0
    waiting = False
    for order in account.orders.values():
        if order.contract_id != position.contract_id or order.side != closing_side:
            continue
        if not order.is_stop or not order.is_working:
            continue
        if order.status == OrderStatus.SUSPENDED:
            waiting = True
            continue
        if order.stop_price is None:
            return order, waiting  # a trailing stop trails by itself
        if best is None or (order.stop_price - best_price) * direction > 0:
            best, best_price = order, order.stop_price
    return best, waiting


# How far a price may sit from the tick grid and still count as on it: float division of a
# tick price (20000.25 / 0.25, 1.1 / 0.1) is not always exact.
ON_GRID = 1e-6


def breakeven_stop(average_price: float, tick: float, direction: int, offset_ticks: int) -> float:
    """The breakeven stop: the average on the tick that cannot lose, then ``offset_ticks`` of
    profit beyond it (``direction`` is 1 for a long, -1 for a short)."""
    ticks = average_price / tick
    on_tick = round(ticks)
    if abs(ticks - on_tick) > ON_GRID:
        on_tick = math.ceil(ticks) if direction > 0 else math.floor(ticks)
    return round((on_tick + direction * offset_ticks) * tick, 10)


class TradeManagementRule(Rule[TradeManagement]):
    rule_id = "RULE-012"
    key = "trade_management"
    watches = frozenset({QuoteEvent, MarketTradeEvent, PositionEvent})
    automation = True

    def __init__(self, config: TradeManagement) -> None:
        super().__init__(config)
        # Read once: evaluate runs on every quote. Below the first trigger nothing can move.
        triggers = [config.breakeven_trigger_ticks] if config.breakeven else []
        triggers += [config.trail_activation_ticks] if config.trailing else []
        self._first_trigger = min(triggers) - EPSILON if triggers else float("inf")

    def evaluate(
        self, ctx: RuleContext, event: QuoteEvent | MarketTradeEvent | PositionEvent
    ) -> list[Breach]:
        position = ctx.account.positions.get(event.contract_id)
        if position is None:
            return []
        mark = ctx.quotes.marks.get(position.contract_id)
        contract = ctx.contracts.get(position.contract_id)
        if contract is None or mark is None or contract.tick_size <= 0:
            return []
        tick = contract.tick_size
        direction = 1 if position.signed_size > 0 else -1
        profit_ticks = (mark - position.average_price) / tick * direction
        if profit_ticks < self._first_trigger:
            return []
        cfg = self.config
        wanted: float | None = None
        why = ""
        if cfg.breakeven and profit_ticks >= cfg.breakeven_trigger_ticks - EPSILON:
            wanted = breakeven_stop(
                position.average_price, tick, direction, cfg.breakeven_offset_ticks
            )
            why = "breakeven"
        if cfg.trailing and profit_ticks >= cfg.trail_activation_ticks - EPSILON:
            trail = mark - direction * cfg.trail_distance_ticks * tick
            trail = round(round(trail / tick) * tick, 10)  # a mid price may sit between ticks
            if wanted is None or (trail - wanted) * direction > 0:
                wanted, why = trail, "trailing"
        if wanted is None:
            return []
        if (mark - wanted) * direction <= 0:
            return []  # a stop at or through the market would fill at once
        symbol = ctx.symbol(position.contract_id)
        stop, waiting = closing_stop(ctx.account, position)
        if stop is None and waiting:
            return []  # a bracket stop activates with its parent: never place a second one
        if stop is None:
            reason = f"{why} stop for {symbol} at {wanted:g}"
            command: ModifyStop | PlaceStop = PlaceStop(
                account_id=ctx.account_id,
                rule_id=self.rule_id,
                reason=reason,
                contract_id=position.contract_id,
                side=OrderSide.SELL if position.is_long else OrderSide.BUY,
                size=position.size,
                stop_price=wanted,
            )
        else:
            current = stop.stop_price
            if current is None:
                return []  # a trailing stop with no price trails by itself
            if (mark - current) * direction <= 0:
                return []  # the market is through the stop: it is filling, leave it be
            if (wanted - current) * direction < tick - EPSILON:
                return []  # not at least a tick tighter: never loosen, never churn
            reason = f"{why}: {symbol} stop {current:g} → {wanted:g}"
            command = ModifyStop(
                account_id=ctx.account_id,
                rule_id=self.rule_id,
                reason=reason,
                order_id=stop.order_id,
                contract_id=position.contract_id,
                stop_price=wanted,
            )
        return [self.breach(ctx, reason, command)]
