"""Every workaround for signalrcore 1.0.2 lives here (see reference/libraries.md).

1. ``stop()`` hangs: dispose() closes the socket, then joins the receive thread, which stays
   blocked in recv() on Linux. Fixed by :func:`apply` — shut the socket down first, and join
   with a timeout. stop() also does nothing at all while start() is still in the HTTP upgrade,
   or once signalrcore thinks the socket is gone: :func:`shut_socket` covers those.
2. Automatic reconnect can stick in "reconnecting" forever. Avoided: the app never enables
   it; :class:`core.gateway.hubs.Hub` rebuilds the connection with backoff instead.
3. An exception in an ``.on()`` handler kills the receive thread. Every handler is wrapped
   by :func:`guarded`.
4. Keep-alive pings are only sent with automatic reconnect configured. The Hub sends its own
   ping every few seconds.
5. No server-timeout detection. :class:`TolerantJsonHubProtocol` stamps every inbound frame
   (pings included); the Hub rebuilds a connection that has been silent too long.
6. The token is read once at ``start()``. The Hub builds a new connection after a refresh.
7. After signalrcore's own reconnect only on_reconnect fires. Moot: every connection the Hub
   makes is new, so on_open always fires, and it re-subscribes from there.
8. start/send/stop are blocking socket calls. The Hub runs each on a daemon thread of its own
   (never the loop's), and bounds start() by its connect timeout.
9. Callbacks run on the receive thread. The Hub hands them to the asyncio loop with
   ``call_soon_threadsafe``.
10. ``configure_logging()`` adds a handler per call and logs the JWT at DEBUG. Never called;
    :func:`quiet_logging` caps the library's logger at WARNING (redaction filters the rest).
Also: one malformed JSON record in a frame raised out of the receive loop and dropped the
connection; :class:`TolerantJsonHubProtocol` logs and skips just that record.

11. ``connect()`` opens the TCP connection, the TLS handshake and the HTTP upgrade with no
    timeout at all, and only stores the socket once all three are done: a server that accepts
    TCP and never finishes TLS kept a thread and a file handle blocked forever, on every retry.
    :func:`apply` replaces it with :func:`_connect_with_deadline`: each step runs under the
    deadline given by :func:`handshake_deadline` (the Hub passes its connect timeout), the
    socket is stored before the handshake so :func:`shut_socket` can wake it, and a failed
    attempt closes what it opened.
12. A frame's length comes from the server and was read whole, however large (a 64 MB frame
    took the process to hundreds of MB; the bytes were also copied once per ``recv``).
    :func:`_read_one_frame_capped` refuses a frame (or a message of fragments) over
    :data:`MAX_FRAME_BYTES` as soon as its header says so, logs why, and closes the
    connection; the Hub then builds a new one.
13. ``HubConnectionBuilder()`` makes a new ``ssl.create_default_context()`` each time, which
    loads the system's whole CA bundle into OpenSSL (C memory, invisible to tracemalloc): two
    per hub rebuild, ~20 MB of heap high-water that glibc never gave back (the "1 MB per
    rebuild" growth). :func:`apply` gives every builder one shared, verifying context
    (:func:`shared_ssl_context`) instead.
14. A connection reset by the server ended the receive loop with three ERROR tracebacks from
    the library; :func:`_recv_frame_capped` reads it as the close it is (the Hub logs the loss
    once and reconnects).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from signalrcore.helpers import Helpers
from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.transport.sockets.base_socket_client import BaseSocketClient
from signalrcore.transport.sockets.errors import (
    NoHeaderException,
    SocketClosedError,
    SocketHandshakeError,
)
from signalrcore.transport.websockets.websocket_client import WebSocketClient

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 2.0
#: Connect + TLS + upgrade, when no Hub set a deadline for the calling thread.
HANDSHAKE_TIMEOUT = 10.0
#: The largest hub message accepted. Live messages are under a few kB; a frame this large is
#: broken or hostile, and reading it would cost the process its size several times over.
MAX_FRAME_BYTES = 4 * 1024 * 1024
#: An HTTP upgrade answer is a few hundred bytes of headers.
MAX_UPGRADE_BYTES = 64 * 1024
_CRLF_CRLF = b"\r\n\r\n"
_applied = False
_apply_lock = threading.Lock()
_deadline = threading.local()

#: The library's own code, kept for reference (and for the tests that show each one failing).
LIBRARY_DISPOSE: Callable[[Any], None] = BaseSocketClient.dispose
LIBRARY_CONNECT: Callable[[Any], None] = BaseSocketClient.connect
LIBRARY_READ_ONE_FRAME: Callable[[Any], tuple[bool, int, bytes]] = WebSocketClient._read_one_frame
LIBRARY_RECV_FRAME: Callable[[Any], Any] = WebSocketClient._recv_frame
LIBRARY_BUILDER_INIT: Callable[[Any], None] = HubConnectionBuilder.__init__
_shared_context: ssl.SSLContext | None = None
_context_lock = threading.Lock()


def shared_ssl_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every hub connection, made on first use."""
    global _shared_context
    with _context_lock:
        if _shared_context is None:
            _shared_context = ssl.create_default_context()
        return _shared_context


def _builder_init(self: Any) -> None:
    """signalrcore 1.0.2's ``HubConnectionBuilder.__init__`` but with the shared TLS context
    (a test checks the attributes still match the library's)."""
    self.hub_url = None
    self.options = {"access_token_factory": None}
    self.headers = {}
    self.has_auth_configured = None
    self.protocol = None
    self.preferred_protocol = None
    self.preferred_transport = None
    self.reconnection_handler = None
    self.keep_alive_interval = 15
    self.ssl_context = shared_ssl_context()
    self.enable_trace = False
    self.skip_negotiation = False
    self.proxies = {}
    self.logger = Helpers.get_logger()


class FrameTooLarge(Exception):
    """The server announced a frame (or message) over :data:`MAX_FRAME_BYTES`."""

    def __init__(self, size: int) -> None:
        super().__init__(f"a hub frame of {size:,} bytes is over the {MAX_FRAME_BYTES:,}-byte limit")
        self.size = size


@contextlib.contextmanager
def handshake_deadline(seconds: float) -> Any:
    """Bound connect + TLS + upgrade by ``seconds`` for connections started on this thread."""
    previous = getattr(_deadline, "seconds", None)
    _deadline.seconds = seconds
    try:
        yield
    finally:
        _deadline.seconds = previous


def _open_socket(client: Any, timeout: float) -> socket.socket:
    parsed = urllib.parse.urlparse(client.url)
    secure = parsed.scheme in ("wss", "https")
    port = parsed.port or (443 if secure else 80)
    # Proxies are never configured by the app (and the library's proxy path was broken).
    raw = socket.create_connection((parsed.hostname, port), timeout=timeout)
    client.sock = raw  # from here on shut_socket() can wake a thread blocked on it
    if not secure:
        return raw
    context: ssl.SSLContext = client.ssl_context
    tls = context.wrap_socket(raw, server_hostname=parsed.hostname, do_handshake_on_connect=False)
    client.sock = tls  # owns the file descriptor now; raw is detached
    tls.settimeout(timeout)
    tls.do_handshake()
    return tls


def _connect_with_deadline(self: Any) -> None:
    """signalrcore's ``connect()`` with a deadline on every step and nothing left open on failure."""
    timeout = getattr(_deadline, "seconds", None) or HANDSHAKE_TIMEOUT
    self.sock = None
    try:
        sock = _open_socket(self, timeout)
        lines = self.get_socket_headers()
        lines.extend(f"{k}: {v}" for k, v in self.headers.items())
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        response = b""
        while _CRLF_CRLF not in response:
            if len(response) > MAX_UPGRADE_BYTES:
                raise SocketHandshakeError("Handshake failed: the upgrade answer never ended")
            chunk = sock.recv(4096)
            if not chunk:
                raise SocketHandshakeError("Connection closed during handshake")
            response += chunk
        status = response.split(b"\r\n", 1)[0]
        if self.success_status_code not in status:
            # The status line carries the reason (the Hub reads a 401 from it).
            raise SocketHandshakeError(f"Handshake failed: {status.decode('latin-1')}")
        # The receive loop blocks until a frame comes; silence is the Hub's watchdog's job.
        sock.settimeout(None)
    except BaseException:
        _close_quietly(self.sock)
        self.sock = None
        raise
    self.running = True
    self.recv_thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
    self.recv_thread.start()


def _close_quietly(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _recv_exactly(self: Any, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = self.sock.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise SocketClosedError()
        data += chunk
    return bytes(data)


def _read_one_frame_capped(self: Any, budget: int | None = None) -> tuple[bool, int, bytes]:
    """One frame, refused from its header when longer than ``budget`` (default: the cap)."""
    limit = MAX_FRAME_BYTES if budget is None else budget
    try:
        header = _recv_exactly(self, 2)
    except (ssl.SSLError, SocketClosedError):
        raise NoHeaderException() from None
    fin = (header[0] & 0x80) != 0
    opcode = header[0] & 0x0F
    if header[1] & 0x80:
        raise SocketClosedError()  # RFC 6455 5.1: a server never masks its frames
    length = header[1] & 0x7F
    if length == 126:
        length = struct.unpack(">H", _recv_exactly(self, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", _recv_exactly(self, 8))[0]
    if length > limit:
        raise FrameTooLarge(length + (MAX_FRAME_BYTES - limit))
    return fin, opcode, _recv_exactly(self, length)


def _recv_frame_capped(self: Any) -> Any:
    try:
        fin, opcode, data = _read_one_frame_capped(self)
        if opcode == 0x8:
            raise SocketClosedError()
        payload = bytearray(data)
        while not fin:
            fin, opcode, data = _read_one_frame_capped(self, MAX_FRAME_BYTES - len(payload))
            if opcode == 0x8:
                raise SocketClosedError()
            payload += data
    except FrameTooLarge as exc:
        log.warning("%s; closing the connection (it will be rebuilt)", exc)
        self.refused = exc
        # signalrcore's receive loop ends quietly, and calls on_close, only for this exact type.
        raise SocketClosedError() from None
    except ConnectionError:
        # A reset by the peer is a closed connection (the Hub logs it and reconnects), not an
        # error worth the library's three tracebacks at ERROR.
        raise SocketClosedError() from None
    return self.prepare_data(bytes(payload))


def _dispose_without_hanging(self: Any) -> None:
    sock = getattr(self, "sock", None)
    if sock is not None:
        # shutdown() wakes the receive thread out of recv(); close() alone does not on Linux.
        with contextlib.suppress(OSError):  # already disconnected
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()
    thread = getattr(self, "recv_thread", None)
    if thread is not None and thread is not threading.current_thread():
        thread.join(JOIN_TIMEOUT)
        self.recv_thread = None


def shut_socket(conn: Any) -> None:
    """Shut down and close a hub connection's socket, whatever state signalrcore thinks it is in.

    ``stop()`` is a no-op for a transport already marked disconnected (the socket was never
    closed) and for one whose ``start()`` is still blocked reading the HTTP upgrade answer;
    shutting the socket down wakes any thread blocked on it.
    """
    client = getattr(getattr(conn, "transport", None), "_client", None)
    sock = getattr(client, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):  # already shut down or closed
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def apply() -> None:
    """Patch the library once per process (idempotent)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        BaseSocketClient.dispose = _dispose_without_hanging
        BaseSocketClient.connect = _connect_with_deadline
        HubConnectionBuilder.__init__ = _builder_init
        WebSocketClient._read_one_frame = _read_one_frame_capped
        WebSocketClient._recv_frame = _recv_frame_capped
        quiet_logging()
        _applied = True


def quiet_logging() -> None:
    logging.getLogger("SignalRCoreClient").setLevel(logging.WARNING)


def guarded(name: str, handler: Callable[[Any], None]) -> Callable[[Any], None]:
    """A hub handler that can never kill signalrcore's receive thread."""

    def run(arguments: Any) -> None:
        try:
            handler(arguments)
        except Exception:
            log.exception("handler for %s failed; the connection stays up", name)

    return run


class TolerantJsonHubProtocol(JsonHubProtocol):  # type: ignore[misc]
    """JSON hub protocol that skips a malformed record instead of dropping the connection,
    and remembers when the last frame arrived (the silence watchdog reads it)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_inbound = time.monotonic()
        self.skipped = 0

    def parse_messages(self, raw: str) -> list[Any]:
        self.last_inbound = time.monotonic()
        result = []
        for record in raw.split(self.record_separator):
            if not record:
                continue
            try:
                data = json.loads(record)
                if not isinstance(data, dict):
                    raise ValueError(f"a {type(data).__name__}, not an object")
                if data:
                    result.append(self.get_message(data))
            except Exception as exc:
                self.skipped += 1
                log.warning("skipped a malformed hub message (%s): %.200r", exc, record)
        return result
