"""A SignalR JSON-protocol hub over aiohttp WebSockets, as TopstepX's user and market hubs speak it.

Negotiation is skipped by clients (a cheap ``/negotiate`` is still answered). WebSocket-level
heartbeats are off because signalrcore never answers control pings; keep-alive is the SignalR
``{"type":6}`` message instead. Subscriptions live on the connection and die with it, so a client
that does not re-subscribe after a reconnect hears nothing, exactly as live.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

from core.sim.market import DEPTH_EVENT, QUOTE_EVENT, TRADE_PRINT_EVENT, MarketEvent
from core.sim.models import ACCOUNT_EVENT, ORDER_EVENT, POSITION_EVENT, TRADE_EVENT, UserEvent
from core.sim.security import bearer

log = logging.getLogger(__name__)

RS = "\x1e"
HubKind = Literal["user", "market"]
Authorize = Callable[[str | None], bool]
INVOCATION, COMPLETION, STREAM_INVOCATION, PING, CLOSE = 1, 3, 4, 6, 7
HANDSHAKE_TIMEOUT = 15.0


@dataclass
class Subscriptions:
    accounts: bool = False
    orders: set[int] = field(default_factory=set)
    positions: set[int] = field(default_factory=set)
    trades: set[int] = field(default_factory=set)
    quotes: set[str] = field(default_factory=set)
    prints: set[str] = field(default_factory=set)
    depth: set[str] = field(default_factory=set)

    def any(self) -> bool:
        return self.accounts or any(
            (self.orders, self.positions, self.trades, self.quotes, self.prints, self.depth))


# method → (subscription attribute, subscribe?, argument type); None attribute = accounts flag
_USER_METHODS: dict[str, tuple[str | None, bool, type | None]] = {
    "SubscribeAccounts": (None, True, None), "UnsubscribeAccounts": (None, False, None),
    "SubscribeOrders": ("orders", True, int), "UnsubscribeOrders": ("orders", False, int),
    "SubscribePositions": ("positions", True, int),
    "UnsubscribePositions": ("positions", False, int),
    "SubscribeTrades": ("trades", True, int), "UnsubscribeTrades": ("trades", False, int),
}
_MARKET_METHODS: dict[str, tuple[str | None, bool, type | None]] = {
    "SubscribeContractQuotes": ("quotes", True, str),
    "UnsubscribeContractQuotes": ("quotes", False, str),
    "SubscribeContractTrades": ("prints", True, str),
    "UnsubscribeContractTrades": ("prints", False, str),
    "SubscribeContractMarketDepth": ("depth", True, str),
    "UnsubscribeContractMarketDepth": ("depth", False, str),
}
_USER_TARGETS = {ORDER_EVENT: "orders", POSITION_EVENT: "positions", TRADE_EVENT: "trades"}
_MARKET_TARGETS = {QUOTE_EVENT: "quotes", TRADE_PRINT_EVENT: "prints", DEPTH_EVENT: "depth"}


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False) + RS


class HubConnection:
    """One client WebSocket: its subscriptions and an outgoing queue drained by a writer task."""

    def __init__(self, ident: int, ws: web.WebSocketResponse,
                 transport: asyncio.Transport | None, max_queue: int) -> None:
        self.id = ident
        self.ws = ws
        self.subs = Subscriptions()
        self.handshaken = False
        self.last_inbound = asyncio.get_running_loop().time()
        self._transport = transport
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(max_queue)

    def send(self, frame: str) -> bool:
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("sim hub: client %s too slow, dropping it", self.id)
            self.abort()
            return False
        return True

    def abort(self) -> None:
        """Drop the TCP connection with no Close message, as a network failure would."""
        self.subs = Subscriptions()
        if self._transport is not None and not self._transport.is_closing():
            with contextlib.suppress(Exception):
                self._transport.abort()

    def close_after_pending(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def write_loop(self) -> None:
        try:
            while True:
                frame = await self._queue.get()
                if frame is None:
                    await self.ws.close()
                    return
                await self.ws.send_str(frame)
        except (ConnectionError, RuntimeError):
            self.abort()  # the reader then sees the socket go and cleans up


class SignalRHub:
    def __init__(self, kind: HubKind, authorize: Authorize, *, ping_interval: float | None = 15.0,
                 client_timeout: float | None = 30.0, max_queue: int = 10_000) -> None:
        self.kind = kind
        self.authorize = authorize
        self.ping_interval = ping_interval
        self.client_timeout = client_timeout
        self.max_queue = max_queue
        self.connections: set[HubConnection] = set()
        self._ids = itertools.count(1)
        self._methods = _USER_METHODS if kind == "user" else _MARKET_METHODS

    # ------------------------------------------------------------------ HTTP side
    @staticmethod
    def token_of(request: web.Request) -> str | None:
        # ASP.NET's usual hub set-up reads the query token first and falls back to the header.
        return request.query.get("access_token") or bearer(request.headers.get("Authorization"))

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        if not self.authorize(self.token_of(request)):
            return web.Response(status=401)
        token = uuid.uuid4().hex
        return web.json_response({
            "connectionId": token, "connectionToken": token, "negotiateVersion": 1,
            "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
        })

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self.authorize(self.token_of(request)):
            return web.Response(status=401)
        ws = web.WebSocketResponse(heartbeat=None, autoping=True, compress=False)
        transport = request.transport
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client went away during the upgrade (it stopped)
            return ws
        conn = HubConnection(next(self._ids), ws, transport, self.max_queue)
        self.connections.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        keeper = asyncio.create_task(self._keep_alive(conn))
        try:
            await self._read_loop(conn)
        finally:
            self.connections.discard(conn)
            conn.subs = Subscriptions()
            keeper.cancel()
            # Let queued frames (a handshake error, say) go out before the socket closes.
            conn.close_after_pending()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), 1.0)
            writer.cancel()
            for task in (keeper, writer):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _read_loop(self, conn: HubConnection) -> None:
        buffer = ""
        while True:
            timeout = None if conn.handshaken else HANDSHAKE_TIMEOUT
            try:
                msg = await conn.ws.receive(timeout=timeout)
            except TimeoutError:
                return
            if msg.type != WSMsgType.TEXT:
                return  # CLOSE, ERROR, or binary (this hub speaks JSON only)
            conn.last_inbound = asyncio.get_running_loop().time()
            buffer += str(msg.data)
            *records, buffer = buffer.split(RS)
            for record in records:
                if not self._on_record(conn, record):
                    return

    def _on_record(self, conn: HubConnection, record: str) -> bool:
        try:
            message = json.loads(record)
        except ValueError:
            return False
        if not isinstance(message, dict):
            return False
        if not conn.handshaken:
            if message.get("protocol") != "json":
                conn.send(encode({"error": f"The protocol '{message.get('protocol')}' is not "
                                           "supported."}))
                return False
            conn.handshaken = True
            conn.send("{}" + RS)
            return True
        kind = message.get("type")
        if kind == CLOSE:
            return False
        if kind in (INVOCATION, STREAM_INVOCATION):
            error = self._invoke(conn, message) if kind == INVOCATION else "Streaming is not supported."
            invocation_id = message.get("invocationId")
            if invocation_id is not None:
                reply: dict[str, Any] = {"type": COMPLETION, "invocationId": invocation_id}
                if error:
                    reply["error"] = error
                conn.send(encode(reply))
        return True

    def _invoke(self, conn: HubConnection, message: dict[str, Any]) -> str:
        target = message.get("target")
        arguments = message.get("arguments") or []
        spec = self._methods.get(target) if isinstance(target, str) else None
        if spec is None:
            return f"Unknown hub method '{target}'"
        attribute, subscribe, arg_type = spec
        expected = 0 if arg_type is None else 1
        if not isinstance(arguments, list) or len(arguments) != expected:
            return (f"Failed to invoke '{target}' due to an error on the server. "
                    f"InvalidDataException: Invocation provides {len(arguments)} argument(s) "
                    f"but target expects {expected}.")
        if attribute is None:
            conn.subs.accounts = subscribe
            return ""
        value = arguments[0]
        if isinstance(value, bool) or not isinstance(value, arg_type or object):
            return f"Failed to invoke '{target}' due to an error on the server."
        chosen: set[Any] = getattr(conn.subs, attribute)
        if subscribe:
            chosen.add(value)
        else:
            chosen.discard(value)
        return ""

    async def _keep_alive(self, conn: HubConnection) -> None:
        loop = asyncio.get_running_loop()
        last_ping = loop.time()
        step = min(1.0, self.ping_interval or 1.0)
        while True:
            await asyncio.sleep(step)
            now = loop.time()
            if self.client_timeout is not None and now - conn.last_inbound > self.client_timeout:
                log.info("sim hub: client %s silent for %.0f s, dropping", conn.id,
                         now - conn.last_inbound)
                conn.abort()
                return
            if self.ping_interval is not None and now - last_ping >= self.ping_interval:
                last_ping = now
                if conn.handshaken:
                    conn.send(encode({"type": PING}))

    # ------------------------------------------------------------------ pushes
    def push(self, target: str, arguments: list[Any],
             accept: Callable[[Subscriptions], bool] | None = None) -> int:
        """Push an invocation without invocationId to every (accepting) connection."""
        return self.push_frame(encode({"type": INVOCATION, "target": target,
                                       "arguments": arguments}), accept)

    def push_frame(self, frame: str, accept: Callable[[Subscriptions], bool] | None = None) -> int:
        sent = 0
        for conn in list(self.connections):
            if conn.handshaken and (accept is None or accept(conn.subs)) and conn.send(frame):
                sent += 1
        return sent

    def push_user_event(self, event: UserEvent) -> int:
        return self.push(event.target, [event.envelope()],
                         self.user_filter(event.target, event.account_id))

    def push_market_event(self, event: MarketEvent) -> int:
        return self.push(event.target, event.arguments(),
                         self.market_filter(event.target, event.contract_id))

    @staticmethod
    def user_filter(target: str, account_id: int | None) -> Callable[[Subscriptions], bool]:
        if target == ACCOUNT_EVENT:
            return lambda subs: subs.accounts  # account subscription is global, as live
        attribute = _USER_TARGETS.get(target)
        if attribute is None:
            return lambda subs: subs.any()

        def accept(subs: Subscriptions) -> bool:
            chosen: set[int] = getattr(subs, attribute)
            return bool(chosen) if account_id is None else account_id in chosen
        return accept

    @staticmethod
    def market_filter(target: str, contract_id: str | None) -> Callable[[Subscriptions], bool]:
        attribute = _MARKET_TARGETS.get(target)
        if attribute is None:
            return lambda subs: subs.any()

        def accept(subs: Subscriptions) -> bool:
            chosen: set[str] = getattr(subs, attribute)
            return bool(chosen) if contract_id is None else contract_id in chosen
        return accept

    def wants(self, target: str, contract_id: str) -> bool:
        """Cheap check so the market loop skips encoding quotes nobody listens to."""
        accept = self.market_filter(target, contract_id)
        return any(conn.handshaken and accept(conn.subs) for conn in self.connections)

    # ------------------------------------------------------------------ connection control
    def drop_all(self) -> int:
        conns = list(self.connections)
        for conn in conns:
            conn.abort()
        return len(conns)

    def close_all(self, error: str | None = None, allow_reconnect: bool = True) -> int:
        """A polite server shutdown: a Close message, then the socket goes."""
        message: dict[str, Any] = {"type": CLOSE, "allowReconnect": allow_reconnect}
        if error:
            message["error"] = error
        sent = self.push_frame(encode(message))
        for conn in list(self.connections):
            conn.subs = Subscriptions()
            conn.close_after_pending()
        return sent
