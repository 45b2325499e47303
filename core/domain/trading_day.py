"""The trading day: from one reset to the next in the configured zone, named by its end date.

"Today" in this product always means the trading day. With a 17:00 America/Chicago reset,
Monday 18:00 CT already belongs to Tuesday. DST is handled by doing calendar arithmetic in
local dates and converting each reset instant separately.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time, stepping past a DST gap instead of inventing time."""
    naive = datetime.combine(day, at)
    candidate = naive.replace(tzinfo=zone)
    # A wall time inside the spring-forward gap does not round-trip; move to the gap's end.
    back = candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        candidate = (naive + timedelta(hours=1)).replace(tzinfo=zone)
    return candidate.astimezone(UTC)


class TradingCalendar:
    __slots__ = ("reset_time", "zone", "_cache")

    def __init__(self, reset_time: time, zone: ZoneInfo | str) -> None:
        self.reset_time = reset_time
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        # (start, end, day) of the last answer, as one object: a reader on another thread
        # never sees one day's name with another day's bounds.
        never = datetime.min.replace(tzinfo=UTC)
        self._cache: tuple[datetime, datetime, date | None] = (never, never, None)

    def reconfigure(self, reset_time: time, zone: ZoneInfo | str) -> None:
        """Move the reset (a config change applied at a reset); every module sharing this
        calendar sees the new trading day at once."""
        self.reset_time = reset_time
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        never = datetime.min.replace(tzinfo=UTC)
        self._cache = (never, never, None)

    def trading_day(self, at: datetime) -> date:
        # Hot path (every trade, every tick): answer from the cached bounds when possible.
        cache_start, cache_end, cache_day = self._cache
        if cache_start <= at < cache_end and cache_day is not None:
            return cache_day
        local = at.astimezone(self.zone)
        day = local.date()
        if local.time() >= self.reset_time:
            day += timedelta(days=1)
        # Guard the DST edge where the local reset instant moved: trust instants, not wall time.
        end = self.day_end(day)
        if at >= end:
            day += timedelta(days=1)
            end = self.day_end(day)
        start = self.day_start(day)
        if at < start:
            day -= timedelta(days=1)
            end, start = start, self.day_start(day)
        self._cache = (start, end, day)
        return day

    def day_end(self, day: date) -> datetime:
        """The reset instant that ends trading day ``day``."""
        return local_instant(day, self.reset_time, self.zone)

    def day_start(self, day: date) -> datetime:
        return local_instant(day - timedelta(days=1), self.reset_time, self.zone)

    def next_reset(self, at: datetime) -> datetime:
        """The first reset strictly after ``at``: when today's trading day ends."""
        return self.day_end(self.trading_day(at))

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        return self.day_start(day), self.day_end(day)
