"""The trading day: from one reset to the next in the configured zone, named by its last date.

"Today" in this product always means the trading day. A trading day is named by the calendar
date of its last instant before the reset: with a 17:00 America/Chicago reset, Sunday 17:00 →
Monday 17:00 is Monday (so Monday 18:00 CT already belongs to Tuesday); with a 00:00 reset,
Monday 00:00 → Tuesday 00:00 is Monday. DST is handled by doing calendar arithmetic in local
dates and converting each reset instant separately (see :func:`local_instant`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MIDNIGHT = time(0, 0)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time on ``day``.

    A wall time inside the spring-forward gap never happens: it is taken as the gap's end (a
    02:30 reset on the spring-forward day in Chicago happens at 03:00 CDT). A wall time in the
    repeated fall-back hour happens twice: the first occurrence is taken.
    """
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0)  # fold=0: the earlier of a repeated time
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    return _gap_end(naive, zone)


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The instant a spring-forward gap that contains ``naive`` ends (the clocks' jump)."""
    # Inside a gap, fold=1 reads the wall time with the offset after the jump (an instant
    # before it) and fold=0 with the offset before (an instant after it): the jump lies between.
    before = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    after = int(naive.replace(tzinfo=zone, fold=0).timestamp())
    offset_after = datetime.fromtimestamp(after, zone).utcoffset()
    # Zone transitions fall on whole seconds: bisect to the first second on the new offset.
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


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

    def _reset_date(self, day: date) -> date:
        """The calendar date of the reset that ends trading day ``day``.

        The last instant before a reset at 17:00 falls on the reset's own date; the last
        instant before a reset at 00:00 falls on the date before it.
        """
        return day + timedelta(days=1) if self.reset_time == MIDNIGHT else day

    def trading_day(self, at: datetime) -> date:
        # Hot path (every trade, every tick): answer from the cached bounds when possible.
        cache_start, cache_end, cache_day = self._cache
        if cache_start <= at < cache_end and cache_day is not None:
            return cache_day
        local = at.astimezone(self.zone)
        # The date of the next reset by wall time, then the day that reset ends.
        reset_date = local.date()
        if local.time() >= self.reset_time:
            reset_date += timedelta(days=1)
        day = reset_date - (self._reset_date(reset_date) - reset_date)
        # Wall time can be off by one near a DST change (a reset moved to a gap's end): the
        # instants decide.
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
        return local_instant(self._reset_date(day), self.reset_time, self.zone)

    def day_start(self, day: date) -> datetime:
        """The reset instant that begins trading day ``day`` (the previous day's end)."""
        return self.day_end(day - timedelta(days=1))

    def next_reset(self, at: datetime) -> datetime:
        """The first reset strictly after ``at``: when today's trading day ends."""
        return self.day_end(self.trading_day(at))

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        return self.day_start(day), self.day_end(day)
