"""What the engine does on its own, outside any rule, to keep the account safe:

- a stop left working after its position went flat is cancelled (it would open a position
  the other way if it triggered; trade management's own stops are not OCO-linked);
- when a position shrinks, a working closing-side stop larger than what remains is reduced to
  the remaining size, so no stop can ever open a position in the other direction;
- under a hard lock, whatever the mirror still shows open is closed again (at most every
  RESEND_AFTER seconds per contract), so a close lost in a race with the trader, or absorbed
  by one that was just finishing, cannot leave exposure behind.

Each returns commands; the engine merges them with the gate's and the rules' and sends them.
"""

from __future__ import annotations

from datetime import datetime

from core.domain.commands import CancelOrder, CloseContract, EnforcementCommand, ModifyStop
from core.modules.contracts import ContractCache
from core.modules.lockouts import LockoutManager
from core.modules.mirror import AccountMirror, PositionChange

# Rule ids for commands no rule asked for: the app's own upkeep of the trader's stops.
ORPHAN_STOP = "CLEANUP"
STOP_FOLLOWS = "STOP-SIZE"


def orphan_stops(
    account: AccountMirror, change: PositionChange, contracts: ContractCache
) -> list[EnforcementCommand]:
    if change.before == 0 or change.after != 0:
        return []
    closing_side = 1 if change.before > 0 else 0
    symbol = contracts.symbol(change.contract_id)
    return [
        CancelOrder(
            account_id=account.account_id,
            rule_id=ORPHAN_STOP,
            reason=f"stop left behind after the {symbol} position closed",
            order_id=order.order_id,
            contract_id=change.contract_id,
        )
        for order in account.orders_for(change.contract_id)
        if order.is_stop and order.side == closing_side and order.is_working
    ]


def stops_follow(
    account: AccountMirror, change: PositionChange, contracts: ContractCache
) -> list[EnforcementCommand]:
    after = change.after
    if after == 0 or abs(after) >= abs(change.before) or (after > 0) != (change.before > 0):
        return []
    remaining = abs(after)
    closing_side = 1 if after > 0 else 0
    symbol = contracts.symbol(change.contract_id)
    return [
        ModifyStop(
            account_id=account.account_id,
            rule_id=STOP_FOLLOWS,
            reason=f"{symbol} stop of {order.size} cut to the {remaining} contract(s) still open",
            order_id=order.order_id,
            contract_id=change.contract_id,
            size=remaining,
        )
        for order in account.orders_for(change.contract_id)
        if order.is_stop
        and order.is_working
        and order.side == closing_side
        and order.size is not None
        and order.size > remaining
    ]


def sweep_hard_lock(
    account: AccountMirror, lockouts: LockoutManager, now: datetime
) -> list[EnforcementCommand]:
    hard = lockouts.hard_lock(account.account_id, now)
    if hard is None:
        return []
    return [
        CloseContract(
            account_id=account.account_id,
            rule_id=hard.rule_id,
            reason=f"still open during a lock: {hard.reason}",
            contract_id=contract_id,
        )
        for contract_id in list(account.positions)
    ]
