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
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.transport.sockets.base_socket_client import BaseSocketClient

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 2.0
_applied = False
_apply_lock = threading.Lock()

#: The library's own dispose, kept for reference (and for the test that shows it hanging).
LIBRARY_DISPOSE: Callable[[Any], None] = BaseSocketClient.dispose


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
