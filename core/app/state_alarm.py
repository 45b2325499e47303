"""Whether the state file can be written right now, from the service's own notices.

A lock, a trade or the day's P&L that cannot be written (disk full, a failing disk) leaves
protection running from memory only: a crash would lose it. Until everything is written again
(:class:`StateWriteRecovered`) every account shows the same red "NOT PROTECTED" state as a
close the gateway keeps refusing (:mod:`core.app.protection`).
"""

from __future__ import annotations

from core.app.state_notices import StateWriteFailed, StateWriteRecovered
from core.domain.bus import EventBus


class StateAlarm:
    def __init__(self, bus: EventBus) -> None:
        self.failure: StateWriteFailed | None = None
        self._unsubscribe = [
            bus.subscribe(self._failed, StateWriteFailed),
            bus.subscribe(self._recovered, StateWriteRecovered),
        ]

    @property
    def error(self) -> str:
        """What the disk said, while the state cannot be saved; "" when all is written."""
        if self.failure is None:
            return ""
        return self.failure.error or "write failed"

    def _failed(self, notice: StateWriteFailed) -> None:
        self.failure = notice

    def _recovered(self, _notice: StateWriteRecovered) -> None:
        self.failure = None

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
