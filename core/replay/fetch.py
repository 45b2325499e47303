"""Gathering a replay's input from the gateway: trades, orders, contracts and minute bars.

``Trade/search`` and ``Order/search`` are asked one trading day at a time (the API wants short
windows and documents no paging; the weekend joins Friday's window); bars come
``History/retrieveBars`` twelve days at a time
(17,280 one-minute bars, under its 20,000 cap). The REST session's limiter keeps every request
inside the gateway's budgets (bars have their own, 50 per 30 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain.events import OrderEvent, TradeEvent
from core.domain.parse import ParseError
from core.gateway.errors import GatewayError
from core.gateway.rest import GatewayRest
from core.modules.contracts import Contract
from core.replay.inputs import Bar, ReplayInput, parse_bar, sorted_bars, sorted_trades

log = logging.getLogger(__name__)

CHICAGO = ZoneInfo("America/Chicago")
BAR_WINDOW = timedelta(days=12)
BAR_LIMIT = 20_000


def weekend(ws: datetime, we: datetime) -> bool:
    """Whether [ws, we) lies inside the CME Globex weekly close (Friday 16:00 to Sunday 17:00,
    Chicago time), when nothing trades."""
    local_start, local_end = ws.astimezone(CHICAGO), we.astimezone(CHICAGO)
    friday = local_start.date() - timedelta(days=(local_start.weekday() - 4) % 7)
    closes = datetime.combine(friday, time(16), CHICAGO)
    opens = datetime.combine(friday + timedelta(days=2), time(17), CHICAGO)
    return closes <= local_start and local_end <= opens


def search_windows(bounds: list[datetime]) -> list[tuple[datetime, datetime]]:
    """One window per trading day, except that days inside the weekly close join the day
    before: the weekend costs no request of its own, and nothing can fall between windows."""
    out: list[tuple[datetime, datetime]] = []
    for ws, we in zip(bounds, bounds[1:], strict=False):
        if out and weekend(ws, we):
            out[-1] = (out[-1][0], we)
        else:
            out.append((ws, we))
    return out


def windows(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    at = start
    while at < end:
        yield at, min(at + step, end)
        at += step


async def fetch_input(
    rest: GatewayRest,
    account_id: int,
    start: datetime,
    end: datetime,
    day_starts: list[datetime],
    *,
    with_orders: bool = True,
    with_bars: bool = True,
) -> ReplayInput:
    """Everything the replay of [start, end) needs. ``day_starts`` are the trading days'
    starts inside the range (one search window each)."""
    notes: list[str] = []
    bounds = [*day_starts, end]
    trades: list[TradeEvent] = []
    orders: list[OrderEvent] = []
    for ws, we in search_windows(bounds):
        # The gateway's window includes its end instant: the next window starts there.
        trades += [t for t in await rest.trades(account_id, ws, we) if ws <= t.created_at < we]
        if with_orders:
            orders += [o for o in await rest.orders(account_id, ws, we)
                       if o.created_at is not None and ws <= o.created_at < we]
    found = sorted_trades(trades)
    contracts = await _contracts(rest, {t.contract_id for t in found}, notes)
    bars: dict[str, tuple[Bar, ...]] | None = None
    if with_bars:
        bars = {}
        for contract_id in sorted({t.contract_id for t in found}):
            bars[contract_id] = await _bars(rest, contract_id, start, end, notes)
    unique_orders = {o.order_id: o for o in orders}
    return ReplayInput(
        account_id=account_id,
        start=start,
        end=end,
        trades=found,
        orders=tuple(sorted(unique_orders.values(), key=lambda o: (o.created_at, o.order_id)))
        if with_orders else None,
        bars=bars,
        contracts=contracts,
        source=f"the gateway's trade history of account {account_id} (Trade/search)",
        price_source="one-minute bars from the gateway (History/retrieveBars)"
        if with_bars else "your fills alone (no bars)",
        notes=tuple(notes),
    )


async def _contracts(rest: GatewayRest, wanted: set[str], notes: list[str]) -> dict[str, Contract]:
    known = {c.contract_id: c for c in await rest.available_contracts()}
    out: dict[str, Contract] = {}
    for contract_id in sorted(wanted):
        contract = known.get(contract_id)
        if contract is None:
            # An expired contract is no longer "available": ask for it by id.
            try:
                contract = await rest.contract(contract_id)
            except GatewayError as exc:
                log.warning("no details for %s: %s", contract_id, exc)
        if contract is None:
            notes.append(f"The gateway gave no details (tick size and value) for {contract_id}.")
        else:
            out[contract_id] = contract
    return out


async def _bars(rest: GatewayRest, contract_id: str, start: datetime, end: datetime,
                notes: list[str]) -> tuple[Bar, ...]:
    found: list[Bar] = []
    bad = 0
    for ws, we in windows(start, end, BAR_WINDOW):
        try:
            payloads = await rest.bars(contract_id, ws, we, limit=BAR_LIMIT)
        except GatewayError as exc:
            notes.append(f"No bars for {contract_id} from {ws:%Y-%m-%d} to {we:%Y-%m-%d}: {exc}.")
            continue
        if len(payloads) >= BAR_LIMIT:
            notes.append(f"Bars for {contract_id} from {ws:%Y-%m-%d} may be cut at {BAR_LIMIT}.")
        for payload in payloads:
            try:
                bar = parse_bar(payload)
            except ParseError:
                bad += 1
                continue
            if ws <= bar.start < we:
                found.append(bar)
    if bad:
        notes.append(f"{bad} bar(s) of {contract_id} could not be read and were left out.")
    return sorted_bars(found)
