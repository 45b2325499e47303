"""The lockout gate: runs after state is updated and before any rule.

Hard lock: any position that appears or grows is closed at once, and so is one re-reported
at an unchanged size (the flatten did not land); working orders are cancelled. Cooldown: new
orders are cancelled, and a position that grows beyond its size at the cooldown's start
(ratcheted down as it shrinks) is cut back; existing exposure is left alone. A symbol lock is
a hard lock for its symbol only.

No gate ever cancels an order that can only reduce a position that is still open (closing
side, no bigger than the position): the app's own closes, and a protective stop placed
during a cooldown. Once the position is flat, those orders are cancelled too: filling then,
they would open a position.
"""

from __future__ import annotations

from datetime import datetime

from core.domain.commands import CancelOrder, CloseContract, EnforcementCommand, PartialClose
from core.domain.events import OrderEvent, OrderType
from core.modules.contracts import ContractCache
from core.modules.lockouts import Lock, LockoutManager
from core.modules.mirror import AccountMirror, OrderChange, PositionChange


def reduces_exposure(order: OrderEvent, account: AccountMirror) -> bool:
    """A closing-side order no bigger than the open position (a close, a stop, a target)."""
    position = account.positions.get(order.contract_id)
    if position is None or order.size is None:
        return False
    closing_side = 1 if position.is_long else 0
    return order.side == closing_side and order.size <= position.size


class LockoutGate:
    def __init__(self, lockouts: LockoutManager, contracts: ContractCache) -> None:
        self.lockouts = lockouts
        self.contracts = contracts

    def on_position(
        self, account: AccountMirror, change: PositionChange, now: datetime
    ) -> list[EnforcementCommand]:
        acct, contract = change.account_id, change.contract_id
        hard = self.lockouts.hard_lock(acct, now)
        symbol = self._locked_symbol(acct, contract)
        cool = self.lockouts.cooldown(acct, now)
        if change.after == 0:
            lock = hard or cool
            if change.before == 0 or (lock is None and symbol is None):
                return []
            # Flat under a lock: the orders kept because they reduced it would now open one.
            closing_side = 1 if change.before > 0 else 0
            rule_id, why = (
                (lock.rule_id, lock.reason) if lock is not None else ("RULE-011", f"{symbol} is locked")
            )
            return [
                CancelOrder(
                    account_id=acct,
                    rule_id=rule_id,
                    reason=f"left working after the position closed: {why}",
                    order_id=order.order_id,
                    contract_id=contract,
                )
                for order in account.orders_for(contract)
                # A market order still shown working is the close that just filled (its own
                # update is on its way). A cooldown leaves orders from before it alone unless
                # flat made them openers.
                if order.is_working
                and order.type != OrderType.MARKET
                and (hard or symbol or order.side == closing_side)
            ]
        if hard is not None:
            if change.grew:
                return [self._close(hard, acct, contract, "opened during a lock")]
            if change.after == change.before:
                # Still open at the same size: the flatten did not land (a crash before it ran,
                # a reconcile after a reconnect). A hard lock means flat.
                return [self._close(hard, acct, contract, "still open during a lock")]
            return []  # shrinking: the flatten is working
        if symbol is not None:
            return [
                CloseContract(
                    account_id=acct,
                    rule_id="RULE-011",
                    reason=f"{symbol} is locked",
                    contract_id=contract,
                )
            ]
        if cool is None or not change.grew:
            return []
        base = cool.baseline.get(contract, 0)
        after = change.after
        same_side = base != 0 and (base > 0) == (after > 0)
        if same_side and abs(after) <= abs(base):
            return []
        if same_side:
            return [
                PartialClose(
                    account_id=acct,
                    rule_id=cool.rule_id,
                    reason=f"added during a cooldown ({cool.reason})",
                    contract_id=contract,
                    size=abs(after) - abs(base),
                )
            ]
        return [self._close(cool, acct, contract, "opened during a cooldown")]

    def on_order(
        self, account: AccountMirror, change: OrderChange, now: datetime
    ) -> list[EnforcementCommand]:
        order = change.after
        if order is None or reduces_exposure(order, account):
            # Reducing only: a close on its way (cancelling it could land before its fill and
            # undo the close), or a stop protecting what is still open.
            return []
        acct = order.account_id
        hard = self.lockouts.hard_lock(acct, now)
        if hard is not None:
            return [self._cancel(hard, order, "placed during a lock")]
        symbol = self._locked_symbol(acct, order.contract_id)
        if symbol is not None:
            return [
                CancelOrder(
                    account_id=acct,
                    rule_id="RULE-011",
                    reason=f"{symbol} is locked",
                    order_id=order.order_id,
                    contract_id=order.contract_id,
                )
            ]
        cool = self.lockouts.cooldown(acct, now)
        if cool is None or not change.is_new_working:
            return []
        if order.created_at is not None and order.created_at < cool.locked_at:
            return []
        return [self._cancel(cool, order, "placed during a cooldown")]

    def _locked_symbol(self, account_id: int, contract_id: str) -> str | None:
        locks = self.lockouts.symbol_locks(account_id)
        if not locks:
            return None
        return self.contracts.matches(contract_id, {lock.symbol for lock in locks})

    @staticmethod
    def _close(lock: Lock, account_id: int, contract_id: str, what: str) -> CloseContract:
        return CloseContract(
            account_id=account_id,
            rule_id=lock.rule_id,
            reason=f"{what}: {lock.reason}",
            contract_id=contract_id,
        )

    @staticmethod
    def _cancel(lock: Lock, order: OrderEvent, what: str) -> CancelOrder:
        return CancelOrder(
            account_id=order.account_id,
            rule_id=lock.rule_id,
            reason=f"{what}: {lock.reason}",
            order_id=order.order_id,
            contract_id=order.contract_id,
        )
