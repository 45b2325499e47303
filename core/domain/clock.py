"""Injected time. Rules and modules never read the wall clock themselves."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

_log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never jump: for intervals that decide (how long
        since a command went out). A replayed or manual clock runs it on its own time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock tests move by hand: a daily reset or a cooldown expiry is one call away."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._origin = self._now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._origin).total_seconds()

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, seconds: float = 0.0, **kwargs: float) -> datetime:
        self._now += timedelta(seconds=seconds, **kwargs)
        return self._now


class GatewayClock:
    """The gateway's time, carried forward by the monotonic clock: the PC's wall clock can jump
    (a trader moving it past the reset, a bad NTP sync) without moving "now".

    Until the gateway has said what time it is, "now" is the PC's time when the clock was
    made, carried forward the same way. Witnesses:

    - :meth:`observe_server_date`: a REST answer's ``Date`` header (whole seconds). "Now" is
      re-anchored when it differs from the answer by more than ``tolerance``, whichever way:
      the gateway is the authority, and this also catches up after the PC slept (the
      monotonic clock stops during sleep, the gateway's does not).
    - :meth:`observe_event_time`: a gateway timestamp such as a trade's. It is only a lower
      bound (a trade is never stamped in the future): "now" moves forward to it when it is
      more than ``tolerance`` ahead, by at most ``max_event_step`` (a trade stamped years
      ahead is a bad field, and must not end every lock at once; a large gap is the ``Date``
      header's to close).

    The PC's clock is compared, never used: a skew above ``skew_warning`` seconds is logged.
    """

    def __init__(
        self,
        *,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: float = 2.0,
        skew_warning: float = 5.0,
        max_event_step: float = 300.0,
    ) -> None:
        self._wall = wall
        self._mono = monotonic
        self.tolerance = tolerance
        self.skew_warning = skew_warning
        self.max_event_step = max_event_step
        self._anchor = _aware(wall())
        self._anchor_mono = monotonic()
        self.anchored = False  # True once the gateway has told the time
        self._reported_skew: float | None = None

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=self._mono() - self._anchor_mono)

    def monotonic(self) -> float:
        return self._mono()

    def skew(self) -> float:
        """Seconds the PC's wall clock is ahead of this clock (negative: behind)."""
        return (_aware(self._wall()) - self.now()).total_seconds()

    def observe_server_date(self, date: datetime | None) -> None:
        """A REST answer's ``Date`` (None when it had none). Whole seconds, truncated: the
        gateway's time at receipt is taken as half a second later."""
        if date is None:
            return
        self._observe(_aware(date) + timedelta(seconds=0.5), lower_bound_only=False, source="Date")

    def observe_event_time(self, when: datetime | None) -> None:
        if when is None:
            return
        self._observe(_aware(when), lower_bound_only=True, source="event")

    def _observe(self, gateway_now: datetime, *, lower_bound_only: bool, source: str) -> None:
        offset = (gateway_now - self.now()).total_seconds()
        if lower_bound_only and offset > self.max_event_step:
            _log.warning("ignored a gateway timestamp %.0f s ahead of the app's time", offset)
            return
        if not self.anchored and not lower_bound_only:
            self._set(gateway_now)
            self.anchored = True
            _log.info("clock anchored to the gateway's time (%+.1f s from this computer's start time)", offset)
        elif offset > self.tolerance or (not lower_bound_only and offset < -self.tolerance):
            self._set(gateway_now)
            _log.warning(
                "the gateway's time (%s) differs from the app's by %+.1f s: following the gateway",
                source,
                offset,
            )
        self.check_skew()

    def _set(self, gateway_now: datetime) -> None:
        self._anchor = gateway_now
        self._anchor_mono = self._mono()

    def check_skew(self) -> None:
        """Log when the PC clock and the gateway disagree by more than ``skew_warning`` (once per
        change); cheap enough to call every tick."""
        if not self.anchored:
            return
        skew = self.skew()
        if abs(skew) <= self.skew_warning:
            if self._reported_skew is not None:
                _log.info("this computer's clock agrees with the gateway's again (%+.1f s)", skew)
                self._reported_skew = None
            return
        if self._reported_skew is not None and abs(skew - self._reported_skew) <= self.skew_warning:
            return  # already said; a changed skew (the clock moved again) is said again
        self._reported_skew = skew
        _log.warning(
            "this computer's clock is %.0f s %s the gateway's; locks and the trading day follow "
            "the gateway's time",
            abs(skew),
            "ahead of" if skew > 0 else "behind",
        )


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
