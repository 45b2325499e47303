"""MOD-003: named countdown timers. Not persisted, on purpose: a stale timer from yesterday
must not fire today; what must survive a crash (lock expiry) lives in the lockouts instead.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Timer:
    name: str
    started_at: datetime
    expires_at: datetime
    callback: Callable[[], None]
    active: bool = True


class TimerManager:
    def __init__(self) -> None:
        self._timers: dict[str, Timer] = {}
        self._heap: list[tuple[datetime, int, Timer]] = []
        self._seq = 0

    def start(
        self,
        name: str,
        now: datetime,
        callback: Callable[[], None],
        *,
        seconds: float | None = None,
        at: datetime | None = None,
    ) -> Timer:
        """Start (or restart) ``name``; give either ``seconds`` from now or an instant ``at``."""
        if (seconds is None) == (at is None):
            raise ValueError("give seconds or at")
        expires = at if at is not None else now + timedelta(seconds=seconds or 0.0)
        self.cancel(name)
        timer = Timer(name, now, expires, callback)
        self._timers[name] = timer
        self._seq += 1
        heapq.heappush(self._heap, (expires, self._seq, timer))
        return timer

    def cancel(self, name: str) -> bool:
        timer = self._timers.pop(name, None)
        if timer is None:
            return False
        timer.active = False  # lazily dropped from the heap
        return True

    def is_active(self, name: str) -> bool:
        return name in self._timers

    def remaining(self, name: str, now: datetime) -> float:
        timer = self._timers.get(name)
        if timer is None:
            return 0.0
        return max(0.0, (timer.expires_at - now).total_seconds())

    def names(self) -> list[str]:
        return list(self._timers)

    def next_expiry(self) -> datetime | None:
        while self._heap and not self._heap[0][2].active:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def fire_due(self, now: datetime) -> int:
        """Run every timer whose time has come; a failing callback is logged, never raised."""
        fired = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, timer = heapq.heappop(self._heap)
            if not timer.active:
                continue
            timer.active = False
            self._timers.pop(timer.name, None)
            fired += 1
            try:
                timer.callback()
            except Exception:
                log.exception("timer %s failed", timer.name)
        return fired
