"""core.gateway.signalr_fixes: each signalrcore 1.0.2 workaround, shown against the real library
and the simulated gateway over loopback (the numbers follow the module docstring)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, get_args

import pytest
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.messages.message_type import MessageType
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.transport.sockets.base_socket_client import BaseSocketClient

from core.gateway import signalr_fixes
from core.gateway.hubs import USER_EVENTS, Hub, HubState, with_token
from core.gateway.signalr_fixes import TolerantJsonHubProtocol, guarded
from core.sim import DEMO_ACCOUNT_ID, SimulatedGateway
from core.sim.server import MalformedKind

RS = "\x1e"
RECEIVER = "Signalrcore websocket client"


async def eventually(check: Callable[[], bool], timeout: float = 3.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


class Bare:
    """A signalrcore connection built the way the Hub builds one, driven by hand."""

    def __init__(self, url: str, token: str, protocol: Any = None) -> None:
        self.token = token
        self.protocol = protocol or TolerantJsonHubProtocol()
        self.conn = (
            HubConnectionBuilder()
            .with_url(with_token(url, token),
                      options={"skip_negotiation": True, "access_token_factory": lambda: token})
            .with_hub_protocol(self.protocol)
            .build()
        )
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.conn.on_open(self.opened.set)
        self.conn.on_close(self.closed.set)

    async def start(self) -> None:
        await asyncio.to_thread(self.conn.start)
        assert await asyncio.to_thread(self.opened.wait, 3.0), "never opened"

    @property
    def client(self) -> Any:
        return self.conn.transport._client

    @property
    def receiver(self) -> threading.Thread:
        thread: threading.Thread = self.client.recv_thread
        return thread

    def close(self) -> None:
        signalr_fixes.shut_socket(self.conn)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedGateway]:
    # No server pings: an idle connection's receive thread sits blocked in recv().
    gateway = SimulatedGateway(market_interval=None, ping_interval=None, client_timeout=None)
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
async def bare(sim: SimulatedGateway) -> AsyncIterator[Callable[..., Bare]]:
    made: list[Bare] = []

    def make(protocol: Any = None) -> Bare:
        connection = Bare(sim.user_hub_url, sim.issue_token(), protocol)
        made.append(connection)
        return connection

    yield make
    for connection in made:
        connection.close()


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[Any]]] = []
        self.connected = 0

    def on_message(self, target: str, arguments: list[Any]) -> None:
        self.messages.append((target, arguments))

    async def on_connected(self) -> None:
        self.connected += 1


def make_hub(sim: SimulatedGateway, recorder: Recorder, subscribe: bool = True,
             token: Callable[[], str | None] | None = None) -> Hub:
    hub: Hub

    async def on_connected() -> None:
        await recorder.on_connected()
        if subscribe:
            await hub.invoke("SubscribeAccounts", [])
            for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
                await hub.invoke(method, [DEMO_ACCOUNT_ID])

    hub = Hub("user", sim.user_hub_url, token or sim.issue_token, USER_EVENTS,
              recorder.on_message, on_connected, keepalive=0.2, silence_timeout=5.0,
              connect_timeout=2.0, backoff=(0.1,))
    return hub


def subscribed(sim: SimulatedGateway) -> bool:
    return any(DEMO_ACCOUNT_ID in conn.subs.trades for conn in sim.user_hub.connections)


def test_apply_patches_the_library_once() -> None:
    signalr_fixes.apply()
    patched = BaseSocketClient.dispose
    signalr_fixes.apply()
    assert BaseSocketClient.dispose is patched is signalr_fixes._dispose_without_hanging
    assert signalr_fixes.LIBRARY_DISPOSE is not patched


# --- 1: stop() must not hang -------------------------------------------------------------------


async def test_the_library_dispose_hangs_on_a_receive_thread_blocked_in_recv(
        sim: SimulatedGateway, bare: Callable[..., Bare]) -> None:
    connection = bare()
    await connection.start()
    receiver = connection.receiver
    await asyncio.sleep(0.1)  # the server says nothing: the receive thread is blocked in recv()
    disposer = threading.Thread(target=signalr_fixes.LIBRARY_DISPOSE, args=(connection.client,),
                                name="library-dispose", daemon=True)
    disposer.start()
    await asyncio.to_thread(disposer.join, 0.5)
    # close() alone did not wake recv(), so the join inside dispose() is still waiting
    assert disposer.is_alive() and receiver.is_alive()
    assert sim.drop_connections() == 1  # only the server going away frees it
    await asyncio.to_thread(disposer.join, 2.0)
    assert not disposer.is_alive() and not receiver.is_alive()


async def test_the_patched_stop_returns_at_once(sim: SimulatedGateway,
                                               bare: Callable[..., Bare]) -> None:
    signalr_fixes.apply()
    connection = bare()
    await connection.start()
    receiver = connection.receiver
    await asyncio.sleep(0.1)
    assert receiver.is_alive()
    started = time.monotonic()
    await asyncio.to_thread(connection.conn.stop)
    assert time.monotonic() - started < 0.2
    assert not receiver.is_alive() and connection.closed.is_set()
    await eventually(lambda: sim.connection_count() == 0, what="the server to see the close")


async def test_the_patched_dispose_gives_up_on_a_receive_thread_stuck_in_a_handler(
        sim: SimulatedGateway, bare: Callable[..., Bare],
        monkeypatch: pytest.MonkeyPatch) -> None:
    signalr_fixes.apply()
    monkeypatch.setattr(signalr_fixes, "JOIN_TIMEOUT", 0.2)
    inside, release = threading.Event(), threading.Event()

    def slow(_arguments: Any) -> None:
        inside.set()
        release.wait(5.0)

    connection = bare()
    connection.conn.on("GatewayUserTrade", slow)
    await connection.start()
    sim.push_event("user", "GatewayUserTrade", [{}], subscribed_only=False)
    assert await asyncio.to_thread(inside.wait, 2.0)
    receiver = connection.receiver
    started = time.monotonic()
    await asyncio.to_thread(connection.conn.stop)  # the join times out instead of waiting
    assert time.monotonic() - started < 0.5
    assert receiver.is_alive()  # still in the handler: abandoned, not waited on
    release.set()
    await asyncio.to_thread(receiver.join, 2.0)
    assert not receiver.is_alive()  # and it ends once the handler returns (socket shut down)


async def test_hub_stop_returns_at_once_while_the_receive_thread_is_blocked(
        sim: SimulatedGateway) -> None:
    hub = make_hub(sim, Recorder())
    hub.start()
    await eventually(lambda: subscribed(sim), what="subscriptions")
    receiver = hub._conn.transport._client.recv_thread
    await asyncio.sleep(0.1)
    assert receiver.is_alive()
    started = time.monotonic()
    await hub.stop()
    assert time.monotonic() - started < 0.3
    assert hub.state is HubState.STOPPED and not receiver.is_alive()
    await eventually(lambda: sim.connection_count() == 0, what="the server to see the close")


def test_shut_socket_tolerates_anything() -> None:
    signalr_fixes.shut_socket(None)
    signalr_fixes.shut_socket(object())
    connection = Bare("http://127.0.0.1:9/hubs/user", "token")
    signalr_fixes.shut_socket(connection.conn)  # never started: no transport, no socket


async def test_shut_socket_frees_a_connection_signalrcore_thinks_is_gone(
        sim: SimulatedGateway, bare: Callable[..., Bare]) -> None:
    connection = bare()
    await connection.start()
    sim.drop_connections()
    assert await asyncio.to_thread(connection.closed.wait, 2.0)
    sock = connection.client.sock
    connection.conn.stop()  # a no-op once the transport is "disconnected"...
    assert sock.fileno() != -1  # ...which leaves the socket open
    signalr_fixes.shut_socket(connection.conn)
    assert sock.fileno() == -1


# --- 3: a failing handler ------------------------------------------------------------------------


async def test_guarded_handlers_keep_the_receive_thread_alive(
        sim: SimulatedGateway, bare: Callable[..., Bare],
        caplog: pytest.LogCaptureFixture) -> None:
    calls = {"raw": 0, "guarded": 0}

    def failing(name: str) -> Callable[[Any], None]:
        def handler(_arguments: Any) -> None:
            calls[name] += 1
            raise RuntimeError("handler bug")
        return handler

    raw, safe = bare(), bare()
    raw.conn.on("GatewayUserTrade", failing("raw"))
    safe.conn.on("GatewayUserTrade", guarded("GatewayUserTrade", failing("guarded")))
    await asyncio.gather(raw.start(), safe.start())
    arguments = [{"action": 0, "data": {"id": 1, "accountId": DEMO_ACCOUNT_ID}}]

    assert sim.push_event("user", "GatewayUserTrade", arguments, subscribed_only=False) == 2
    await eventually(lambda: calls == {"raw": 1, "guarded": 1}, what="both handlers")
    # unguarded: the exception escaped into signalrcore's receive loop and ended it
    assert await asyncio.to_thread(raw.closed.wait, 2.0)
    await eventually(lambda: not raw.receiver.is_alive(), what="the raw receive thread to die")
    # guarded: logged, and the connection carries on delivering
    assert safe.receiver.is_alive() and not safe.closed.is_set()
    assert "handler for GatewayUserTrade failed" in caplog.text
    # The server still thinks both are up (the dead one's socket is open, just never read):
    # from here on the unguarded connection silently loses every event.
    assert sim.push_event("user", "GatewayUserTrade", arguments, subscribed_only=False) == 2
    await eventually(lambda: calls["guarded"] == 2, what="a later event on the guarded one")
    await asyncio.sleep(0.05)
    assert calls["raw"] == 1


def test_guarded_passes_arguments_and_swallows_errors(caplog: pytest.LogCaptureFixture) -> None:
    got: list[Any] = []
    guarded("X", got.append)([1, 2])
    assert got == [[1, 2]]
    guarded("X", lambda _args: 1 / 0)([3])  # does not raise
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)


# --- 5 and the malformed-record fix: the tolerant protocol ---------------------------------------


def test_the_library_protocol_raises_on_one_malformed_record() -> None:
    with pytest.raises(json.JSONDecodeError):
        JsonHubProtocol().parse_messages('{"type":6}' + RS + '{"type":1,"targ' + RS)


def test_tolerant_protocol_skips_malformed_records_and_stamps_inbound(
        caplog: pytest.LogCaptureFixture) -> None:
    protocol = TolerantJsonHubProtocol()
    protocol.last_inbound = 0.0
    frame = RS.join([
        '{"type":1,"target":"GatewayUserTrade","arguments":[{"act',  # cut short
        '["not", "an", "object"]',
        '"bare string"',
        '{"type":99}',  # no such message type
        "{}",  # empty: ignored, as the library does
        '{"type":1,"target":"GatewayUserTrade","arguments":[1]}',
        '{"type":6}',
    ]) + RS
    before = time.monotonic()
    messages = protocol.parse_messages(frame)
    assert [m.type for m in messages] == [MessageType.invocation, MessageType.ping]
    assert messages[0].target == "GatewayUserTrade" and messages[0].arguments == [1]
    assert protocol.skipped == 4
    assert protocol.last_inbound >= before  # 5: any frame counts as a sign of life
    assert caplog.text.count("skipped a malformed hub message") == 4

    protocol.last_inbound = 0.0
    assert [m.type for m in protocol.parse_messages('{"type":6}' + RS)] == [MessageType.ping]
    assert protocol.last_inbound >= before  # a bare server ping stamps it too


async def test_malformed_frames_are_skipped_and_the_connection_stays_up(
        sim: SimulatedGateway) -> None:
    recorder = Recorder()
    hub = make_hub(sim, recorder)
    hub.start()
    try:
        await eventually(lambda: subscribed(sim), what="subscriptions")
        protocol = hub._protocol
        assert protocol is not None
        kinds: tuple[MalformedKind, ...] = get_args(MalformedKind)
        for kind in kinds:
            assert sim.push_malformed("GatewayUserTrade", kind, account_id=DEMO_ACCOUNT_ID) == 1
        good = {"id": 5, "accountId": DEMO_ACCOUNT_ID, "price": 1.0}
        assert sim.push_user_event("GatewayUserTrade", good, action=0) == 1
        await eventually(lambda: any(args == [{"action": 0, "data": good}]
                                     for _, args in recorder.messages), what="the good event")
        assert protocol.skipped == 1  # only the frame that was not JSON at all
        # The rest are well-formed SignalR: they reach the app, whose parser decides.
        assert [args for _, args in recorder.messages] == [
            [{"action": 0, "data": "not-an-object"}], ["not-an-object"], [],
            [{"action": 0, "data": good}]]
        assert hub.connected and hub.connections_made == 1 and recorder.connected == 1
        assert sim.connection_count("user") == 1
    finally:
        await hub.stop()


# --- 10: logging -------------------------------------------------------------------------------


async def test_the_library_logger_is_capped_and_gets_no_handler(
        sim: SimulatedGateway, caplog: pytest.LogCaptureFixture) -> None:
    library = logging.getLogger("SignalRCoreClient")
    token = sim.issue_token()
    recorder = Recorder()
    hub = make_hub(sim, recorder, token=lambda: token)  # Hub() applies the fixes
    caplog.set_level(logging.DEBUG)  # the app logging everything of its own at DEBUG
    hub.start()
    await eventually(lambda: subscribed(sim), what="subscriptions")
    sim.push_user_event("GatewayUserTrade", {"id": 6, "accountId": DEMO_ACCOUNT_ID}, action=0)
    await eventually(lambda: bool(recorder.messages), what="a push")
    await hub.stop()
    assert library.level == logging.WARNING and library.handlers == [] and library.propagate
    assert not [r for r in caplog.records if r.name == library.name and r.levelno < logging.WARNING]
    assert token not in caplog.text

    # Uncapped, the library logs the URL with the token and the JWT itself at DEBUG.
    caplog.set_level(logging.DEBUG, logger=library.name)
    connection = Bare(sim.user_hub_url, token)
    await connection.start()
    await asyncio.to_thread(connection.conn.stop)
    assert token in caplog.text
    assert library.handlers == []


def test_quiet_logging_caps_a_logger_someone_opened_up() -> None:
    library = logging.getLogger("SignalRCoreClient")
    level = library.level
    try:
        library.setLevel(logging.DEBUG)
        signalr_fixes.quiet_logging()
        assert library.level == logging.WARNING and library.handlers == []
    finally:
        library.setLevel(level)


# --- thread names the Hub relies on ------------------------------------------------------------


async def test_callbacks_come_from_the_library_receive_thread(bare: Callable[..., Bare],
                                                             sim: SimulatedGateway) -> None:
    threads: list[str] = []
    connection = bare()
    connection.conn.on("GatewayUserTrade", lambda _a: threads.append(
        threading.current_thread().name))
    await connection.start()
    sim.push_event("user", "GatewayUserTrade", [{}], subscribed_only=False)
    await eventually(lambda: bool(threads), what="the callback")
    assert threads == [RECEIVER] and connection.receiver.name == RECEIVER
    await asyncio.to_thread(connection.conn.stop)
