"""Reconcile against a REST read the stream overtook: nothing the stream just reported is
undone by a stale answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.domain.events import AccountEvent, OrderEvent, PositionEvent, TradeEvent
from core.enforcement.reconcile import reconcile_account
from core.gateway.rest import WorkingOrders
from tests.builders import ACCOUNT, MES, MNQ, config, make_engine, order, position


class FakeRest:
    def __init__(self) -> None:
        self.positions: list[PositionEvent] = []
        self.orders: list[OrderEvent] = []
        self.during_positions_read: list[Callable[[], None]] = []
        self.during_orders_read: list[Callable[[], None]] = []
        self.position_reads = 0

    async def accounts(self, only_active: bool = True) -> list[AccountEvent]:
        return [AccountEvent(ACCOUNT, can_trade=True)]

    async def open_positions(self, account_id: int) -> list[PositionEvent]:
        self.position_reads += 1
        answer = list(self.positions)  # the gateway answered before the stream event below
        if self.during_positions_read:
            self.during_positions_read.pop(0)()
        return answer

    async def open_orders(self, account_id: int) -> list[OrderEvent]:
        answer = list(self.orders)
        if self.during_orders_read:
            self.during_orders_read.pop(0)()
        return answer

    async def trades(self, account_id: int, start: datetime, end: Any = None) -> list[TradeEvent]:
        return []

    async def working_orders(self, account_id: int) -> WorkingOrders:
        # A gateway without Order/v2/query: searchOpen, which never lists suspended children.
        return WorkingOrders(await self.open_orders(account_id), True, with_suspended=False)


async def test_a_position_the_stream_opens_during_the_read_is_kept() -> None:
    engine, _, _ = make_engine(config())
    rest = FakeRest()
    opened = position(MNQ, 1, 20000.0)
    # The stream reports the new position while the (now stale) REST answer is on its way;
    # a second read then sees it too.
    rest.during_positions_read.append(lambda: (engine.handle(opened), rest.positions.append(opened)))
    await reconcile_account(rest, engine, ACCOUNT)  # type: ignore[arg-type]
    assert MNQ in engine.mirror.account(ACCOUNT).positions
    assert rest.position_reads == 2  # the overtaken answer was read again, not trusted


async def test_a_busy_stream_never_lets_a_stale_read_remove_anything() -> None:
    engine, _, _ = make_engine(config())
    engine.handle(position(MES, 1, 5000.0))
    rest = FakeRest()  # says flat, while the stream keeps reporting on every read
    for size in (2, 3, 4):
        rest.during_positions_read.append(lambda s=size: engine.handle(position(MES, s, 5000.0)))
    await reconcile_account(rest, engine, ACCOUNT)  # type: ignore[arg-type]
    assert engine.mirror.account(ACCOUNT).positions[MES].signed_size == 4


async def test_a_quiet_reconcile_removes_what_closed_while_away_and_keeps_status_8() -> None:
    engine, _, _ = make_engine(config())
    engine.handle(position(MES, 1, 5000.0))
    stop = order(MES, side=1, stop_price=4990.0)
    child = order(MES, side=1, status=8)
    engine.handle(stop)
    engine.handle(child)
    await reconcile_account(FakeRest(), engine, ACCOUNT)  # type: ignore[arg-type]
    mirror = engine.mirror.account(ACCOUNT)
    assert mirror.positions == {}
    assert list(mirror.orders) == [child.order_id]  # suspended children are not in searchOpen


async def test_a_stop_placed_during_the_orders_read_is_kept() -> None:
    engine, _, _ = make_engine(config())
    rest = FakeRest()
    stop = order(MNQ, side=1, stop_price=19990.0)
    rest.during_orders_read.append(lambda: (engine.handle(stop), rest.orders.append(stop)))
    await reconcile_account(rest, engine, ACCOUNT)  # type: ignore[arg-type]
    assert stop.order_id in engine.mirror.account(ACCOUNT).orders
