"""Where the history comes from: files (JSON and the documented CSV layout) and the gateway
(the real REST client against the embedded simulated gateway)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from core.app.demo_month import generate_month, month_bounds
from core.app.replay_service import DayRange, demo_input
from core.gateway.rest import GatewayRest
from core.replay.fetch import fetch_input
from core.replay.files import read_bars, read_trades
from core.replay.inputs import parse_bar
from core.sim.server import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.builders import FIXTURES, MNQ
from tests.replay.support import at


def test_the_csv_layout_reads_as_the_gateways_json(tmp_path: Path) -> None:
    rows = json.loads((FIXTURES / "historical_trades_24h.json").read_text())
    header = "id,accountId,contractId,creationTimestamp,price,profitAndLoss,fees,side,size,voided,orderId"
    lines = [header] + [
        ",".join([str(t["id"]), str(t["accountId"]), t["contractId"], t["creationTimestamp"],
                  str(t["price"]), "" if t["profitAndLoss"] is None else str(t["profitAndLoss"]),
                  str(t["fees"]), "sell" if t["side"] == 1 else "buy", str(t["size"]),
                  str(t["voided"]).lower(), str(t["orderId"])])
        for t in rows
    ]
    csv = tmp_path / "trades.csv"
    csv.write_text("\n".join(lines) + "\n")
    assert read_trades(csv) == read_trades(FIXTURES / "historical_trades_24h.json")


def test_a_minimal_csv_needs_only_five_columns_and_takes_the_account_given(tmp_path: Path) -> None:
    csv = tmp_path / "trades.csv"
    csv.write_text("contractId,creationTimestamp,price,side,size,profitAndLoss,fees\n"
                   "CON.F.US.MNQ.U26,2026-08-19T14:00:00Z,21000,buy,1,,0.5\n"
                   "CON.F.US.MNQ.U26,2026-08-19T14:05:00Z,21001.25,sell,1,2.5,0.5\n")
    first, second = read_trades(csv, account_id=42)
    assert (first.account_id, first.trade_id, first.pnl, second.pnl, second.price) == (42, 1, None, 2.5, 21001.25)


def test_bars_from_json_and_csv_agree_and_come_oldest_first(tmp_path: Path) -> None:
    bars = [{"t": "2026-08-19T14:01:00Z", "o": 2, "h": 3, "l": 1, "c": 2.5, "v": 10},
            {"t": "2026-08-19T14:00:00Z", "o": 1, "h": 2, "l": 1, "c": 2, "v": 5}]
    js = tmp_path / "bars.json"
    js.write_text(json.dumps({MNQ: bars}))
    csv = tmp_path / "bars.csv"
    csv.write_text("contractId,t,o,h,l,c,v\n" + "".join(
        f"{MNQ},{b['t']},{b['o']},{b['h']},{b['l']},{b['c']},{b['v']}\n" for b in bars))
    assert read_bars(js) == read_bars(csv)
    assert [b.start for b in read_bars(js)[MNQ]] == [at(19, 14, 0), at(19, 14, 1)]


async def test_retrieve_bars_goes_through_the_rest_client() -> None:
    async with SimulatedGateway(market_interval=None, ping_interval=None) as gateway:
        rest = GatewayRest(gateway.base_url, DEMO_USERNAME, DEMO_API_KEY)
        try:
            now = gateway.exchange.now()
            payloads = await rest.bars(MNQ, now - timedelta(minutes=30), now)
        finally:
            await rest.aclose()
    bars = [parse_bar(p) for p in payloads]
    assert 25 <= len(bars) <= 30
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)


async def test_the_demo_month_fetched_over_rest_is_the_month_the_exchange_wrote() -> None:
    days = DayRange(date(2026, 11, 2), date(2026, 11, 6))
    fetched = await demo_input(days, seed=11, fills_per_day=12)
    local = generate_month(days.first, days.last, seed=11, fills_per_day=12).replay_input()
    assert (fetched.start, fetched.end) == month_bounds(days.first, days.last)
    assert [(t.created_at, t.side, t.size, t.price, t.pnl, t.fees) for t in fetched.trades] == [
        (t.created_at, t.side, t.size, t.price, t.pnl, t.fees) for t in local.trades
    ]
    assert fetched.orders is not None and local.orders is not None
    assert len(fetched.orders) == len(local.orders) > 0
    assert fetched.bars == local.bars
    assert set(fetched.contracts) == {t.contract_id for t in local.trades}
    assert "simulated gateway" in fetched.source


async def test_a_contract_the_gateway_does_not_know_is_noted(tmp_path: Path) -> None:
    async with SimulatedGateway(market_interval=None, ping_interval=None) as gateway:
        exchange = gateway.exchange
        exchange.set_price(MNQ, 21000.0, bid=21000.0, ask=21000.0)
        exchange.place_order(DEMO_ACCOUNT_ID, MNQ, 2, 0, 1)
        del exchange.contracts[MNQ]  # as if it expired after the trade
        now = exchange.now()
        rest = GatewayRest(gateway.base_url, DEMO_USERNAME, DEMO_API_KEY)
        try:
            data = await fetch_input(rest, DEMO_ACCOUNT_ID, now - timedelta(hours=1),
                                     now + timedelta(seconds=1), [now - timedelta(hours=1)])
        finally:
            await rest.aclose()
    assert len(data.trades) == 1 and MNQ not in data.contracts
    assert any(f"no details (tick size and value) for {MNQ}" in n for n in data.notes)


def test_search_windows_are_trading_days_and_the_weekend_joins_friday() -> None:
    from core.app.replay_service import DayRange, calendar_of
    from core.replay.fetch import search_windows
    from tests.builders import config

    calendar = calendar_of(config())
    days = DayRange(date(2026, 11, 5), date(2026, 11, 10))  # Thursday to Tuesday
    bounds = [calendar.day_start(d) for d in days.days()] + [calendar.day_end(days.last)]
    windows = search_windows(bounds)
    # Thu, Fri+Sat+Sun (nothing trades from Friday 16:00 to Sunday 17:00), Mon, Tue.
    assert [(ws.isoformat(), we.isoformat()) for ws, we in windows] == [
        ("2026-11-04T23:00:00+00:00", "2026-11-05T23:00:00+00:00"),
        ("2026-11-05T23:00:00+00:00", "2026-11-08T23:00:00+00:00"),
        ("2026-11-08T23:00:00+00:00", "2026-11-09T23:00:00+00:00"),
        ("2026-11-09T23:00:00+00:00", "2026-11-10T23:00:00+00:00"),
    ]
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:], strict=False))  # no gap
