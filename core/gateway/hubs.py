"""One SignalR hub connection, owned and reconnected by the app (never by signalrcore).

The Hub keeps a connection up: connect → ``on_connected`` (the caller re-subscribes and
reconciles over REST) → watch it (keep-alive pings out, silence watchdog in) → on loss,
back off and build a brand-new connection. Messages are handed to the asyncio loop. See
:mod:`core.gateway.signalr_fixes` for why each part is shaped the way it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.messages.ping_message import PingMessage

from core.gateway import signalr_fixes
from core.gateway.signalr_fixes import TolerantJsonHubProtocol, guarded

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_EVENTS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")
MARKET_EVENTS = ("GatewayQuote", "GatewayTrade")

DEFAULT_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)


class HubState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


class HubAuthError(ConnectionError):
    """The hub refused the token (HTTP 401 at the upgrade)."""


def with_token(url: str, token: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "access_token"]
    query.append(("access_token", token))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class Hub:
    def __init__(
        self,
        name: str,
        url: str,
        token: Callable[[], str | None],
        events: Iterable[str],
        on_message: Callable[[str, list[Any]], None],
        on_connected: Callable[[], Awaitable[None]],
        *,
        on_state: Callable[[str, HubState], None] | None = None,
        on_auth_failure: Callable[[], Awaitable[None]] | None = None,
        keepalive: float = 10.0,
        silence_timeout: float = 40.0,
        connect_timeout: float = 10.0,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
    ) -> None:
        signalr_fixes.apply()
        self.name = name
        self.url = url
        self._token = token
        self._events = tuple(events)
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_state = on_state
        self._on_auth_failure = on_auth_failure
        self.keepalive = keepalive
        self.silence_timeout = silence_timeout
        self.connect_timeout = connect_timeout
        self.backoff = tuple(backoff)
        self.state = HubState.DISCONNECTED
        self.connections_made = 0
        self._conn: Any = None
        self._protocol: TolerantJsonHubProtocol | None = None
        self._closed: asyncio.Event | None = None
        self._rebuild = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pinger: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"hub-{self.name}")

    def rebuild(self) -> None:
        """Reconnect with a fresh connection (after a token refresh: the old one kept the old token)."""
        self._rebuild.set()

    def drop(self) -> None:
        """Treat the connection as lost now (tests; the watchdog uses the same path)."""
        if self._closed is not None:
            self._closed.set()

    async def stop(self) -> None:
        """Never hangs: the connection is torn down with a timeout, then abandoned if need be."""
        task, self._task = self._task, None
        while task is not None and not task.done():
            # Ask again if a cancellation got swallowed further down (on_connected is the
            # caller's code; asyncio.wait_for on 3.11 can lose one too).
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
        await self._teardown()
        self._set_state(HubState.STOPPED)

    @property
    def connected(self) -> bool:
        return self.state is HubState.CONNECTED

    async def invoke(self, method: str, arguments: list[Any]) -> None:
        conn = self._conn
        if conn is None or not self.connected:
            raise ConnectionError(f"{self.name} hub is not connected")
        await self._blocking(conn.send, method, arguments)

    # --- the supervisor ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        failures = 0
        while True:
            self._set_state(HubState.CONNECTING)
            try:
                await self._connect()
                self._set_state(HubState.CONNECTED)
                await self._on_connected()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._teardown()
                self._set_state(HubState.DISCONNECTED)
                delay = self.backoff[min(failures, len(self.backoff) - 1)]
                failures += 1
                log.warning("%s hub: connection failed (%s); retrying in %.1f s", self.name, exc, delay)
                if isinstance(exc, HubAuthError) and self._on_auth_failure is not None:
                    with contextlib.suppress(Exception):
                        await self._on_auth_failure()
                await self._sleep_or_rebuild(delay)
                continue
            failures = 0
            why = await self._watch()
            log.warning("%s hub: connection %s; reconnecting", self.name, why)
            await self._teardown()
            self._set_state(HubState.DISCONNECTED)
            if why != "rebuilt for a new token":
                await self._sleep_or_rebuild(self.backoff[0])

    async def _sleep_or_rebuild(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._rebuild.wait()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        token = self._token()
        if not token:
            raise HubAuthError("no token yet")
        self._rebuild.clear()
        opened = asyncio.Event()
        closed = asyncio.Event()
        self._closed = closed
        protocol = TolerantJsonHubProtocol()

        def threadsafe(fn: Callable[[], Any]) -> Callable[..., None]:
            def call(*_: Any) -> None:
                with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                    loop.call_soon_threadsafe(fn)

            return call

        conn = (
            HubConnectionBuilder()
            .with_url(
                with_token(self.url, token),
                options={"skip_negotiation": True, "access_token_factory": lambda: token},
            )
            .with_hub_protocol(protocol)
            .build()
        )
        conn.on_open(threadsafe(opened.set))
        conn.on_close(threadsafe(closed.set))
        for event in self._events:
            conn.on(event, guarded(event, self._handoff(loop, event)))
        self._conn, self._protocol = conn, protocol
        deadline = loop.time() + self.connect_timeout
        # start() blocks through the TCP connect and the HTTP upgrade; a server that accepts and
        # never answers would hold it forever, so it gets the same deadline as the handshake
        # (the teardown then shuts the socket down, which frees the thread).
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._blocking(self._start_within_deadline, conn)
        except TimeoutError:
            raise ConnectionError(f"{self.name} hub: no upgrade within {self.connect_timeout:g} s") from None
        except Exception as exc:
            if "401" in str(exc):
                raise HubAuthError(f"{self.name} hub refused the token") from None
            raise
        try:
            async with asyncio.timeout_at(deadline):
                await opened.wait()
        except TimeoutError:
            raise ConnectionError(f"{self.name} hub: no handshake within {self.connect_timeout:g} s") from None
        self.connections_made += 1
        # Pings start now, not after on_connected: a slow re-subscribe/reconcile must not let
        # the server drop a connection that has said nothing yet.
        self._pinger = loop.create_task(self._ping(conn, closed), name=f"hub-{self.name}-ping")

    def _start_within_deadline(self, conn: Any) -> None:
        # The socket itself times out too: a thread stuck in a TLS handshake ends by itself even
        # if nothing shuts its socket down.
        with signalr_fixes.handshake_deadline(self.connect_timeout):
            conn.start()

    def _handoff(self, loop: asyncio.AbstractEventLoop, event: str) -> Callable[[Any], None]:
        deliver = self._deliver

        def on_receive_thread(arguments: Any) -> None:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(deliver, event, arguments)

        return on_receive_thread

    def _deliver(self, event: str, arguments: Any) -> None:
        try:
            self._on_message(event, arguments)
        except Exception:
            log.exception("%s hub: %s handler failed", self.name, event)

    async def _watch(self) -> str:
        closed, protocol = self._closed, self._protocol
        assert closed is not None and protocol is not None
        waiters = {asyncio.ensure_future(closed.wait()), asyncio.ensure_future(self._rebuild.wait())}
        try:
            while True:
                await asyncio.wait(
                    waiters, timeout=min(self.keepalive, self.silence_timeout), return_when=asyncio.FIRST_COMPLETED
                )
                if closed.is_set():
                    return "lost"
                if self._rebuild.is_set():
                    return "rebuilt for a new token"
                if time.monotonic() - protocol.last_inbound > self.silence_timeout:
                    return f"silent for over {self.silence_timeout:g} s"
        finally:
            # also when stop() cancels us: asyncio.wait leaves its futures running
            for waiter in waiters:
                waiter.cancel()

    async def _ping(self, conn: Any, closed: asyncio.Event) -> None:
        """signalrcore only pings when its own reconnect is on (trap 4): ping from here."""
        while not closed.is_set():
            await asyncio.sleep(self.keepalive)
            try:
                async with asyncio.timeout(self.silence_timeout):
                    await self._blocking(conn.transport.send, PingMessage())
            except Exception as exc:
                log.warning("%s hub: keep-alive ping failed (%s)", self.name, exc)
                closed.set()
                return

    def _blocking(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run one blocking signalrcore call on a thread of its own (trap 8).

        Not a pool: a call stuck in a socket (a TCP connect into a black hole) cannot starve the
        calls that would unstick it, and daemon threads never hold up interpreter exit.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if future.done():  # the caller gave up waiting
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def run() -> None:
            try:
                outcome: tuple[Any, BaseException | None] = (fn(*args), None)
            except BaseException as exc:
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
                loop.call_soon_threadsafe(settle, *outcome)

        name = getattr(fn, "__name__", "call")
        threading.Thread(target=run, name=f"hub-{self.name}-{name}", daemon=True).start()
        return future

    async def _teardown(self) -> None:
        conn, self._conn = self._conn, None
        pinger, self._pinger = self._pinger, None
        self._closed = None
        if pinger is not None:
            pinger.cancel()  # not awaited: awaiting it here could swallow our own cancellation
        if conn is None:
            return
        try:
            async with asyncio.timeout(3.0):
                await self._blocking(conn.stop)
        except Exception as exc:  # a connection that will not close is abandoned, not waited on
            log.debug("%s hub: stop did not finish cleanly (%s)", self.name, exc)
        finally:
            # stop() leaves the socket alone when signalrcore already thinks it is disconnected,
            # or while start() is still in the upgrade: shut it down so no thread stays blocked.
            signalr_fixes.shut_socket(conn)

    def _set_state(self, state: HubState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(self.name, state)
            except Exception:
                log.exception("%s hub: state listener failed", self.name)
