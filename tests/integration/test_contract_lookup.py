"""A contract the app did not load at start is looked up at the gateway (``Contract/searchById``)
before any per-symbol rule decides on it, then judged as its symbol at once.

ES's contract id is ``CON.F.US.EP.U26``: named from the id it would be "EP". The simulated
gateway leaves ES out of ``Contract/available`` while the service starts (as a contract listed
after the start would be), then lets the trader trade it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from core.engine.notices import BreachDetected
from core.sim.server import SimulatedGateway
from tests.integration.conftest import StartService
from tests.integration.support import ACCT, BUY, until

ES = "CON.F.US.EP.U26"


@contextmanager
def not_listed_at_start(sim: SimulatedGateway, contract_id: str) -> Iterator[None]:
    """Left out of ``Contract/available`` (still found by ``Contract/searchById``)."""
    contracts = sim.exchange.contracts
    listed = contracts[contract_id]
    contracts[contract_id] = dataclasses.replace(listed, active=False)
    try:
        yield
    finally:
        contracts[contract_id] = listed


async def test_an_es_position_is_judged_as_es_not_as_its_id(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    with not_listed_at_start(sim, ES):
        h = await start_service(
            max_contracts_per_instrument={"limits": {"ES": 2}, "unknown_symbol": "block"}
        )
    engine = h.service.engine
    assert ES not in engine.contracts
    h.market(ES, BUY, 1)
    await until(lambda: ES in engine.mirror.account(ACCT).positions, "the app to see the ES position")
    await until(lambda: ES in engine.contracts, "ES to be looked up at the gateway")
    await asyncio.sleep(0.3)  # time for a wrong close to reach the exchange
    assert h.net(ES) == 1  # 1 ES of 2 is allowed: never closed as an unlisted "EP"
    assert [n for n in h.of(BreachDetected) if n.rule_id == "RULE-002"] == []
    h.market(ES, BUY, 2)
    await until(lambda: h.net(ES) == 2, "the excess ES contract to be closed")


async def test_a_blocked_symbol_is_closed_once_the_gateway_names_it(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    with not_listed_at_start(sim, ES):
        h = await start_service(symbol_blocks={"symbols": ["ES"]})
    engine = h.service.engine
    h.market(ES, BUY, 1)
    await until(lambda: h.net(ES) == 0, "the ES position to be closed")
    assert ES in engine.contracts
    assert [lock.symbol for lock in engine.lockouts.symbol_locks(ACCT)] == ["ES"]


async def test_a_contract_the_gateway_does_not_know_is_an_unlisted_symbol(
    start_service: StartService, sim: SimulatedGateway
) -> None:
    h = await start_service(
        max_contracts_per_instrument={"limits": {"ES": 2}, "unknown_symbol": "block"}
    )
    unknown = "CON.F.US.NOPE.Z99"
    # A position the gateway reports on a contract it cannot describe.
    sim.push_user_event("GatewayUserPosition", {
        "id": 991, "accountId": ACCT, "contractId": unknown, "creationTimestamp": "2026-08-19T15:00:00+00:00",
        "type": 1, "size": 1, "averagePrice": 10.0,
    })
    [breach, *_] = await until(
        lambda: [n for n in h.of(BreachDetected) if n.rule_id == "RULE-002"],
        "the unknown contract to be judged as an unlisted symbol",
    )
    assert breach.reason == "1 NOPE (unknown to the gateway) contracts open, limit 0"
    assert unknown not in h.service.engine.contracts
