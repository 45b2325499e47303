"""A tiny synchronous event bus. The GUI bridges it to Qt signals; headless mode logs from it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Subscriber = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[tuple[type | None, Subscriber]] = []

    def subscribe(self, callback: Subscriber, kind: type | None = None) -> Callable[[], None]:
        entry = (kind, callback)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, notice: Any) -> None:
        for kind, callback in tuple(self._subscribers):
            if kind is not None and not isinstance(notice, kind):
                continue
            try:
                callback(notice)
            except Exception:
                # A broken listener (a dialog, a log sink) must never stop enforcement.
                log.exception("subscriber %r failed on %r", callback, notice)
