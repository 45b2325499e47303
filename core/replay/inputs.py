"""What a replay runs on: the trader's fills, optionally their orders, minute bars, contracts.

Gathered from the gateway (:mod:`core.replay.fetch`) or from files (:mod:`core.replay.files`);
both hand over the same :class:`ReplayInput`, so the replay cannot tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.domain.events import OrderEvent, TradeEvent
from core.domain.payload import ParseError, as_mapping, parse_timestamp, show
from core.modules.contracts import Contract

BAR_LENGTH = timedelta(minutes=1)


class InputError(ValueError):
    """Input the replay cannot use (an unreadable file, a bad date range): the message says
    which and why, in words a trader can act on."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One one-minute bar: [start, start + 1 min)."""

    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: int = 0


@dataclass(frozen=True)
class ReplayInput:
    account_id: int
    start: datetime  # the replayed range [start, end): trading-day bounds
    end: datetime
    trades: tuple[TradeEvent, ...]  # the account's half-turns in the range, oldest first
    # None: no order history (the stop rules cannot be judged); () is "none were placed".
    orders: tuple[OrderEvent, ...] | None
    # None: no bars at all, prices come from the fills alone; otherwise per contract, oldest
    # first (a contract missing from the mapping had no bars).
    bars: Mapping[str, tuple[Bar, ...]] | None
    contracts: Mapping[str, Contract]
    source: str  # where the trades came from, for the report
    price_source: str  # where the prices came from
    notes: tuple[str, ...] = field(default=())  # data problems met while gathering


def parse_bar(payload: Any) -> Bar:
    """A gateway ``AggregateBarModel`` (``t, o, h, l, c, v``) as ``History/retrieveBars``
    answers it and as a bars file holds it."""
    d = as_mapping(payload, "bar")
    start = parse_timestamp(d.get("t"), "t")
    if start is None:
        raise ParseError("missing field 't'")
    prices = []
    for key in ("o", "h", "l", "c"):
        value = d.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParseError(f"field {key!r} is not a price: {show(value)}")
        if not math.isfinite(value) or value <= 0:
            raise ParseError(f"field {key!r} is not a positive price: {show(value)}")
        prices.append(float(value))
    o, h, low, c = prices
    if h < max(o, c, low) or low > min(o, c, h):
        raise ParseError(f"bar at {show(d.get('t'))}: high {h} and low {low} do not hold open {o} and close {c}")
    volume = d.get("v", 0)
    if isinstance(volume, bool) or not isinstance(volume, int | float):
        volume = 0
    return Bar(start, o, h, low, c, int(volume))


def sorted_bars(bars: Iterable[Bar]) -> tuple[Bar, ...]:
    """Oldest first, one bar per minute (a repeated minute keeps the last one given)."""
    by_start = {bar.start: bar for bar in bars}
    return tuple(by_start[start] for start in sorted(by_start))


def sorted_trades(trades: Iterable[TradeEvent]) -> tuple[TradeEvent, ...]:
    """Oldest first, each trade once (the gateway and a file may repeat one)."""
    by_id = {t.trade_id: t for t in trades}
    return tuple(sorted(by_id.values(), key=lambda t: (t.created_at, t.trade_id)))
