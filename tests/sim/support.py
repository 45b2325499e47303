"""Helpers for the simulated-gateway tests: a hand-moved clock, a raw SignalR client on aiohttp,
and a wrapper that makes a real signalrcore 1.0.2 connection safe to start and stop in tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from signalrcore.hub_connection_builder import HubConnectionBuilder

RS = "\x1e"
FIXTURES = Path("/work/shared/fixtures/projectx-live")
START = datetime(2026, 8, 19, 14, 30, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class Clock:
    """The exchange's time source; moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class RawHub:
    """A bare SignalR JSON client: sees every frame exactly as the server wrote it."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse):
        self.session = session
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._buffer = ""

    @classmethod
    async def connect(cls, url: str, token: str | None = None, *, header: bool = False,
                      handshake: bool = True) -> RawHub:
        session = aiohttp.ClientSession()
        headers = {"Authorization": f"Bearer {token}"} if header and token else {}
        if token and not header:
            url += f"?access_token={token}"
        try:
            ws = await session.ws_connect(url, headers=headers, autoping=False)
        except BaseException:
            await session.close()
            raise
        client = cls(session, ws)
        if handshake:
            await ws.send_str('{"protocol":"json","version":1}' + RS)
            assert await client.next_message() == {}
        return client

    async def invoke(self, target: str, *arguments: Any, invocation_id: str | None = "1") -> None:
        message: dict[str, Any] = {"type": 1, "target": target, "arguments": list(arguments),
                                   "headers": {}}
        if invocation_id is not None:
            message["invocationId"] = invocation_id
        await self.ws.send_str(json.dumps(message) + RS)

    async def next_message(self, timeout: float = 2.0) -> dict[str, Any]:
        while not self.pending:
            msg = await self.ws.receive(timeout=timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"socket ended: {msg.type!r}")
            self.raw.append(msg.data)
            self._buffer += msg.data
            *records, self._buffer = self._buffer.split(RS)
            self.pending.extend(json.loads(r) for r in records)
        return self.pending.pop(0)

    async def drain(self, quiet: float = 0.15) -> list[dict[str, Any]]:
        """Every message until the socket has been quiet for ``quiet`` seconds."""
        got: list[dict[str, Any]] = []
        while True:
            try:
                got.append(await self.next_message(timeout=quiet))
            except TimeoutError:
                return got

    async def subscribe(self, target: str, *arguments: Any) -> None:
        await self.invoke(target, *arguments, invocation_id=f"sub-{target}")
        assert await self.next_message() == {"type": 3, "invocationId": f"sub-{target}"}

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        await self.session.close()


class SignalRCoreClient:
    """A real signalrcore connection as the app builds it, with events collected thread-safely."""

    def __init__(self, url: str, token: str) -> None:
        self.events: dict[str, list[list[Any]]] = defaultdict(list)
        self.opened = threading.Event()
        self.reconnected = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self.conn = (
            HubConnectionBuilder()
            .with_url(url + "?access_token=" + token,
                      options={"skip_negotiation": True, "access_token_factory": lambda: token})
            .with_automatic_reconnect({"type": "raw", "keep_alive_interval": 10,
                                       "reconnect_interval": 5, "max_attempts": 1})
            .build()
        )
        self.conn.on_open(self.opened.set)
        self.conn.on_reconnect(self.reconnected.set)
        self.conn.on_close(self.closed.set)

    def listen(self, *targets: str) -> None:
        for target in targets:
            self.conn.on(target, lambda args, t=target: self._record(t, args))

    def _record(self, target: str, args: list[Any]) -> None:
        with self._lock:
            self.events[target].append(args)

    def received(self, target: str) -> list[list[Any]]:
        with self._lock:
            return list(self.events[target])

    async def start(self) -> None:
        await asyncio.to_thread(self.conn.start)
        # start() returns before the handshake completes: wait for on_open.
        assert await asyncio.to_thread(self.opened.wait, 5.0), "signalrcore never opened"

    def send(self, method: str, arguments: list[Any]) -> None:
        self.conn.send(method, arguments)

    async def wait_for(self, check: Callable[[], bool], timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            await asyncio.sleep(0.02)
        return check()

    async def stop(self) -> None:
        """stop() joins a receive thread blocked in recv(): shut the socket down first."""
        transport = self.conn.transport
        client = getattr(transport, "_client", None)
        sock = getattr(client, "sock", None)
        if client is not None and sock is not None:
            original = client.dispose

            def dispose() -> None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                original()

            client.dispose = dispose
        worker = threading.Thread(target=self.conn.stop, daemon=True)
        worker.start()
        await asyncio.to_thread(worker.join, 3.0)
