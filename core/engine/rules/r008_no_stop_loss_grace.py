"""RULE-008: contracts still without a protective stop after the grace period → close them.

A stop is any working Stop, StopLimit or TrailingStop on the position's closing side, at any
price: one moved into profit by trade management protects too, and deciding never needs a
price (a feed drop or a restart before the first quote must not close a protected position).
Each contract's grace runs from the fill that opened it; stops cover the oldest contracts
first, so what a stop leaves uncovered is the newest exposure. Once a contract's grace has
passed (≥) and no stop covers it, it is closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config.rules import NoStopLossGrace
from core.domain.events import ClockTick, OrderEvent, OrderSide, PositionEvent, Recheck
from core.domain.words import length
from core.engine.rules.base import Breach, Rule, RuleContext
from core.modules.mirror import AccountMirror, Position


def stop_cover(account: AccountMirror, position: Position) -> int:
    """How many of the position's contracts its working closing-side stops cover."""
    closing_side = OrderSide.SELL if position.is_long else OrderSide.BUY
    covered = 0
    for order in account.orders.values():
        if order.contract_id != position.contract_id or order.side != closing_side:
            continue
        if not order.is_stop or not order.is_working:
            continue
        if order.size is None:
            return position.size  # size not reported yet (being re-read): never a false close
        covered += order.size
    return min(covered, position.size)


def uncovered_due(position: Position, covered: int, grace: timedelta, now: datetime) -> int:
    """Contracts past their grace that the stops (covering the oldest first) leave bare."""
    due = 0
    skip = covered
    for lot in position.lots:
        in_lot = lot.size
        if skip >= in_lot:
            skip -= in_lot
            continue
        bare, skip = in_lot - skip, 0
        if now >= lot.opened_at + grace:
            due += bare
    return due


class NoStopLossGraceRule(Rule[NoStopLossGrace]):
    rule_id = "RULE-008"
    key = "no_stop_loss_grace"
    watches = frozenset({PositionEvent, OrderEvent, ClockTick, Recheck})

    def evaluate(
        self, ctx: RuleContext, event: PositionEvent | OrderEvent | ClockTick | Recheck
    ) -> list[Breach]:
        grace = timedelta(seconds=self.config.grace_seconds)
        if isinstance(event, ClockTick | Recheck):
            positions = list(ctx.account.positions.values())
        else:
            position = ctx.account.positions.get(event.contract_id)
            positions = [position] if position is not None else []
        breaches = []
        for position in positions:
            if not position.lots or ctx.now < position.lots[0].opened_at + grace:
                continue  # even the oldest contract is within its grace
            covered = stop_cover(ctx.account, position)
            due = uncovered_due(position, covered, grace, ctx.now)
            if due <= 0:
                continue
            symbol = ctx.symbol(position.contract_id)
            grace_text = f"the {length(self.config.grace_seconds)} grace"
            if due == position.size:
                reason = f"{symbol} position has no stop loss after {grace_text}"
            else:
                reason = f"{due} of {position.size} {symbol} contracts have no stop loss after {grace_text}"
            breaches.append(
                self.breach(ctx, reason, self.reduce(ctx, position.contract_id, due, reason))
            )
        return breaches
