"""Bring the engine's picture in line with the gateway's after every (re)connect.

Subscribing sends no snapshot and the stream has no replay, so whatever happened while we
were away (a position opened during an outage, a fill, a lost permission) is only visible
over REST. Everything read here goes through ``engine.handle`` like a pushed event: the
gate and the rules judge it exactly as they would have live.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from core.domain.events import AccountEvent, OrderStatus, PositionEvent
from core.engine.engine import Engine
from core.gateway.rest import GatewayRest
from core.modules.mirror import AccountMirror

T = TypeVar("T")

log = logging.getLogger(__name__)


async def reconcile_account(
    rest: GatewayRest,
    engine: Engine,
    account_id: int,
    accounts: Sequence[AccountEvent] | None = None,
) -> None:
    """The account (its balance last), open positions, working orders (suspended bracket
    children included) and the trading day's trades.

    ``accounts`` is one ``Account/search`` answer shared by a round over several accounts
    (one request per round, not one per account); read here when not given.
    """
    if accounts is None:
        accounts = await read_accounts(rest, engine)
    read = next((a for a in accounts if a.account_id == account_id), None)
    if read is not None:
        # Name and permission first (the plan rules need the name); the balance only once the
        # positions agree with it: a close the stream missed is in the balance already and
        # must not be judged as still open on top of it.
        engine.handle(replace(read, balance=None, read_at=None))
    mirror = engine.mirror.account(account_id)
    answered: list[datetime] = []  # when each answer came: a close it shows was booked by then

    async def read_positions() -> list[PositionEvent]:
        positions = await rest.open_positions(account_id)
        answered.append(engine.clock.now())
        return positions

    positions, fresh = await _read_unovertaken(read_positions, mirror)
    positions_answered = answered[-1]
    seen = {p.contract_id for p in positions}
    for position in positions:
        if fresh or position.contract_id not in mirror.positions:
            engine.handle(position)
    closed_unseen = False
    for contract_id, gone in list(mirror.positions.items()):
        if fresh and contract_id not in seen:
            # Closed while we were away: the same removal the stream would have pushed.
            engine.handle(PositionEvent(gone.position_id, account_id, contract_id, 0, 0,
                                        gone.average_price, read_at=positions_answered))
            closed_unseen = True
    if closed_unseen:
        # The balance read above may predate those closes: one read after them holds them for
        # certain (else their P&L would wait, or count twice, until the next read).
        read = next((a for a in await read_accounts(rest, engine) if a.account_id == account_id),
                    read)
    if read is not None:
        engine.handle(read)
    working, fresh = await _read_unovertaken(lambda: rest.working_orders(account_id), mirror)
    # A truncated answer still tells what exists, but not what is gone.
    fresh = fresh and working.complete
    seen_orders = {o.order_id for o in working.orders}
    for order in working.orders:
        if fresh or order.order_id not in mirror.orders:
            engine.handle(order)
    for order_id, order in list(mirror.orders.items()):
        # Order/v2/query lists suspended bracket children (status 8); searchOpen, the fallback,
        # never does, so after that one a suspended child's absence proves nothing.
        if not fresh or order_id in seen_orders:
            continue
        if working.with_suspended or order.status != OrderStatus.SUSPENDED:
            engine.handle(replace(order, status=OrderStatus.CANCELLED))
    for trade in await rest.trades(account_id, trading_day_start(engine)):
        engine.handle(trade)  # trade ids de-duplicate: a trade already counted changes nothing
    engine.recheck(account_id)


async def read_accounts(rest: GatewayRest, engine: Engine) -> list[AccountEvent]:
    """``Account/search`` (inactive accounts too), each answer stamped with when the request
    was sent: the balances hold every close the stream showed before then."""
    sent = engine.clock.now()
    return [replace(account, read_at=sent) for account in await rest.accounts(only_active=False)]


async def _read_unovertaken(
    read: Callable[[], Awaitable[T]], mirror: AccountMirror, attempts: int = 3
) -> tuple[T, bool]:
    """A REST read no stream update overtook while it was in flight.

    If the stream changed the account during the read, the answer may already be stale (a
    position the stream just opened would look closed): read again. Still overtaken after
    ``attempts`` reads, the caller only adds what the mirror does not know at all.
    """
    for _ in range(attempts - 1):
        before = mirror.changes
        result = await read()
        if mirror.changes == before:
            return result, True
    before = mirror.changes
    result = await read()
    return result, mirror.changes == before


def trading_day_start(engine: Engine) -> datetime:
    now = engine.clock.now()
    # A minute of slack: a trade stamped at the reset instant belongs to the new day.
    return engine.calendar.day_start(engine.calendar.trading_day(now)) - timedelta(minutes=1)
