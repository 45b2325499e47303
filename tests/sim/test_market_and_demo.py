from __future__ import annotations

import asyncio

import pytest

from core.sim import DEMO_ACCOUNT_ID, DemoTrader, MarketSimulator, SimExchange, UserEvent
from core.sim.models import SimAccount
from core.sim.server import demo_accounts
from tests.sim.support import Clock

MNQ = "CON.F.US.MNQ.U26"
MES = "CON.F.US.MES.U26"
CL = "CON.F.US.CLE.V26"


def make(seed: int = 7) -> tuple[SimExchange, MarketSimulator, Clock]:
    clock = Clock()
    exchange = SimExchange(now=clock, accounts=demo_accounts())
    return exchange, MarketSimulator(exchange, seed=seed, contract_ids=[MNQ, MES, CL]), clock


def test_walk_is_seeded_in_whole_ticks_from_plausible_levels() -> None:
    one, two = make(3)[1], make(3)[1]
    assert (one.last_price(MNQ), one.last_price(MES), one.last_price(CL)) == (29500, 7700, 85)
    events = [one.step() for _ in range(200)]
    assert events == [two.step() for _ in range(200)]
    for contract_id, tick in ((MNQ, 0.25), (CL, 0.01)):
        ticks = one.last_price(contract_id) / tick
        assert abs(ticks - round(ticks)) < 1e-6
    assert make(4)[1].step() != make(3)[1].step()


def test_quotes_full_and_partial_and_trade_prints() -> None:
    exchange, market, _ = make()
    quotes, prints = [], []
    for _ in range(100):
        for event in market.step([MNQ]):
            assert event.contract_id == MNQ and event.arguments()[0] == MNQ
            if event.target == "GatewayQuote":
                quotes.append(event.data)
            elif event.target == "GatewayTrade":
                prints.append(event.data)
    full = [q for q in quotes if isinstance(q, dict) and "lastPrice" in q]
    partial = [q for q in quotes if isinstance(q, dict) and "lastPrice" not in q]
    assert full and partial
    assert set(full[0]) == {"symbol", "symbolName", "lastPrice", "bestBid", "bestAsk", "change",
                            "changePercent", "open", "high", "low", "volume", "lastUpdated",
                            "timestamp"}
    assert set(partial[0]) == {"symbol", "bestBid", "bestAsk", "lastUpdated", "timestamp",
                               "contract"}
    assert all(isinstance(p, list) and p[0]["symbolId"] == "F.US.MNQ" for p in prints)
    assert exchange.quote(MNQ).last == market.last_price(MNQ)


def test_market_moves_trigger_resting_orders() -> None:
    exchange, market, _ = make()
    stop = exchange.place_order(DEMO_ACCOUNT_ID, MNQ, 4, 1, 1, stop_price=29490.0)
    market.set_bias(MNQ, -1.0)
    for _ in range(100):
        market.step([MNQ])
    order = exchange.order(stop.order_id or 0)
    assert order is not None and order.status == 2 and (order.filled_price or 0) <= 29490.0


class FastTime:
    """Sleeps advance the clock and the market instead of waiting (4 market steps a second)."""

    def __init__(self, market: MarketSimulator, clock: Clock) -> None:
        self.market, self.clock, self.elapsed = market, clock, 0.0

    async def sleep(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds * 4))):
            self.clock.advance(seconds=0.25)
            self.market.step([MNQ, MES])
        self.elapsed += seconds
        await asyncio.sleep(0)


async def test_demo_trader_trips_the_usual_rules_within_two_minutes() -> None:
    exchange, market, clock = make()
    seen: list[UserEvent] = []
    exchange.subscribe(seen.append)
    fast = FastTime(market, clock)
    trader = DemoTrader(exchange, DEMO_ACCOUNT_ID, market=market, sleep=fast.sleep)
    await trader.run_cycle()
    assert fast.elapsed < 120
    sizes = [e.data["size"] for e in seen if e.target == "GatewayUserPosition"
             and e.data["contractId"] == MNQ]
    assert max(sizes) == 7  # over a max-contracts limit of 5
    pnl = [t.profit_and_loss for t in exchange.trades(DEMO_ACCOUNT_ID)
           if t.profit_and_loss is not None]
    net = sum(pnl) - sum(t.fees for t in exchange.trades(DEMO_ACCOUNT_ID))
    assert sum(1 for p in pnl if p < 0) >= 3
    assert net < -200  # a daily loss of a few hundred dollars
    assert any(o.type == 4 for o in exchange.orders(DEMO_ACCOUNT_ID))  # stops, sometimes
    assert exchange.positions(DEMO_ACCOUNT_ID) == []
    assert exchange.open_orders(DEMO_ACCOUNT_ID) == []  # no orphan stop left working


async def test_demo_trader_survives_a_locked_account_and_keeps_trying() -> None:
    exchange, market, clock = make()
    exchange.set_can_trade(DEMO_ACCOUNT_ID, False)
    fast = FastTime(market, clock)
    trader = DemoTrader(exchange, DEMO_ACCOUNT_ID, market=market, sleep=fast.sleep)
    await trader.run_cycle()
    assert trader.rejected > 0 and exchange.trades(DEMO_ACCOUNT_ID) == []
    exchange.set_can_trade(DEMO_ACCOUNT_ID, True)
    await trader.run_cycle()
    assert exchange.trades(DEMO_ACCOUNT_ID)


async def test_demo_trader_task_runs_until_stopped() -> None:
    exchange, market, _ = make()
    trader = DemoTrader(exchange, DEMO_ACCOUNT_ID, market=market, step_seconds=0.001)
    task = trader.start()
    await asyncio.sleep(0.15)
    assert not task.done() and trader.cycles >= 2
    await trader.stop()
    assert task.cancelled()


def test_unknown_symbol_is_a_clear_error() -> None:
    exchange = SimExchange(contracts=[{"id": "CON.F.US.EP.U26", "name": "ESU6",
                                       "tickSize": 0.25, "tickValue": 12.5}],
                           accounts=[SimAccount(1, "a", 1.0)])
    with pytest.raises(LookupError):
        DemoTrader(exchange, 1)
    assert exchange.contracts["CON.F.US.EP.U26"].symbol_id == "F.US.EP"
