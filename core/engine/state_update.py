"""The first step for an account's own event: bring its state up to date.

A position or order update goes into the positions mirror (with the open P&L, the resend
guard's view of a changed position and a shrinking lock baseline kept in step), a trade into
the day's realized P&L and the trade counts, an account update into the mirror (a can-trade
flag back on lifts the auth-loss guard's lock). Then the lockout gate and the housekeeping say
what the new state calls for. An update the mirror cannot apply asks for a re-read, never a
guess. The engine (:mod:`core.engine.engine`) then runs the rules on what this leaves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.domain.commands import EnforcementCommand
from core.domain.events import AccountEvent, OrderEvent, PositionEvent, TradeEvent
from core.engine.housekeeping import orphan_stops, stops_follow
from core.engine.notices import RereadNeeded
from core.engine.rules.r010_auth_loss_guard import AuthLossGuardRule
from core.modules.mirror import PositionChange
from core.modules.unbooked import closed_size

if TYPE_CHECKING:
    from core.engine.engine import Engine

log = logging.getLogger("core.engine.engine")


def update_state(engine: Engine, event: Any, now: datetime) -> list[EnforcementCommand] | None:
    """Apply ``event`` (a position, order, trade or account update of a protected account)
    and return the gate's and the housekeeping's commands for it; None when there is nothing
    to judge (a position to re-read, a trade already counted, an unknown event)."""
    kind = type(event)
    account_id = event.account_id
    account = engine.mirror.account(account_id)
    upkeep: list[EnforcementCommand] = []
    if kind is PositionEvent:
        prior = account.positions.get(event.contract_id)
        entry = prior.average_price if prior is not None else 0.0
        # Taken before the update settles it: a balance that moved just before this close
        # probably holds its P&L already.
        balance_first = account.balance_just_changed(now)
        change = engine.mirror.apply_position(event, now)
        if change.needs_reread:
            engine.bus.publish(RereadNeeded(account_id, "a position update without its side or price"))
            return None
        closed = closed_size(change.before, change.after)
        if closed:
            close = account.unbooked.close_seen(
                change.contract_id, closed, _closed_pnl(engine, change, entry, closed), now,
                balance_first, event.read_at,
            )
            account.since_read.close_seen(close, now)
        engine.open_pnl_book.position_changed(account)
        if change.after != change.before:
            # The position a past close acted on is gone: closed and reopened at the same
            # size within RESEND_AFTER is new exposure, and must be closed again.
            engine.resend.position_changed(account_id, change.contract_id)
        if abs(change.after) < abs(change.before) or (change.after > 0) != (change.before > 0):
            engine.lockouts.shrink_baseline(account_id, change.contract_id, change.after)
        upkeep = engine.gate.on_position(account, change, now)
        upkeep += orphan_stops(account, change, engine.contracts)
        upkeep += stops_follow(account, change, engine.contracts)
    elif kind is OrderEvent:
        change_o = engine.mirror.apply_order(event)
        if change_o.needs_reread:
            engine.bus.publish(RereadNeeded(account_id, "an order update without its type or size"))
        upkeep = engine.gate.on_order(account, change_o, now)
    elif kind is TradeEvent:
        update = engine.pnl.apply(event, engine.pnl_durable)
        if update is None:
            return None  # already counted: nothing new to judge
        engine.counter.record(event)
        if event.pnl is not None and not event.voided:
            account.unbooked.trade_seen(
                event.contract_id, event.size, float(event.net_pnl), event.created_at, now
            )
        elif not event.voided:
            account.since_read.opening_fill(float(event.costs))  # closes carry their own
    elif kind is AccountEvent:
        engine.mirror.apply_account(event, now)
        if event.can_trade is True and engine.lockouts.get(account_id, AuthLossGuardRule.rule_id):
            engine.locks.clear(account_id, AuthLossGuardRule.rule_id, "can trade again")
    else:
        log.warning("unknown event type %s dropped", kind.__name__)
        return None
    return upkeep


def _closed_pnl(engine: Engine, change: PositionChange, entry: float, closed: int) -> float | None:
    """The closed contracts' open P&L at their last mark (None: no price or tick value)."""
    contract_id = change.contract_id
    mark = engine.quotes.marks.get(contract_id)
    value = engine.contracts.point_values.get(contract_id)
    if value is None:
        value = engine.contracts.point_value(contract_id)
    if mark is None or value is None:
        return None
    side = 1 if change.before > 0 else -1
    return (mark - entry) * value * side * closed
