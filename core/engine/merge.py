"""Every breach counts, and each contract is closed and each order cancelled once.

One event can breach several rules (a −$600 trade reaches the daily loss limit and a cooldown
tier) and the gate can act on it too. Their commands are merged before anything is sent:

- a flatten of an account absorbs that account's closes, partial closes and cancels (their
  contracts and orders join it) and drops its stop changes;
- a whole close of a contract absorbs partial closes of it, and two partial closes keep the
  larger;
- a cancel is sent once per order;
- stop changes (trade management, stops following a reduced position) are dropped for a
  contract being closed, and a stop resize for a contract being reduced is kept.

The first command in table order keeps its rule and reason; the others' rules are in the log
as breaches of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from core.domain.commands import (
    CancelOrder,
    CloseContract,
    EnforcementCommand,
    Flatten,
    ModifyStop,
    PartialClose,
    PlaceStop,
)


def merge_commands(commands: Iterable[EnforcementCommand]) -> list[EnforcementCommand]:
    commands = list(commands)
    if len(commands) < 2:
        return commands
    flattens: dict[int, Flatten] = {}
    for command in commands:
        if isinstance(command, Flatten):
            known = flattens.get(command.account_id)
            flattens[command.account_id] = command if known is None else _join(known, command)
    closing = {
        (c.account_id, c.contract_id) for c in commands if isinstance(c, CloseContract)
    }
    reducing: dict[tuple[int, str], PartialClose] = {}
    for c in commands:
        if isinstance(c, PartialClose):
            key = (c.account_id, c.contract_id)
            if key not in closing and (key not in reducing or c.size > reducing[key].size):
                reducing[key] = c
    out: list[EnforcementCommand] = []
    placed: set[tuple[object, ...]] = set()

    def emit(key: tuple[object, ...], command: EnforcementCommand) -> None:
        if key not in placed:
            placed.add(key)
            out.append(command)

    for c in commands:
        acct = c.account_id
        flatten = flattens.get(acct)
        if flatten is not None:
            if isinstance(c, Flatten):
                emit(("flatten", acct), flatten)
            elif isinstance(c, CloseContract | PartialClose):
                flattens[acct] = flatten = _join(flatten, contracts=(c.contract_id,))
            elif isinstance(c, CancelOrder):
                flattens[acct] = flatten = _join(flatten, orders=(c.order_id,))
            continue  # stop changes on an account being flattened are dropped
        if isinstance(c, CloseContract):
            emit(("close", acct, c.contract_id), c)
        elif isinstance(c, PartialClose):
            if (acct, c.contract_id) not in closing:  # a whole close absorbs it
                emit(("reduce", acct, c.contract_id), reducing[(acct, c.contract_id)])
        elif isinstance(c, CancelOrder):
            emit(("cancel", acct, c.order_id), c)
        elif isinstance(c, ModifyStop | PlaceStop):
            if (acct, c.contract_id) in closing:
                continue
            if (acct, c.contract_id) in reducing and not (
                isinstance(c, ModifyStop) and c.size is not None
            ):
                continue  # never move a stop on a position another rule is cutting back
            emit(("stop", acct, getattr(c, "order_id", None), c.contract_id, type(c)), c)
    # A flatten may have grown after it was placed: put its final form in.
    return [flattens[c.account_id] if isinstance(c, Flatten) else c for c in out]


def _join(
    flatten: Flatten,
    other: Flatten | None = None,
    *,
    contracts: tuple[str, ...] = (),
    orders: tuple[int, ...] = (),
) -> Flatten:
    if other is not None:
        contracts, orders = other.contract_ids, other.order_ids
    new_contracts = tuple(c for c in contracts if c not in flatten.contract_ids)
    new_orders = tuple(o for o in orders if o not in flatten.order_ids)
    if not new_contracts and not new_orders:
        return flatten
    return replace(
        flatten,
        contract_ids=flatten.contract_ids + new_contracts,
        order_ids=flatten.order_ids + new_orders,
    )
