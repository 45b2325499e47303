"""Builders for replay tests: trades as the gateway writes them, bars, a replay input."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.domain.parse import parse_trade
from core.replay.inputs import Bar, ReplayInput, sorted_trades
from tests.builders import ACCOUNT, MNQ, live_contracts

FEE = 0.50  # per contract per half-turn in the hand-computed scenarios: round numbers


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    """August 2026, UTC (Chicago is UTC−5 then)."""
    return datetime(2026, 8, day, hh, mm, ss, tzinfo=UTC)


def fill(when: datetime, side: str, size: int, price: float, pnl: float | None, order_id: int,
         *, contract_id: str = MNQ, trade_id: int | None = None, account_id: int = ACCOUNT) -> dict[str, Any]:
    """One half-turn as ``Trade/search`` answers it."""
    return {
        "id": trade_id if trade_id is not None else order_id * 10,
        "accountId": account_id,
        "contractId": contract_id,
        "creationTimestamp": when.isoformat(),
        "price": price,
        "profitAndLoss": pnl,
        "fees": round(FEE * size, 2),
        "side": 0 if side == "buy" else 1,
        "size": size,
        "voided": False,
        "orderId": order_id,
    }


def flat_bars(start: datetime, minutes: int, price: float) -> tuple[Bar, ...]:
    from datetime import timedelta

    return tuple(Bar(start + timedelta(minutes=i), price, price, price, price, 10) for i in range(minutes))


def make_input(payloads: Iterable[Mapping[str, Any]], start: datetime, end: datetime, *,
               bars: Mapping[str, tuple[Bar, ...]] | None = None, orders: tuple[Any, ...] | None = None,
               account_id: int = ACCOUNT) -> ReplayInput:
    return ReplayInput(
        account_id=account_id, start=start, end=end,
        trades=sorted_trades(parse_trade(p) for p in payloads),
        orders=orders, bars=bars,
        contracts={c.contract_id: c for c in live_contracts()},
        source="test trades", price_source="test bars" if bars is not None else "fills",
    )


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path


def money(text: str) -> Decimal:
    return Decimal(text)
