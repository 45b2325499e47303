"""core.gateway.hubs.Hub against the real signalrcore 1.0.2 client and the simulated gateway,
over loopback with real WebSockets. Timings are shrunk through the Hub's constructor and the
sim's ping_interval / client_timeout so the whole file runs in a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from signalrcore.hub.auth_hub_connection import AuthHubConnection
from signalrcore.hub.base_hub_connection import BaseHubConnection
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.transport.websockets.websocket_transport import WebsocketTransport

from core.domain.parse import parse_push
from core.gateway import signalr_fixes
from core.gateway.hubs import MARKET_EVENTS, USER_EVENTS, Hub, HubAuthError, HubState, with_token
from core.sim import DEMO_ACCOUNT_ID, SimulatedGateway

FIXTURES = Path("/work/shared/fixtures/projectx-live")
MNQ = "CON.F.US.MNQ.U26"
FAST = {"keepalive": 0.2, "silence_timeout": 5.0, "connect_timeout": 2.0, "backoff": (0.1, 0.2)}


async def eventually(check: Callable[[], bool], timeout: float = 3.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


class Client:
    """What an app plugs into a Hub: records messages, connections, states, auth failures."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[Any]]] = []
        self.threads: set[int] = set()
        self.connected = 0
        self.states: list[HubState] = []
        self.timeline: list[tuple[float, HubState]] = []
        self.auth_failures = 0
        self.hub: Hub | None = None
        self.subscribe: Callable[[Hub], Awaitable[None]] | None = None
        self.relogin: Callable[[], None] | None = None

    def on_message(self, target: str, arguments: list[Any]) -> None:
        self.threads.add(threading.get_ident())
        self.messages.append((target, arguments))

    async def on_connected(self) -> None:
        self.connected += 1
        if self.subscribe is not None and self.hub is not None:
            await self.subscribe(self.hub)

    def on_state(self, _name: str, state: HubState) -> None:
        self.states.append(state)
        self.timeline.append((time.monotonic(), state))

    async def on_auth_failure(self) -> None:
        self.auth_failures += 1
        if self.relogin is not None:
            self.relogin()

    def targets(self) -> list[str]:
        return [target for target, _ in self.messages]


async def subscribe_user(hub: Hub, account_id: int = DEMO_ACCOUNT_ID) -> None:
    await hub.invoke("SubscribeAccounts", [])
    for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
        await hub.invoke(method, [account_id])


def order(order_id: int = 1, account_id: int = DEMO_ACCOUNT_ID) -> dict[str, Any]:
    return {"id": order_id, "accountId": account_id, "contractId": MNQ, "status": 1, "type": 2,
            "side": 0, "size": 1, "creationTimestamp": "2026-08-19T14:30:00+00:00"}


def subscribed(sim: SimulatedGateway, account_id: int = DEMO_ACCOUNT_ID) -> bool:
    """All of subscribe_user has reached the server (it handles invocations in order)."""
    return any(account_id in conn.subs.trades for conn in sim.user_hub.connections)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedGateway]:
    gateway = SimulatedGateway(market_interval=None, ping_interval=0.5, client_timeout=None)
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def hubs() -> AsyncIterator[Callable[..., Hub]]:
    """Builds hubs wired to a Client and stops every one of them after the test."""
    made: list[Hub] = []

    def make(url: str, token: Callable[[], str | None], client: Client,
             events: Iterable[str] = USER_EVENTS, **options: Any) -> Hub:
        hub = Hub("user" if "/user" in url else "market", url, token, events,
                  client.on_message, client.on_connected, on_state=client.on_state,
                  on_auth_failure=client.on_auth_failure, **{**FAST, **options})
        client.hub = hub
        made.append(hub)
        hub.start()
        return hub

    yield make
    for hub in made:
        await hub.stop()


# --- basics ---------------------------------------------------------------------------------------


def test_with_token_replaces_the_access_token_and_keeps_the_rest() -> None:
    url = with_token("https://rtc.example.com/hubs/user?access_token=old&x=1", "n€w")
    assert url == "https://rtc.example.com/hubs/user?x=1&access_token=n%E2%82%ACw"


async def test_connects_subscribes_and_reports_states(sim: SimulatedGateway, hubs: Any) -> None:
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await eventually(lambda: subscribed(sim), what="subscriptions")
    assert hub.connected and hub.connections_made == 1 and client.connected == 1
    assert client.states == [HubState.CONNECTING, HubState.CONNECTED]
    assert sim.push_user_event("GatewayUserOrder", order(7)) == 1
    await eventually(lambda: client.messages != [], what="the order push")
    ((target, (envelope,)),) = client.messages
    assert target == "GatewayUserOrder" and envelope["data"]["id"] == 7
    hub.start()  # a second start is a no-op: still one connection
    await asyncio.sleep(0.1)
    assert sim.connection_count("user") == 1
    await hub.stop()
    assert hub.state is HubState.STOPPED and client.states[-1] is HubState.STOPPED
    await eventually(lambda: sim.connection_count("user") == 0, what="the server to see the close")
    with pytest.raises(ConnectionError):
        await hub.invoke("SubscribeAccounts", [])


async def test_stop_leaves_no_task_behind(sim: SimulatedGateway, hubs: Any) -> None:
    before = asyncio.all_tasks()
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await eventually(lambda: subscribed(sim), what="subscriptions")
    await asyncio.sleep(0.3)  # watching, pinging
    await hub.stop()

    def leftovers() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() - before
                if not t.done() and t is not asyncio.current_task()]

    # cancelled tasks (and the server's side of the connection) finish within a few turns
    with contextlib.suppress(AssertionError):
        await eventually(lambda: not leftovers(), timeout=1.0)
    assert not leftovers(), [repr(t.get_coro()) for t in leftovers()]


async def test_a_stopped_hub_can_be_started_again(sim: SimulatedGateway, hubs: Any) -> None:
    client = Client()
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await eventually(lambda: hub.connected, what="the first connection")
    await hub.stop()
    hub.start()
    await eventually(lambda: hub.connected and client.connected == 2, what="the restart")
    assert sim.connection_count("user") == 1


async def test_stop_wins_over_an_on_connected_that_swallows_cancellation(
        sim: SimulatedGateway, hubs: Any) -> None:
    client = Client()
    busy = asyncio.Event()

    async def stubborn(_hub: Hub) -> None:
        busy.set()
        with contextlib.suppress(asyncio.CancelledError):  # the caller's code eats it...
            await asyncio.sleep(30)
        await asyncio.sleep(30)  # ...and carries on

    client.subscribe = stubborn
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await asyncio.wait_for(busy.wait(), 3.0)
    started = time.monotonic()
    await hub.stop()
    assert time.monotonic() - started < 1.6 and hub.state is HubState.STOPPED
    await eventually(lambda: sim.connection_count("user") == 0, what="the connection to close")


def connection_ids(sim: SimulatedGateway) -> set[int]:
    return {conn.id for conn in sim.user_hub.connections}


# --- 2 and 7: the app owns reconnection, and re-subscribes on every connection ------------------


async def test_a_dropped_connection_comes_back_with_backoff_and_resubscribes(
        sim: SimulatedGateway, hubs: Any) -> None:
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, sim.issue_token, client, backoff=(0.3,))
    await eventually(lambda: subscribed(sim), what="subscriptions")
    first, first_ids = hub._conn, connection_ids(sim)
    # signalrcore itself would do nothing: no reconnection handler, and its keep-alive is off.
    assert first.transport.reconnection_handler is None
    assert not first.transport.connection_checker.running

    dropped_at = time.monotonic()
    assert sim.drop_connections("user") == 1  # abrupt: no Close message
    await eventually(lambda: client.connected == 2 and subscribed(sim), what="the reconnect")
    assert time.monotonic() - dropped_at >= 0.3  # it waited out the backoff first
    assert hub.connected and hub.connections_made == 2 and hub._conn is not first
    assert HubState.DISCONNECTED in client.states
    new_ids = connection_ids(sim)
    assert len(new_ids) == 1 and not new_ids & first_ids  # the server sees a new connection

    # 7: the subscriptions died with the old connection; on_connected renewed them.
    assert sim.push_user_event("GatewayUserOrder", order(8)) == 1
    await eventually(lambda: "GatewayUserOrder" in client.targets(), what="a push after the drop")


async def test_a_polite_server_close_is_also_reconnected(sim: SimulatedGateway, hubs: Any) -> None:
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await eventually(lambda: subscribed(sim), what="subscriptions")
    assert sim.close_connections("user", error="maintenance") == 1
    await eventually(lambda: client.connected == 2 and subscribed(sim), what="the reconnect")
    assert hub.connected and sim.connection_count("user") == 1


async def test_keeps_retrying_while_the_server_is_down(hubs: Any) -> None:
    port = free_port()
    options = {"port": port, "market_interval": None, "ping_interval": 0.5, "client_timeout": None}
    current = SimulatedGateway(**options)
    await current.start()
    client = Client()
    hub = hubs(current.user_hub_url, lambda: current.issue_token(), client,
               backoff=(0.05, 0.1, 0.2))
    await eventually(lambda: hub.connected, what="the first connection")
    await current.stop()  # connection refused from now on

    def attempts() -> list[float]:
        return [t for t, s in client.timeline if s is HubState.CONNECTING]

    await eventually(lambda: len(attempts()) >= 5, what="repeated attempts")
    assert not hub.connected and client.connected == 1
    gaps = [b - a for a, b in zip(attempts()[1:], attempts()[2:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and all(g >= 0.2 for g in gaps[2:])

    current = SimulatedGateway(**options)  # the server is back, on the same port
    await current.start()
    try:
        await eventually(lambda: hub.connected and client.connected == 2, what="the comeback")
        assert current.connection_count("user") == 1
    finally:
        await hub.stop()
        await current.stop()


def hub_threads(before: Iterable[threading.Thread] = ()) -> list[threading.Thread]:
    """The Hub's worker threads alive now (leaving out those in ``before``)."""
    old = set(before)
    return [t for t in threading.enumerate() if t.name.startswith("hub-user") and t not in old]


async def test_a_server_that_never_answers_the_upgrade_times_out(hubs: Any) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def mute(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept the TCP connection, never answer the HTTP upgrade

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    before = hub_threads()
    client = Client()
    hub = hubs(f"http://127.0.0.1:{port}/hubs/user", lambda: "token", client,
               connect_timeout=0.3, backoff=(0.05,))
    try:
        await eventually(lambda: len(accepted) >= 3, what="retries after the timeouts")
        assert client.connected == 0 and not hub.connected
        started = time.monotonic()
        await hub.stop()
        assert time.monotonic() - started < 0.5
        # every start() that was stuck reading the upgrade answer has been woken and is gone,
        # before the server closed anything
        await eventually(lambda: not hub_threads(before), timeout=1.0,
                         what="the start threads to end")
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_connect_into_a_black_hole_neither_wedges_the_hub_nor_exit(hubs: Any) -> None:
    # A listener whose accept queue is full drops SYNs: connect() blocks, as on a dead route.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    before = hub_threads()
    client = Client()
    port = listener.getsockname()[1]
    hub = hubs(f"http://127.0.0.1:{port}/hubs/user", lambda: "token", client,
               connect_timeout=0.2, backoff=(0.05,))
    try:
        await eventually(lambda: client.states.count(HubState.CONNECTING) >= 3, what="retries")
        stuck = hub_threads(before)
        assert stuck and all(t.daemon for t in stuck)  # they can never hold up interpreter exit
        started = time.monotonic()
        await hub.stop()
        assert time.monotonic() - started < 0.5 and hub.state is HubState.STOPPED
    finally:
        filler.close()
        listener.close()


# --- 3: a failing handler ------------------------------------------------------------------------


async def test_a_failing_on_message_does_not_lose_later_events(
        sim: SimulatedGateway, hubs: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    client.subscribe = subscribe_user
    seen: list[int] = []

    def explosive(target: str, arguments: list[Any]) -> None:
        seen.append(arguments[0]["data"]["id"])
        if len(seen) == 1:
            raise RuntimeError("boom")

    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    hub._on_message = explosive
    await eventually(lambda: subscribed(sim), what="subscriptions")
    receiver = hub._conn.transport._client.recv_thread
    for order_id in (1, 2, 3):
        sim.push_user_event("GatewayUserOrder", order(order_id))
    await eventually(lambda: seen == [1, 2, 3], what="every push")
    assert receiver.is_alive() and hub.connections_made == 1
    assert "GatewayUserOrder handler failed" in caplog.text


# --- 4: keep-alive -------------------------------------------------------------------------------


async def test_keepalive_pings_keep_a_quiet_connection_open(hubs: Any) -> None:
    async with SimulatedGateway(market_interval=None, ping_interval=0.25,
                                client_timeout=0.6) as sim:
        client = Client()
        hub = hubs(sim.user_hub_url, sim.issue_token, client, keepalive=0.15)
        # The same server drops a bare signalrcore connection (no automatic reconnect, so no
        # pings) within a couple of its timeouts.
        bare = bare_connection(sim.user_hub_url, sim.issue_token())
        await asyncio.to_thread(bare.conn.start)
        assert await asyncio.to_thread(bare.opened.wait, 2.0)
        await eventually(lambda: hub.connected, what="the hub")
        await asyncio.sleep(2.4)  # four of the server's timeouts
        assert bare.closed.is_set()
        assert hub.connected and hub.connections_made == 1 and client.connected == 1
        assert sim.connection_count("user") == 1
        signalr_fixes.shut_socket(bare.conn)


class Bare:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.opened = threading.Event()
        self.closed = threading.Event()
        conn.on_open(self.opened.set)
        conn.on_close(self.closed.set)


def bare_connection(url: str, token: str) -> Bare:
    """A signalrcore connection as a plain app would open it: no automatic reconnect."""
    return Bare(HubConnectionBuilder()
                .with_url(with_token(url, token),
                          options={"skip_negotiation": True, "access_token_factory": lambda: token})
                .build())


# --- 5: silence watchdog -------------------------------------------------------------------------


async def test_a_silent_connection_is_rebuilt(hubs: Any, caplog: pytest.LogCaptureFixture) -> None:
    options: dict[str, Any] = {"market_interval": None, "client_timeout": None}
    async with SimulatedGateway(ping_interval=0.3, **options) as talking, \
            SimulatedGateway(ping_interval=None, **options) as silent:
        alive, dead = Client(), Client()
        hub_alive = hubs(talking.user_hub_url, talking.issue_token, alive, silence_timeout=1.0)
        hub_dead = hubs(silent.user_hub_url, silent.issue_token, dead, silence_timeout=1.0)
        await eventually(lambda: hub_alive.connected and hub_dead.connected, what="both hubs")
        first_ids = {conn.id for conn in silent.user_hub.connections}
        started = time.monotonic()
        # A server that says nothing looks, from here, exactly like a half-open TCP connection.
        await eventually(lambda: dead.connected == 2, what="the watchdog rebuild")
        assert time.monotonic() - started > 0.6
        await eventually(lambda: silent.connection_count("user") == 1, what="the old one to go")
        assert not {conn.id for conn in silent.user_hub.connections} & first_ids
        assert "silent for over 1 s" in caplog.text
        # the one hearing server pings was left alone
        assert alive.connected == 1 and hub_alive.connections_made == 1


# --- 6: a new token means a new connection -------------------------------------------------------


async def test_rebuild_reconnects_with_the_new_token(sim: SimulatedGateway, hubs: Any) -> None:
    token = [sim.issue_token()]
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, lambda: token[0], client, backoff=(2.0,))
    await eventually(lambda: subscribed(sim), what="subscriptions")
    old_conn, old_ids = hub._conn, connection_ids(sim)
    old_receiver = old_conn.transport._client.recv_thread

    token[0] = sim.rotate_token()  # the old token is dead; the open socket stays open
    assert sim.connection_count("user") == 1
    started = time.monotonic()
    hub.rebuild()
    await eventually(lambda: client.connected == 2 and subscribed(sim), what="the rebuild")
    assert time.monotonic() - started < 2.0  # a rebuild does not wait out the backoff
    conn = hub._conn
    assert conn is not old_conn and "access_token=" + token[0] in conn.transport.url
    assert conn.headers["Authorization"] == "Bearer " + token[0]
    assert not old_receiver.is_alive()
    await eventually(lambda: sim.connection_count("user") == 1, what="the old connection to go")
    assert not connection_ids(sim) & old_ids and client.auth_failures == 0
    assert sim.push_user_event("GatewayUserOrder", order(9)) == 1
    await eventually(lambda: "GatewayUserOrder" in client.targets(), what="a push")


async def test_a_401_at_the_upgrade_is_an_auth_failure(sim: SimulatedGateway, hubs: Any) -> None:
    token = [sim.issue_token()]
    client = Client()
    hub = hubs(sim.user_hub_url, lambda: token[0], client, backoff=(5.0,))
    errors: list[Exception] = []
    connect = hub._connect

    async def spy() -> None:
        try:
            await connect()
        except Exception as exc:
            errors.append(exc)
            raise

    hub._connect = spy

    def relogin() -> None:  # what the service does: log in again, which triggers a rebuild
        token[0] = sim.issue_token()
        hub.rebuild()

    client.relogin = relogin
    await eventually(lambda: hub.connected, what="the first connection")
    sim.expire_tokens()
    started = time.monotonic()
    hub.rebuild()  # reconnects with the (now expired) token it has: 401 at the upgrade
    await eventually(lambda: client.connected == 2, what="the reconnect after the relogin")
    assert time.monotonic() - started < 5.0  # the relogin's rebuild cut the backoff short
    assert [type(e) for e in errors] == [HubAuthError] and client.auth_failures == 1


async def test_no_token_yet_is_an_auth_failure(sim: SimulatedGateway, hubs: Any) -> None:
    token: list[str | None] = [None]
    client = Client()
    hub = hubs(sim.user_hub_url, lambda: token[0], client, backoff=(0.05,))
    await eventually(lambda: client.auth_failures >= 2, what="auth failures")
    assert sim.connection_count("user") == 0
    token[0] = sim.issue_token()
    await eventually(lambda: hub.connected, what="the connection once a token exists")


# --- 8 and 9: threads ----------------------------------------------------------------------------


async def test_blocking_calls_run_off_the_loop_and_events_arrive_on_it(
        sim: SimulatedGateway, hubs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def spy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append((name, threading.current_thread().name))
            return original(self, *args, **kwargs)
        return run

    monkeypatch.setattr(AuthHubConnection, "start", spy("start", AuthHubConnection.start))
    monkeypatch.setattr(BaseHubConnection, "send", spy("send", BaseHubConnection.send))
    monkeypatch.setattr(BaseHubConnection, "stop", spy("stop", BaseHubConnection.stop))
    monkeypatch.setattr(WebsocketTransport, "send",
                        spy("transport.send", WebsocketTransport.send))

    loop_thread = threading.current_thread()
    client = Client()
    client.subscribe = subscribe_user
    hub = hubs(sim.user_hub_url, sim.issue_token, client)
    await eventually(lambda: subscribed(sim), what="subscriptions")
    receiver = hub._conn.transport._client.recv_thread
    assert receiver.name == "Signalrcore websocket client" and receiver is not loop_thread
    sim.push_user_event("GatewayUserOrder", order(3))
    sim.push_user_event("GatewayUserTrade", {"id": 4, "accountId": DEMO_ACCOUNT_ID})
    await eventually(lambda: len(client.messages) == 2, what="two pushes")
    await asyncio.sleep(0.5)  # a couple of keep-alive pings
    await hub.stop()

    names = {name for name, _ in calls}
    assert {"start", "send", "stop", "transport.send"} <= names
    app_calls = [(name, thread) for name, thread in calls
                 if thread != "Signalrcore websocket client"]  # the handshake, sent by signalrcore
    assert all(thread.startswith("hub-user") for _, thread in app_calls), app_calls
    assert loop_thread.name not in {thread for _, thread in calls}
    assert calls.count(("transport.send", receiver.name)) == 1  # only the handshake
    # 9: every event was handed to the loop's own thread
    assert client.threads == {loop_thread.ident}


# --- the recorded live pushes ------------------------------------------------------------------


async def test_every_recorded_push_arrives_and_parses(sim: SimulatedGateway, hubs: Any) -> None:
    events = json.loads((FIXTURES / "stream_events.json").read_text())
    user, market = Client(), Client()
    account = next(e["arguments"][0]["data"]["accountId"] for e in events
                   if e["target"] == "GatewayUserOrder")
    contracts = sorted({e["arguments"][0] for e in events if e["hub"] == "market"})

    async def subscribe_market(hub: Hub) -> None:
        for contract in contracts:
            for method in ("SubscribeContractQuotes", "SubscribeContractTrades",
                           "SubscribeContractMarketDepth"):
                await hub.invoke(method, [contract])

    user.subscribe = lambda hub: subscribe_user(hub, account)
    market.subscribe = subscribe_market
    market_targets = sorted({e["target"] for e in events if e["hub"] == "market"})
    assert set(MARKET_EVENTS) <= set(market_targets)
    hubs(sim.user_hub_url, sim.issue_token, user)
    hubs(sim.market_hub_url, sim.issue_token, market, market_targets)
    await eventually(lambda: subscribed(sim, account), what="user subscriptions")
    await eventually(lambda: any(set(contracts) <= conn.subs.depth
                                 for conn in sim.market_hub.connections),
                     what="market subscriptions")

    for event in events:
        assert sim.push_event(event["hub"], event["target"], event["arguments"]) == 1
    await eventually(lambda: len(user.messages) + len(market.messages) == len(events),
                     what="every push")
    received = [("user", t, a) for t, a in user.messages] + [
        ("market", t, a) for t, a in market.messages]
    assert sorted(json.dumps(r) for r in received) == sorted(
        json.dumps([e["hub"], e["target"], e["arguments"]]) for e in events)
    for hub_name, target, arguments in received:
        assert parse_push(hub_name, target, arguments), (target, arguments)

