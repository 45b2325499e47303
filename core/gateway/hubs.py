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
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Any

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.messages.ping_message import PingMessage

from core.gateway import signalr_fixes
from core.gateway.signalr_fixes import TolerantJsonHubProtocol, guarded

log = logging.getLogger(__name__)

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
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"hub-{name}")

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
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._teardown()
        self._set_state(HubState.STOPPED)
        self._threads.shutdown(wait=False, cancel_futures=True)

    @property
    def connected(self) -> bool:
        return self.state is HubState.CONNECTED

    async def invoke(self, method: str, arguments: list[Any]) -> None:
        conn = self._conn
        if conn is None or not self.connected:
            raise ConnectionError(f"{self.name} hub is not connected")
        await asyncio.get_running_loop().run_in_executor(self._threads, conn.send, method, arguments)

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
            await asyncio.wait_for(self._rebuild.wait(), delay)

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
        self.connections_made += 1
        try:
            await loop.run_in_executor(self._threads, conn.start)
        except Exception as exc:
            if "401" in str(exc):
                raise HubAuthError(f"{self.name} hub refused the token") from None
            raise
        try:
            await asyncio.wait_for(opened.wait(), self.connect_timeout)
        except TimeoutError:
            raise ConnectionError(f"{self.name} hub: no handshake within {self.connect_timeout:g} s") from None

    def _handoff(self, loop: asyncio.AbstractEventLoop, event: str) -> Callable[[Any], None]:
        deliver = self._deliver

        def on_receive_thread(arguments: Any) -> None:
            loop.call_soon_threadsafe(deliver, event, arguments)

        return on_receive_thread

    def _deliver(self, event: str, arguments: Any) -> None:
        try:
            self._on_message(event, arguments)
        except Exception:
            log.exception("%s hub: %s handler failed", self.name, event)

    async def _watch(self) -> str:
        closed, protocol, conn = self._closed, self._protocol, self._conn
        assert closed is not None and protocol is not None
        loop = asyncio.get_running_loop()
        while True:
            waiters = {
                asyncio.ensure_future(closed.wait()),
                asyncio.ensure_future(self._rebuild.wait()),
            }
            done, pending = await asyncio.wait(waiters, timeout=self.keepalive, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            if closed.is_set():
                return "lost"
            if self._rebuild.is_set():
                return "rebuilt for a new token"
            if time.monotonic() - protocol.last_inbound > self.silence_timeout:
                return f"silent for over {self.silence_timeout:g} s"
            try:
                await loop.run_in_executor(self._threads, conn.transport.send, PingMessage())
            except Exception as exc:
                return f"lost ({exc})"

    async def _teardown(self) -> None:
        conn, self._conn = self._conn, None
        self._closed = None
        if conn is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._threads, conn.stop), 3.0)
        except Exception as exc:  # a connection that will not close is abandoned, not waited on
            log.debug("%s hub: stop did not finish cleanly (%s)", self.name, exc)

    def _set_state(self, state: HubState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            try:
                self._on_state(self.name, state)
            except Exception:
                log.exception("%s hub: state listener failed", self.name)
