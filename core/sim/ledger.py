"""Net positions, half-turn trades and balances: what one execution does to an account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from core.sim.models import (
    ACCOUNT_EVENT,
    ACTION_REMOVE,
    ACTION_TRADE,
    ACTION_UPDATE,
    BUY,
    POSITION_EVENT,
    TRADE_EVENT,
    SimAccount,
    SimOrder,
    SimPosition,
    SimTrade,
    UserEvent,
)

Emit = Callable[[UserEvent], None]


class Ledger:
    """One net position per account+contract; one trade row per execution leg.

    A fill that crosses zero (long 2, sell 3) is booked as two half-turns: the closing leg with
    its gross P&L and the opening leg with none, so Σ profitAndLoss − Σ fees stays exact.
    """

    def __init__(
        self, accounts: dict[int, SimAccount], emit: Emit, trade_ids: Iterator[int],
        position_ids: Iterator[int],
    ) -> None:
        self._accounts = accounts
        self._emit = emit
        self._trade_ids = trade_ids
        self._position_ids = position_ids
        self.positions: dict[tuple[int, str], SimPosition] = {}
        self.trades: list[SimTrade] = []

    def execute(self, order: SimOrder, price: float, now: datetime) -> list[SimTrade]:
        key = (order.account_id, order.contract.id)
        signed = order.size if order.side == BUY else -order.size
        position = self.positions.get(key)
        booked: list[SimTrade] = []
        if position is not None and (position.net > 0) != (signed > 0):
            closing = min(abs(signed), abs(position.net))
            booked.append(self._close_leg(order, position, price, closing, now))
            remaining = abs(signed) - closing
            position.net += closing if signed > 0 else -closing
            if position.net == 0:
                del self.positions[key]
                self._emit(UserEvent(POSITION_EVENT, ACTION_REMOVE,
                                     position.payload(stream=True, removed=True)))
                position = None
            else:
                self._emit(UserEvent(POSITION_EVENT, ACTION_UPDATE, position.payload(stream=True)))
            signed = remaining if signed > 0 else -remaining
        if signed != 0:
            booked.append(self._book(order, price, abs(signed), None, now))
            if position is None:
                position = SimPosition(next(self._position_ids), order.account_id, order.contract,
                                       now, signed, price)
                self.positions[key] = position
            else:
                total = abs(position.net) + abs(signed)
                position.average_price = round(
                    (position.average_price * abs(position.net) + price * abs(signed)) / total, 9
                )
                position.net += signed
            self._emit(UserEvent(POSITION_EVENT, ACTION_UPDATE, position.payload(stream=True)))
        return booked

    def emit_balance(self, account_id: int) -> None:
        account = self._accounts.get(account_id)
        if account is not None:
            self._emit(UserEvent(ACCOUNT_EVENT, ACTION_UPDATE, account.payload()))

    def _close_leg(self, order: SimOrder, position: SimPosition, price: float, size: int,
                   now: datetime) -> SimTrade:
        contract = order.contract
        direction = 1 if position.net > 0 else -1
        ticks = (price - position.average_price) / contract.tick_size
        gross = round(ticks * contract.tick_value * size * direction, 2) + 0.0  # no -0.0
        return self._book(order, price, size, gross, now)

    def _book(self, order: SimOrder, price: float, size: int, pnl: float | None,
              now: datetime) -> SimTrade:
        fees = round(order.contract.fee * size, 2)
        trade = SimTrade(next(self._trade_ids), order.account_id, order.contract.id, now, price,
                         pnl, fees, order.side, size, order.id)
        self.trades.append(trade)
        account = self._accounts.get(order.account_id)
        if account is not None:
            account.balance = round(account.balance + (pnl or 0.0) - fees, 2)
        self._emit(UserEvent(TRADE_EVENT, ACTION_TRADE, trade.payload(stream=True)))
        return trade
