"""The connection going wrong in every way the live gateway does, and protection carrying on."""

from __future__ import annotations

import copy
import logging
from typing import Any, get_args

import pytest

from core.domain.events import (
    AccountEvent,
    DepthEvent,
    MarketTradeEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from core.engine.notices import AccountStatusChanged, EnforcementDone, EnforcementFailed
from core.gateway.hubs import MARKET_EVENTS, USER_EVENTS
from core.sim.server import MalformedKind
from tests.builders import fixture_json
from tests.integration.conftest import StartService
from tests.integration.support import ACCT, BUY, MNQ, SELL, Harness, until

FIXTURE_ACCOUNT = 26282486


async def reduced_to_limit(h: Harness, contract_id: str = MNQ, size: int = 4) -> None:
    """The trader goes over RULE-001's limit of 2; the service must bring it back to 2."""
    before = len(h.of(EnforcementDone))
    h.market(contract_id, BUY, size)
    await until(lambda: h.net(contract_id) == 2, f"{contract_id} reduced from {size} to 2")
    await until(lambda: len(h.of(EnforcementDone)) > before, "the reduction to be confirmed")


async def test_dropped_hubs_reconnect_resubscribe_and_reconcile(harness: Harness) -> None:
    h = harness
    made = (h.service.user_hub.connections_made, h.service.market_hub.connections_made)
    assert h.sim.drop_connections() == 2
    # While the hubs are down the trader opens 4 lots: no push can reach the app (the dropped
    # sockets' subscriptions are gone), so only the reconcile over REST can find it.
    h.market(MNQ, BUY, 4)
    await until(lambda: h.net(MNQ) == 2, "the outage position found by the reconcile and reduced")
    await until(h.protected, "protected again")
    statuses = h.statuses()
    tail = statuses[statuses.index("protected") + 1 :]
    assert tail[:3] == ["reconnecting", "reconciling", "protected"], statuses
    assert h.service.user_hub.connections_made > made[0]
    assert h.service.market_hub.connections_made > made[1]
    # The sim sees fresh subscriptions: the account on the user hub, the held contract's quotes.
    await until(h.subscribed, "user-hub subscriptions on the new connection")
    await until(lambda: h.quotes_subscribed(MNQ), "MNQ quotes subscribed on the new connection")
    # ...and pushes arrive again: a breach that only the stream reports is enforced.
    await reduced_to_limit(h, MNQ, 3)  # 2 + 3 → back to 2
    assert h.positions() == {MNQ: 2}


async def test_a_periodic_reconcile_catches_what_the_stream_missed(
    start_service: StartService,
) -> None:
    h = await start_service(max_contracts={"limit": 2}, reconcile_interval=0.3)
    # The server silently forgets the account's subscriptions (the socket stays up): the stream
    # reports nothing from now on, and only the periodic re-read can see the new position.
    for conn in h.sim.user_hub.connections:
        for chosen in (conn.subs.orders, conn.subs.positions, conn.subs.trades):
            chosen.discard(ACCT)
    h.market(MNQ, BUY, 4)
    await until(lambda: h.net(MNQ) == 2, "the silent position found by a periodic reconcile")
    assert h.protected()


async def test_an_expired_token_is_renewed_and_enforcement_continues(harness: Harness) -> None:
    h = harness
    old = h.service.rest.token
    h.sim.expire_tokens()  # REST answers 401 from now on; open sockets stay open (as live)
    await reduced_to_limit(h)
    assert h.service.rest.token not in (None, old)
    assert not h.of(EnforcementFailed)
    await until(h.protected, "protected after the hubs moved to the new token")
    await until(h.subscribed, "subscribed on the rebuilt connection")


async def test_an_expired_token_and_dropped_hubs_recover_by_logging_in_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO, logger="core.gateway")
    old = h.service.rest.token
    h.sim.expire_tokens()
    h.sim.drop_connections()  # the reconnect now gets 401 at the upgrade
    await until(lambda: h.service.status[ACCT] != "protected", "the outage to be noticed")
    await until(h.protected, "protected again with a new token")
    assert h.service.rest.token not in (None, old)
    await until(h.subscribed, "subscribed again")
    h.market(MNQ, SELL, 3)  # net −3, over the limit of 2
    await until(lambda: h.net(MNQ) == -2, "the short reduced to 2")
    # Both hubs were refused at once: one login serves both (a second would rebuild them again).
    logins = [r for r in caplog.records if r.getMessage().startswith("logged in")]
    assert len(logins) == 1


ALL_KINDS: tuple[MalformedKind, ...] = get_args(MalformedKind)


async def test_malformed_frames_are_survived(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.market(MNQ, BUY, 1)  # holding MNQ: the service subscribes to its quotes
    await until(lambda: h.quotes_subscribed(MNQ), "MNQ quotes subscribed")
    made = (h.service.user_hub.connections_made, h.service.market_hub.connections_made)
    caplog.set_level(logging.WARNING)
    reached = {
        (target, kind): h.sim.push_malformed(target, kind, account_id=ACCT)
        for target in (*USER_EVENTS, "GatewayQuote")  # the app never subscribes to prints
        for kind in ALL_KINDS
    }
    assert all(n == 1 for n in reached.values()), reached
    # A well-formed event after the garbage, on each hub, shows the connection still delivers.
    await reduced_to_limit(h, MNQ, 3)  # 1 + 3 = 4 → back to 2
    h.move(MNQ, h.price(MNQ) + 5)
    await until(lambda: h.service.engine.quotes.mark(MNQ) == h.price(MNQ),
                "a quote after the malformed frames")
    assert h.protected()
    assert (h.service.user_hub.connections_made, h.service.market_hub.connections_made) == made
    assert "reconnecting" not in h.statuses()
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert skipped, "the malformed frames were noticed and logged"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_429s_are_backed_off_and_enforcement_lands(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.WARNING, logger="core.gateway")
    h.sim.inject_rest_failures(429, count=3, path="Position/partialCloseContract")
    await reduced_to_limit(h)
    retries = [r for r in caplog.records if "429" in r.getMessage()]
    assert len(retries) == 3, [r.getMessage() for r in retries]
    # Exactly one reduction reached the exchange: a 429 is refused before execution.
    sells = [o for o in h.sim.exchange.orders(ACCT) if o.side == SELL]
    assert [o.size for o in sells] == [2]
    assert h.protected()


async def test_429s_on_every_endpoint_are_backed_off(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.WARNING, logger="core.gateway")
    h.sim.inject_rest_failures(429, count=3)  # whatever the next three calls are
    await reduced_to_limit(h)
    assert len([r for r in caplog.records if "429" in r.getMessage()]) == 3
    assert not h.of(EnforcementFailed)


def _demo_ids(value: Any) -> Any:
    """The fixture's account id replaced by the demo account's, everywhere."""
    if isinstance(value, dict):
        return {k: (ACCT if k in ("id", "accountId") and v == FIXTURE_ACCOUNT else _demo_ids(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_demo_ids(v) for v in value]
    return value


EXPECTED = {
    "GatewayUserAccount": AccountEvent,
    "GatewayUserOrder": OrderEvent,
    "GatewayUserPosition": PositionEvent,
    "GatewayUserTrade": TradeEvent,
    "GatewayQuote": QuoteEvent,
    "GatewayTrade": MarketTradeEvent,
    "GatewayDepth": DepthEvent,
}


@pytest.mark.parametrize("rewrite", [True, False], ids=["demo-account", "as-recorded"])
async def test_every_recorded_stream_event_is_parsed(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    rewrite: bool,
) -> None:
    h = harness
    handled: list[Any] = []
    engine_handle = h.service.engine.handle

    def spy(event: Any) -> None:
        handled.append(event)
        engine_handle(event)

    monkeypatch.setattr(h.service.engine, "handle", spy)
    caplog.set_level(logging.WARNING)
    entries = fixture_json("stream_events.json")
    listened = set(USER_EVENTS) | set(MARKET_EVENTS)
    for entry in entries:
        arguments = _demo_ids(entry["arguments"]) if rewrite else copy.deepcopy(entry["arguments"])
        sent = h.sim.push_event(entry["hub"], entry["target"], arguments, subscribed_only=False)
        assert sent == 1, entry["target"]
        if entry["target"] not in listened:
            continue  # not subscribed by the app (depth): signalrcore drops it quietly
        expected = EXPECTED[entry["target"]]
        await until(lambda e=expected: any(type(x) is e for x in handled),  # type: ignore[misc]
                    f"{entry['target']} to reach the engine as {expected.__name__}")
    kinds = {type(e) for e in handled}
    assert kinds >= {EXPECTED[t] for t in listened}
    if rewrite:
        assert any(type(e) is TradeEvent and e.account_id == ACCT and e.trade_id == 3004518356
                   for e in handled)
    problems = [r.getMessage() for r in caplog.records
                if "malformed" in r.getMessage() or r.levelno >= logging.ERROR]
    assert problems == []
    assert h.protected()
    assert not [n for n in h.of(AccountStatusChanged) if n.status == "reconnecting"]


async def test_prices_from_before_a_market_outage_are_forgotten(harness: Harness) -> None:
    from core.domain.events import QuoteEvent

    engine = harness.service.engine
    engine.handle(QuoteEvent("CON.F.US.MES.U26", last_price=5000.0))
    assert engine.quotes.mark("CON.F.US.MES.U26") == 5000.0
    harness.sim.drop_connections()
    # A mark that old must never decide an open-loss close after the reconnect.
    await until(lambda: engine.quotes.mark("CON.F.US.MES.U26") is None, "the stale price forgotten")
