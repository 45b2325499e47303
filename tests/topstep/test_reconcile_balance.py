"""A position whose close push was lost (or that closed while the app was away) is found by the
REST re-read: its P&L is already in the balance that read returns, and must not count again.
The Maximum Loss Limit guard then judges the equity Topstep sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.domain.events import AccountEvent, OrderEvent, PositionEvent, TradeEvent
from core.enforcement.reconcile import reconcile_account
from core.engine.notices import RereadNeeded
from core.gateway.rest import WorkingOrders
from tests.builders import MES, MNQ, make_engine, position, quote
from tests.topstep.test_account_guard import COMBINE, guard_config

NAME = "50KTC-V2-645601-13370001"  # a 50K Combine: floor 48,000 on its first day


class GatewayAfterTheClose:
    """REST as the gateway answers once the MNQ long closed at −400: the balance holds it."""

    def __init__(self, balance: float, positions: list[PositionEvent]) -> None:
        self.balance = balance
        self.positions = positions
        self.account_reads = 0

    async def accounts(self, only_active: bool = True) -> list[AccountEvent]:
        self.account_reads += 1
        return [AccountEvent(COMBINE, name=NAME, balance=self.balance, can_trade=True)]

    async def open_positions(self, account_id: int) -> list[PositionEvent]:
        return list(self.positions)

    async def working_orders(self, account_id: int) -> WorkingOrders:
        return WorkingOrders([], True, with_suspended=True)

    async def open_orders(self, account_id: int) -> list[OrderEvent]:
        return []

    async def trades(self, account_id: int, start: datetime, end: Any = None) -> list[TradeEvent]:
        return []


async def test_a_close_found_by_the_re_read_is_counted_once() -> None:
    engine, clock, port = make_engine(guard_config(rules={
        "max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": []}}))
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=48_600.0, can_trade=True))
    clock.advance(10)
    mes = position(MES, 1, 5_000.0, account_id=COMBINE, position_id=2)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(mes)
    engine.handle(quote(MNQ, last=19_800.0))  # −400
    engine.handle(quote(MES, last=5_060.0))  # +300: equity 48,500, $500 of room
    clock.advance(10)
    # The MNQ close's position push never comes; its balance push (48,200) does. Pushes alone
    # now count the −400 twice (in the balance and still open): $100 from the floor. The last
    # read with the closes since says $500: the guard asks for the account and waits.
    asked: list[RereadNeeded] = []
    engine.bus.subscribe(asked.append, RereadNeeded)
    engine.handle(AccountEvent(COMBINE, balance=48_200.0))
    for _ in range(3):
        clock.advance(1)
        engine.tick()
        engine.handle(quote(MES, last=5_060.0))
    assert asked and [c for c in port.commands if c.rule_id == "RULE-014"] == []
    rest = GatewayAfterTheClose(48_200.0, [mes])
    await reconcile_account(rest, engine, COMBINE)  # type: ignore[arg-type]
    for _ in range(10):
        clock.advance(1)
        engine.tick()
        engine.handle(quote(MES, last=5_060.0))
    account = engine.mirror.account(COMBINE)
    assert MNQ not in account.positions
    assert account.settled_balance(clock.now()) == 48_200.0  # the −400 once, not twice
    assert account.balance_confirmed()
    assert [c for c in port.commands if c.rule_id == "RULE-014"] == []
    assert rest.account_reads == 2  # read again after the close it found
