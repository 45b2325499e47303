"""Client-side rate limiting for the ProjectX Gateway REST API.

The gateway allows 200 requests per 60 s (History/retrieveBars has its own 50 per 30 s) and
answers HTTP 429 beyond that. A risk manager must never find itself unable to flatten because
its own reconciliation reads used the budget, so the limiter has two priorities: enforcement
calls always jump the queue, and the last slots of each window are reserved for them.

Windows are sliding: a sliding budget also satisfies a fixed-window server, whichever it is.
When the server still says 429 (other clients on the same token, clock drift), the REST client
backs off with :class:`RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import IntEnum

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

BARS_ENDPOINT = "History/retrieveBars"

# These are what a breach reacts with; anything else (reads, reconciliation) can wait.
ENFORCEMENT_ENDPOINTS = frozenset(
    {
        "Position/closeContract",
        "Position/partialCloseContract",
        "Order/cancel",
        "Order/modify",
        "Order/place",
    }
)

# Float noise from summing timestamps must not turn "due now" into a 1e-13 s sleep.
_EPSILON = 1e-9


class Priority(IntEnum):
    """Lower value goes first."""

    ENFORCEMENT = 0
    READ = 1


def normalize_endpoint(endpoint: str) -> str:
    """``/api/Order/cancel`` and ``Order/cancel`` name the same bucket and priority."""
    path = endpoint.strip("/")
    if path.lower().startswith("api/"):
        path = path[4:]
    return path


def priority_for(endpoint: str) -> Priority:
    if normalize_endpoint(endpoint) in ENFORCEMENT_ENDPOINTS:
        return Priority.ENFORCEMENT
    return Priority.READ


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    future: asyncio.Future[None] = field(compare=False)


class SlidingWindowBucket:
    """One budget (``limit`` grants per ``window`` seconds) with its own priority queue.

    Reads may only use ``limit - reserve`` grants of a window; enforcement may use all of them.
    Waiters are served strictly by (priority, arrival), so a queued read never overtakes a
    queued enforcement call, and a newly arrived enforcement call overtakes every queued read.
    """

    def __init__(
        self, name: str, limit: int, window: float, reserve: int, clock: Clock, sleep: Sleep
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("a bucket needs a positive limit and window")
        if not 0 <= reserve < limit:
            raise ValueError("the reserve must leave reads at least one slot")
        self.name = name
        self.limit = limit
        self.window = window
        self.reserve = reserve
        self._clock = clock
        self._sleep = sleep
        self._grants: deque[float] = deque()
        self._queue: list[_Waiter] = []
        self._seq = itertools.count()
        self._dispatcher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def capacity(self, priority: Priority) -> int:
        return self.limit if priority == Priority.ENFORCEMENT else self.limit - self.reserve

    def used(self) -> int:
        """Grants inside the current window."""
        self._expire(self._clock())
        return len(self._grants)

    @property
    def queued(self) -> int:
        return sum(1 for waiter in self._queue if not waiter.future.done())

    def wait_time(self, priority: Priority) -> float:
        """Seconds until a caller of this priority could be granted, ignoring the queue."""
        now = self._clock()
        self._expire(now)
        excess = len(self._grants) - self.capacity(priority)
        if excess < 0:
            return 0.0
        # The grant whose expiry brings the count below capacity.
        return max(0.0, self._grants[excess] + self.window - now)

    async def acquire(self, priority: Priority) -> None:
        if self._nobody_ahead(priority) and self.wait_time(priority) <= _EPSILON:
            self._grant()
            return
        loop = asyncio.get_running_loop()
        waiter = _Waiter(int(priority), next(self._seq), loop.create_future())
        head = self._queue[0] if self._queue else None
        heapq.heappush(self._queue, waiter)
        if head is not None and waiter < head:
            self._wake.set()  # the dispatcher may be sleeping for a read's (longer) wait
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = loop.create_task(self._dispatch(), name=f"ratelimit-{self.name}")
        await waiter.future

    async def aclose(self) -> None:
        task, self._dispatcher = self._dispatcher, None
        for waiter in self._queue:
            waiter.future.cancel()
        self._queue.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _nobody_ahead(self, priority: Priority) -> bool:
        return not any(w.priority <= priority and not w.future.done() for w in self._queue)

    def _grant(self) -> None:
        self._grants.append(self._clock())

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._grants and self._grants[0] <= horizon + _EPSILON:
            self._grants.popleft()

    async def _dispatch(self) -> None:
        while self._queue:
            head = self._queue[0]
            if head.future.done():  # its caller was cancelled
                heapq.heappop(self._queue)
                continue
            wait = self.wait_time(Priority(head.priority))
            if wait <= _EPSILON:
                heapq.heappop(self._queue)
                self._grant()
                head.future.set_result(None)
                continue
            self._wake.clear()
            sleeper = asyncio.ensure_future(self._sleep(wait))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, waker):
                    task.cancel()


class RateLimiter:
    """The gateway's two documented budgets, shared by every request of one client."""

    def __init__(
        self,
        *,
        clock: Clock,
        sleep: Sleep,
        limit: int = 200,
        window: float = 60.0,
        reserve: int = 20,
        bars_limit: int = 50,
        bars_window: float = 30.0,
    ) -> None:
        self.general = SlidingWindowBucket("general", limit, window, reserve, clock, sleep)
        # Bars are never enforcement, so their bucket keeps no reserve. The docs list it as
        # separate from "everything else", so bars do not count against the general budget.
        self.bars = SlidingWindowBucket("bars", bars_limit, bars_window, 0, clock, sleep)

    def bucket_for(self, endpoint: str) -> SlidingWindowBucket:
        return self.bars if normalize_endpoint(endpoint) == BARS_ENDPOINT else self.general

    async def acquire(self, endpoint: str, priority: Priority | None = None) -> None:
        """Wait until ``endpoint`` may be called; the slot is consumed on return."""
        chosen = priority_for(endpoint) if priority is None else priority
        await self.bucket_for(endpoint).acquire(chosen)

    async def aclose(self) -> None:
        await self.general.aclose()
        await self.bars.aclose()


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff for 429, 5xx and connection failures: bounded, growing, jittered."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A delay is scaled by a random factor in [1 - jitter, 1]; below 0.5 the delays still
    # grow at both extremes of the jitter, so attempts never bunch up.
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def delay(self, attempt: int, rand: float, retry_after: float | None = None) -> float:
        """Seconds before retry number ``attempt + 1``; ``rand`` in [0, 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        raw = min(self.max_delay, self.base_delay * 2.0**attempt)
        return raw * (1.0 - self.jitter * rand)


def parse_retry_after(value: str | None, now_unix: float) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when: datetime = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = float(when.timestamp()) - now_unix
    else:
        if seconds != seconds:  # NaN
            return None
    return max(0.0, seconds)
