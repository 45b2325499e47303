"""The enforcement executor against the embedded simulated gateway, over real loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.commands import CancelOrder, CloseContract, Flatten, ModifyStop, PartialClose
from core.enforcement.executor import EnforcementExecutor
from core.engine.notices import EnforcementDone
from core.gateway.rest import GatewayRest
from core.modules.enforcement_log import EnforcementLog, EnforcementRecord
from core.sim import DEMO_ACCOUNT_ID, DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from tests.sim.support import Clock

MNQ = "CON.F.US.MNQ.U26"
MES = "CON.F.US.MES.U26"
MARKET, LIMIT, STOP = 2, 1, 4
BUY, SELL = 0, 1
ACCT = DEMO_ACCOUNT_ID


class Store:
    def __init__(self) -> None:
        self.records: list[EnforcementRecord] = []

    def log_enforcement(self, record: EnforcementRecord) -> None:
        self.records.append(record)


async def no_wait(delay: float) -> None:
    await asyncio.sleep(0)


class Setup:
    def __init__(self, gw: SimulatedGateway, rest: GatewayRest) -> None:
        self.gw = gw
        self.rest = rest
        self.store = Store()
        self.bus = EventBus()
        self.notices: list[Any] = []
        self.bus.subscribe(self.notices.append)
        self.executor = EnforcementExecutor(
            rest,
            self.bus,
            EnforcementLog(self.store),
            ManualClock(datetime(2026, 8, 19, 15, 0, tzinfo=UTC)),
            sleep=no_wait,
        )

    def buy(self, contract: str, size: int, side: int = BUY) -> None:
        result = self.gw.exchange.place_order(ACCT, contract, MARKET, side, size)
        assert result.success, result

    def order(self, contract: str, type: int, side: int, **prices: float) -> int:
        result = self.gw.exchange.place_order(ACCT, contract, type, side, 1, **prices)
        assert result.success, result
        assert result.order_id is not None
        return int(result.order_id)

    def net(self, contract: str) -> int:
        position = self.gw.exchange.position(ACCT, contract)
        return 0 if position is None else int(position.net)

    async def run(self, *commands: Any) -> None:
        for command in commands:
            self.executor.submit(command)
        await asyncio.wait_for(self.executor.drain(), 10)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    gw = SimulatedGateway(now=Clock(), market_interval=None, ping_interval=None)
    await gw.start()
    rest = GatewayRest(gw.base_url, DEMO_USERNAME, DEMO_API_KEY, sleep=no_wait)
    try:
        await rest.login()
        gw.set_market_price(MNQ, 21000.0)
        gw.set_market_price(MES, 6000.0)
        yield Setup(gw, rest)
    finally:
        await rest.aclose()
        await gw.stop()


async def test_flatten_closes_and_cancels_mirror_and_rest_only_items(setup: Setup) -> None:
    setup.buy(MNQ, 2)
    setup.buy(MES, 1, SELL)
    limit = setup.order(MNQ, LIMIT, BUY, limit_price=20000.0)
    stop = setup.order(MNQ, STOP, SELL, stop_price=20500.0)
    command = Flatten(
        account_id=ACCT,
        rule_id="RULE-003",
        reason="daily loss",
        contract_ids=(MNQ,),  # the mirror knew MNQ and the limit only
        order_ids=(limit,),
    )
    await setup.run(command)
    assert setup.gw.exchange.positions(ACCT) == []
    assert setup.gw.exchange.open_orders(ACCT) == []
    [record] = setup.store.records
    assert record.outcome == "done"
    assert record.details["closed"] == sorted([MNQ, MES])
    assert record.details["cancelled"] == sorted([limit, stop])
    assert len([n for n in setup.notices if isinstance(n, EnforcementDone)]) == 1


async def test_close_partial_cancel_and_already_flat(setup: Setup) -> None:
    setup.buy(MNQ, 5)
    setup.buy(MES, 2)
    limit = setup.order(MES, LIMIT, BUY, limit_price=5000.0)
    base = {"account_id": ACCT, "rule_id": "RULE-002", "reason": "test"}
    await setup.run(PartialClose(**base, contract_id=MNQ, size=2))
    assert setup.net(MNQ) == 3
    await setup.run(CloseContract(**base, contract_id=MES), CancelOrder(**base, order_id=limit))
    assert setup.net(MES) == 0
    assert setup.gw.exchange.open_orders(ACCT) == []
    # PositionNotFound and OrderNotFound from the simulator count as done.
    await setup.run(CloseContract(**base, contract_id=MES), CancelOrder(**base, order_id=limit))
    assert [r.outcome for r in setup.store.records] == ["done"] * 5


async def test_http_failures_on_a_close_are_reconciled_and_retried(setup: Setup) -> None:
    setup.buy(MNQ, 2)
    # A 500 on a close is ambiguous (not resent by the client): the executor re-reads, sees
    # the position still there and sends again; a 429 is the client's own retry.
    setup.gw.inject_rest_failures(500, 1, "Position/closeContract")
    setup.gw.inject_rest_failures(429, 1, "Position/closeContract")
    await setup.run(
        CloseContract(account_id=ACCT, rule_id="RULE-004", reason="loss", contract_id=MNQ)
    )
    assert setup.net(MNQ) == 0
    assert [r.outcome for r in setup.store.records] == ["retry", "done"]
    assert "AmbiguousResult" in setup.store.records[0].details["error"]


async def test_modify_stop_moves_the_stop(setup: Setup) -> None:
    setup.buy(MNQ, 1)
    stop = setup.order(MNQ, STOP, SELL, stop_price=20500.0)
    await setup.run(
        ModifyStop(
            account_id=ACCT,
            rule_id="RULE-012",
            reason="breakeven",
            order_id=stop,
            contract_id=MNQ,
            stop_price=20750.0,
        )
    )
    order = setup.gw.exchange.order(stop)
    assert order is not None and order.stop_price == 20750.0
    assert [r.outcome for r in setup.store.records] == ["done"]
