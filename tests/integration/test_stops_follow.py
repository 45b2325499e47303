"""SPEC, stops follow the position, end to end on the simulated gateway: when the app cuts a
position back, the trader's working stop larger than what is left is reduced to what is left
(over REST, confirmed by the exchange), so it can never open a position the other way."""

from __future__ import annotations

from core.sim.models import STOP
from tests.integration.support import ACCT, BUY, MNQ, SELL, Harness, until


async def test_a_stop_larger_than_what_remains_is_cut_to_it(harness: Harness) -> None:
    # max_contracts is 2 in this harness. The trader holds 2 with a stop for 2, then adds 2.
    harness.market(MNQ, BUY, 2)
    stop = harness.sim.exchange.place_order(ACCT, MNQ, STOP, SELL, 2,
                                            stop_price=harness.price(MNQ) - 40)
    assert stop.success and stop.order_id is not None
    await until(lambda: stop.order_id in harness.service.engine.mirror.account(ACCT).orders,
                "the service to see the stop")
    # The stop covers 2 of 4 → after the cut the position is 2 again: the stop still fits.
    harness.market(MNQ, BUY, 2)
    await until(lambda: harness.net(MNQ) == 2, "MNQ cut back to 2")
    working = {o.id: o.size for o in harness.sim.exchange.open_orders(ACCT)}
    assert working.get(stop.order_id) == 2
    # Now the trader sells 1 by hand and the stop is larger than the 1 left: it is cut to 1.
    harness.market(MNQ, SELL, 1)
    await until(
        lambda: {o.id: o.size for o in harness.sim.exchange.open_orders(ACCT)}.get(stop.order_id) == 1,
        "the stop cut to the one contract left",
    )
    assert harness.net(MNQ) == 1
