"""Contracts the trader held in reality but the replay does not, and what each rule made of them.

A rule changes the replay in two ways: it *prevents* an entry (a lock held when the trader
added exposure) or it *closes* contracts the trader kept (a limit, a flatten). Either way the
trader holds contracts the replay does not. Those contracts wait here, per contract, oldest
first, remembering the rule and the price the replay entered at (prevented: the trader's entry)
or left at (closed: the simulated fill). The trader's later exits take them first and are left
out of the replay; the money saved by the rule is what the replay got for them minus what the
trader got:

- closed:    direction × (replay exit − trader exit) × size, + the trader's exit costs − the
             replay's close costs;
- prevented: direction × (trader entry − trader exit) × size, + both of the trader's costs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from core.replay.book import Spec, cents

LotKind = Literal["prevented", "closed"]


@dataclass(slots=True)
class Lot:
    contract_id: str
    direction: int  # +1 long, -1 short: the side the trader held
    size: int
    kind: LotKind
    rule_id: str
    price: Decimal  # prevented: the trader's entry; closed: the replay's simulated exit
    cost_each: Decimal  # prevented: the trader's entry costs; closed: the replay's close costs
    at: datetime


@dataclass(frozen=True, slots=True)
class Attribution:
    """Money one rule saved (+) or cost (−) on ``size`` contracts."""

    rule_id: str
    kind: LotKind
    contract_id: str
    size: int
    amount: Decimal | None  # None: the contract's tick value is unknown
    at: datetime  # when the trader's exit settled it (or the replay's end)
    open_at_end: bool = False  # never exited in the data: valued at the last known price


class Ledger:
    def __init__(self) -> None:
        self._lots: dict[str, deque[Lot]] = {}

    def add(self, lot: Lot) -> None:
        if lot.size > 0:
            self._lots.setdefault(lot.contract_id, deque()).append(lot)

    def held(self, contract_id: str) -> int:
        return sum(lot.size for lot in self._lots.get(contract_id, ()))

    def take(
        self, contract_id: str, size: int, exit_price: Decimal, exit_cost_each: Decimal,
        spec: Spec | None, at: datetime, *, open_at_end: bool = False,
    ) -> list[Attribution]:
        """Settle ``size`` contracts (oldest lots first) against a trader's exit at ``exit_price``."""
        lots = self._lots.get(contract_id)
        out: list[Attribution] = []
        while size > 0 and lots:
            lot = lots[0]
            take = min(size, lot.size)
            out.append(
                Attribution(lot.rule_id, lot.kind, contract_id, take,
                            _saved(lot, take, exit_price, exit_cost_each, spec), at, open_at_end)
            )
            lot.size -= take
            size -= take
            if lot.size == 0:
                lots.popleft()
        if lots is not None and not lots:
            del self._lots[contract_id]
        return out

    def contracts(self) -> list[str]:
        return list(self._lots)


def _saved(lot: Lot, size: int, exit_price: Decimal, exit_cost_each: Decimal,
           spec: Spec | None) -> Decimal | None:
    if spec is None:
        return None
    if lot.kind == "closed":
        points = (lot.price - exit_price) * lot.direction * size
        costs = (exit_cost_each - lot.cost_each) * size
    else:
        points = (lot.price - exit_price) * lot.direction * size
        costs = (lot.cost_each + exit_cost_each) * size
    return cents(spec.money(points) + costs)
