"""After an unclean stop, the next start says so: when protection stopped, when it resumed, and
what was closed that had been opened in between.

The service keeps a run record in the state file: written when it starts, its ``alive_at``
refreshed every few seconds (with the batched rows), and marked clean when it stops cleanly. A
record found not clean at the next start means the app died: protection stopped at about its
last ``alive_at``. Once an account is protected again, the gateway's trades of the gap are read
and each closing fill is matched, oldest lots first, against the position held at the stop
(as the state file kept it) and the entries made during the gap: what closes gap entries is
what the trader did unprotected.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.app.state_notices import GapClose
from core.domain.events import TradeEvent

log = logging.getLogger("core.app.service")

RUN_KEY = "run"
HEARTBEAT_SECONDS = 5.0
BUY = 0


@dataclass(frozen=True, slots=True)
class RunRecord:
    started_at: datetime
    alive_at: datetime
    clean: bool

    def as_json(self) -> dict[str, Any]:
        return {"started_at": self.started_at.isoformat(), "alive_at": self.alive_at.isoformat(),
                "clean": self.clean}

    @classmethod
    def of(cls, value: Any) -> RunRecord | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(datetime.fromisoformat(value["started_at"]),
                       datetime.fromisoformat(value["alive_at"]), bool(value["clean"]))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(slots=True)
class _Lot:
    size: int
    opened_at: datetime | None  # None: held when the app stopped
    cost_share: Decimal  # opening fees per contract


def closed_in_gap(
    trades: Iterable[TradeEvent], held_at_stop: Mapping[str, int], stopped_at: datetime,
) -> list[GapClose]:
    """The closing fills (after ``stopped_at``) of contracts opened after it, oldest lots first.

    ``held_at_stop``: signed size per contract when the app stopped. A closing fill's P&L is
    shared over the contracts it closed; each share also carries the fees of its opening fill.
    """
    lots: dict[str, deque[_Lot]] = {}
    sides: dict[str, int] = {}
    for contract_id, signed in held_at_stop.items():
        if signed:
            lots[contract_id] = deque([_Lot(abs(signed), None, Decimal(0))])
            sides[contract_id] = 1 if signed > 0 else -1
    out: list[GapClose] = []
    for trade in sorted(trades, key=lambda t: (t.created_at, t.trade_id)):
        if trade.voided or trade.created_at < stopped_at or trade.size <= 0:
            continue
        direction = 1 if trade.side == BUY else -1
        book = lots.setdefault(trade.contract_id, deque())
        held = sides.get(trade.contract_id, 0) if book else 0
        if not book or held == direction:
            book.append(_Lot(trade.size, trade.created_at, trade.costs / trade.size))
            sides[trade.contract_id] = direction
            continue
        remaining = trade.size
        per_contract = trade.net_pnl / trade.size
        while remaining and book:
            lot = book[0]
            taken = min(lot.size, remaining)
            if lot.opened_at is not None:
                out.append(GapClose(trade.contract_id, taken, lot.opened_at, trade.created_at,
                                    (per_contract - lot.cost_share) * taken))
            lot.size -= taken
            remaining -= taken
            if lot.size == 0:
                book.popleft()
        if remaining:  # reversed through flat: the rest opens the other way
            book.append(_Lot(remaining, trade.created_at, trade.costs / trade.size))
            sides[trade.contract_id] = direction
    return out
