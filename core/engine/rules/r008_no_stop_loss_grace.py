"""RULE-008: a position still without a protective stop after the grace period → close it.

A stop qualifies when it is a Stop, StopLimit or TrailingStop on the closing side, priced
beyond the entry (below it for a long). A stop already moved to breakeven or better by trade
management (between the entry and the market) still protects, so it qualifies too.
"""

from __future__ import annotations

from datetime import timedelta

from core.config.rules import NoStopLossGrace
from core.domain.events import (
    ClockTick,
    OrderEvent,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionEvent,
)
from core.engine.rules.base import Breach, Rule, RuleContext
from core.modules.mirror import AccountMirror, Position


def protective_stop(account: AccountMirror, position: Position, mark: float | None) -> OrderEvent | None:
    closing_side = OrderSide.SELL if position.is_long else OrderSide.BUY
    entry = position.average_price
    for order in account.orders.values():
        if order.contract_id != position.contract_id or order.side != closing_side:
            continue
        if not order.is_stop or not order.is_working:
            continue
        if order.status == OrderStatus.SUSPENDED:
            continue  # a bracket child waiting on its parent's fill cannot trigger yet
        price = order.stop_price
        if price is None:
            if order.type == OrderType.TRAILING_STOP:
                return order  # trails by distance; always on the protective side
            continue  # no price: nothing says where it would trigger
        if position.is_long:
            if price <= entry or (mark is not None and price < mark):
                return order
        elif price >= entry or (mark is not None and price > mark):
            return order
    return None


class NoStopLossGraceRule(Rule[NoStopLossGrace]):
    rule_id = "RULE-008"
    key = "no_stop_loss_grace"
    watches = frozenset({PositionEvent, OrderEvent, ClockTick})

    def evaluate(self, ctx: RuleContext, event: PositionEvent | OrderEvent | ClockTick) -> list[Breach]:
        grace = timedelta(seconds=self.config.grace_seconds)
        if isinstance(event, ClockTick):
            positions = list(ctx.account.positions.values())
        else:
            position = ctx.account.positions.get(event.contract_id)
            positions = [position] if position is not None else []
        commands = []
        reasons = []
        for position in positions:
            if ctx.now < position.opened_at + grace:
                continue
            if protective_stop(ctx.account, position, ctx.quotes.mark(position.contract_id)):
                continue
            reason = (
                f"{ctx.symbol(position.contract_id)} position has no stop loss "
                f"after {self.config.grace_seconds} s"
            )
            reasons.append(reason)
            commands.append(self.close(ctx, position.contract_id, reason))
        if not commands:
            return []
        return [self.breach(ctx, "; ".join(reasons), *commands)]
