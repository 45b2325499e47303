"""A hub server that misbehaves on the wire (signalr_fixes 11 and 12): a TLS handshake that never
finishes, and frames too large to hold. Real signalrcore over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from signalrcore.transport.websockets.websocket_client import WebSocketClient

from core.gateway import signalr_fixes
from core.gateway.hubs import USER_EVENTS, Hub

RS = b"\x1e"


async def eventually(check: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def hub_threads() -> list[threading.Thread]:
    """Threads a Hub or signalrcore started (the Hub names its own ``hub-<name>-...``)."""
    return [
        t for t in threading.enumerate()
        if t.name.startswith("hub-") or t.name.startswith("Signalrcore")
    ]


class Messages:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[Any]]] = []
        self.connected = 0

    def on_message(self, target: str, arguments: list[Any]) -> None:
        self.received.append((target, arguments))

    async def on_connected(self) -> None:
        self.connected += 1


@pytest.fixture
async def hubs() -> AsyncIterator[Callable[..., Hub]]:
    made: list[Hub] = []

    def make(url: str, messages: Messages, **options: Any) -> Hub:
        settings = {"keepalive": 5.0, "silence_timeout": 30.0, "connect_timeout": 0.3,
                    "backoff": (0.02,), **options}
        hub = Hub("user", url, lambda: "token", USER_EVENTS, messages.on_message,
                  messages.on_connected, **settings)
        made.append(hub)
        hub.start()
        return hub

    yield make
    for hub in made:
        await hub.stop()


# --- 11: a TLS handshake that never finishes ------------------------------------------------------


class MuteTls:
    """Accepts TCP on 127.0.0.1 and never says a word of TLS; closes its side on the client's EOF."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    def hang_up(self) -> None:
        for writer in self.writers:
            writer.close()

    async def __aenter__(self) -> MuteTls:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hubs/user"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.writers.append(writer)
        try:
            while await reader.read(4096):
                pass  # the ClientHello, then nothing: wait for the client to hang up
        finally:
            self.open -= 1
            writer.close()


async def test_the_library_connect_blocks_forever_in_a_tls_handshake() -> None:
    async with MuteTls() as server:
        client = WebSocketClient(url=server.url, ssl_context=signalr_fixes.ssl.create_default_context())
        errors: list[BaseException] = []

        def connect() -> None:
            try:
                signalr_fixes.LIBRARY_CONNECT(client)
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=connect, daemon=True)
        worker.start()
        await eventually(lambda: server.accepted == 1, what="the TCP connection")
        await asyncio.sleep(0.5)
        # Still in the handshake, and the socket was never stored: nothing can wake it.
        assert worker.is_alive() and getattr(client, "sock", None) is None
        server.hang_up()  # only the server going away ends it
        await asyncio.to_thread(worker.join, 5.0)
        assert not worker.is_alive() and errors


async def test_a_tls_handshake_that_never_finishes_leaks_no_thread_or_file(
    hubs: Callable[..., Hub],
) -> None:
    async with MuteTls() as server:
        threads_before, fds_before = len(hub_threads()), open_fds()
        hub = hubs(server.url, Messages(), connect_timeout=0.2)
        peak_threads = 0
        while server.accepted < 15:
            peak_threads = max(peak_threads, len(hub_threads()) - threads_before)
            await asyncio.sleep(0.01)
        assert not hub.connected
        # Each attempt gives up and frees what it opened before the next one starts.
        assert peak_threads <= 3, peak_threads
        await hub.stop()
        await eventually(lambda: len(hub_threads()) == threads_before, what="hub threads to end")
        await eventually(lambda: server.open == 0, what="every client socket to be closed")
        await eventually(lambda: open_fds() <= fds_before, what=f"fds back to {fds_before}")


async def test_the_socket_deadline_alone_ends_a_stuck_handshake() -> None:
    """Even with no Hub to shut the socket, the handshake thread ends at its deadline."""
    signalr_fixes.apply()
    async with MuteTls() as server:
        client = WebSocketClient(url=server.url, ssl_context=signalr_fixes.ssl.create_default_context())
        errors: list[BaseException] = []

        def connect() -> None:
            with signalr_fixes.handshake_deadline(0.2):
                try:
                    client.connect()
                except BaseException as exc:
                    errors.append(exc)

        worker = threading.Thread(target=connect, daemon=True)
        worker.start()
        await asyncio.to_thread(worker.join, 5.0)
        assert not worker.is_alive()
        assert errors and isinstance(errors[0], TimeoutError)
        assert client.sock is None  # closed, not left for the garbage collector
        await eventually(lambda: server.open == 0, what="the server to see the socket closed")


# --- 12: frames too large to hold -----------------------------------------------------------------


def frame(payload: bytes, opcode: int = 0x1, fin: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n <= 125:
        head = bytes([first, n])
    elif n <= 0xFFFF:
        head = bytes([first, 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, 127]) + struct.pack(">Q", n)
    return head + payload


async def read_client_frame(reader: asyncio.StreamReader) -> bytes:
    first, second = await reader.readexactly(2)
    n = second & 0x7F
    if n == 126:
        n = struct.unpack(">H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await reader.readexactly(8))[0]
    mask = await reader.readexactly(4)
    data = await reader.readexactly(n)
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def invocation(target: str, argument: Any) -> bytes:
    return json.dumps({"type": 1, "target": target, "arguments": [argument]}).encode() + RS


class HostileHub:
    """A bare WebSocket SignalR server: upgrade, handshake, then whatever ``script`` sends."""

    def __init__(self, script: Callable[[asyncio.StreamWriter, int], Any]) -> None:
        self.script = script
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> HostileHub:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hubs/user"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n\r\n")
            await read_client_frame(reader)  # the SignalR handshake request
            writer.write(frame(b"{}" + RS))
            await writer.drain()
            await self.script(writer, number)
            while await reader.read(4096):
                pass
        writer.close()


async def test_a_64_mb_frame_is_refused_from_its_header_and_the_hub_reconnects(
    hubs: Callable[..., Hub], caplog: pytest.LogCaptureFixture
) -> None:
    size = 64 * 1024 * 1024
    chunk = b"x" * 65536

    async def huge_then_fine(writer: asyncio.StreamWriter, number: int) -> None:
        if number > 1:
            writer.write(frame(invocation("GatewayUserAccount", {"ok": number})))
            await writer.drain()
            return
        writer.write(bytes([0x81, 127]) + struct.pack(">Q", size))
        with contextlib.suppress(ConnectionError):
            for _ in range(size // len(chunk)):  # stream it; stops when the client hangs up
                writer.write(chunk)
                await writer.drain()

    caplog.set_level(logging.WARNING, logger="core.gateway")
    messages = Messages()
    tracemalloc.start()
    try:
        async with HostileHub(huge_then_fine) as server:
            hubs(server.url, messages)
            await eventually(lambda: bool(messages.received), what="a message on the new connection")
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert messages.received == [("GatewayUserAccount", [{"ok": 2}])]
    assert server.connections == 2
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB while refusing a 64 MB frame"
    assert any("67,108,864 bytes is over" in r.getMessage() for r in caplog.records)


async def test_fragments_adding_up_past_the_cap_are_refused(hubs: Callable[..., Hub]) -> None:
    piece = b"y" * (1024 * 1024)

    async def fragments(writer: asyncio.StreamWriter, number: int) -> None:
        if number > 1:
            writer.write(frame(invocation("GatewayUserOrder", {"ok": number})))
        else:
            writer.write(frame(piece, opcode=0x1, fin=False))
            for _ in range(signalr_fixes.MAX_FRAME_BYTES // len(piece) + 1):
                writer.write(frame(piece, opcode=0x0, fin=False))
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    messages = Messages()
    async with HostileHub(fragments) as server:
        hubs(server.url, messages)
        await eventually(lambda: bool(messages.received), what="a message on the new connection")
    assert messages.received == [("GatewayUserOrder", [{"ok": 2}])]


async def test_a_large_message_under_the_cap_still_arrives(hubs: Callable[..., Hub]) -> None:
    big = {"note": "z" * 300_000}

    async def large(writer: asyncio.StreamWriter, _number: int) -> None:
        message = invocation("GatewayUserTrade", big)
        # Two fragments, as a server may split it.
        writer.write(frame(message[:1000], fin=False) + frame(message[1000:], opcode=0x0))
        await writer.drain()

    messages = Messages()
    async with HostileHub(large) as server:
        hubs(server.url, messages)
        await eventually(lambda: bool(messages.received), what="the large message")
    assert messages.received == [("GatewayUserTrade", [big])]
    assert server.connections == 1


# --- 14: a reset by the server --------------------------------------------------------------------


async def test_a_connection_reset_is_a_quiet_close_and_the_hub_reconnects(
    hubs: Callable[..., Hub], caplog: pytest.LogCaptureFixture
) -> None:
    async def reset_first(writer: asyncio.StreamWriter, number: int) -> None:
        if number > 1:
            writer.write(frame(invocation("GatewayUserPosition", {"ok": number})))
            await writer.drain()
            return
        await asyncio.sleep(0.1)  # the client is in its receive loop by now
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST, not FIN

    caplog.set_level(logging.WARNING)
    messages = Messages()
    async with HostileHub(reset_first) as server:
        hubs(server.url, messages)
        await eventually(lambda: bool(messages.received), what="a message on the new connection")
    assert server.connections == 2
    assert not [r for r in caplog.records if r.name == "SignalRCoreClient" and r.levelno >= logging.ERROR]
    assert any("connection lost" in r.getMessage() for r in caplog.records)
