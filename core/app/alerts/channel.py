"""One service's queue and the worker task that empties it.

The bus hands alerts over with :meth:`Channel.offer`, a ``put_nowait`` on a bounded queue: it
never waits, whatever the service is doing. When the queue is full the alert is not lost
silently: it is kept aside (if it matters: high and urgent ones, up to a few) or counted, and
goes out in the next digest.

The worker waits a moment after the first alert of a burst (so a lock, its breach and its
enforcement arrive as one message), keeps at least ``spacing`` seconds between messages, and
sends whatever is queued by then as one message: a storm becomes a few digests, never a flood.
Each message is tried again after a 5xx, a 429 (after the Retry-After the service asks for)
or a network failure, with backoff; a refusal (other 4xx) is not retried. Failures are logged
in words that never contain the webhook URL or a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from core.app.alerts import services
from core.app.alerts.services import Message, Outgoing
from core.app.alerts.words import Alert, Priority
from core.config.alerts import ServiceAlerts

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Monotonic = Callable[[], float]

QUEUE_SIZE = 50
KEEP_ASIDE = 20  # high and urgent alerts kept whole when the queue is full
GATHER_SECONDS = 1.0
BACKOFF = (1.0, 2.0, 5.0, 10.0)  # seconds before the 2nd, 3rd, … attempt
MAX_RETRY_AFTER = 300.0  # a service asking for longer gets this; the queue keeps gathering


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retry: bool = False
    problem: str = ""  # in words, never with a secret
    wait: float | None = None  # the service's Retry-After, seconds


def retry_after(response: httpx.Response, now: Callable[[], datetime]) -> float | None:
    """Seconds the service asks us to wait: the Retry-After header (seconds or an HTTP date),
    else the JSON body's ``retry_after``."""
    header = response.headers.get("Retry-After")
    if header:
        text = header.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, (when - now()).total_seconds())
        else:
            if math.isfinite(seconds) and seconds >= 0:
                return seconds
    return services.retry_after_in_body(response.content)


class Sender:
    """Posts one :class:`Outgoing` and judges the answer."""

    def __init__(self, client: httpx.AsyncClient, timeout: float,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client = client
        self.timeout = timeout
        self._now = now

    async def post(self, service: str, outgoing: Outgoing, settings: ServiceAlerts) -> Outcome:
        name = services.TITLES[service]
        try:
            response = await self.client.post(
                outgoing.url,
                headers=dict(outgoing.headers),
                json=outgoing.json,
                content=outgoing.content,
                timeout=self.timeout,
            )
        except httpx.TimeoutException:
            return Outcome(False, True, f"{name} did not answer within {self.timeout:g} s")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            return Outcome(False, False, f"the saved address for {name} is not a valid web address")
        except httpx.TransportError as exc:
            # The exception text may quote the address: only its kind is told.
            return Outcome(False, True, f"could not reach {name} ({type(exc).__name__})")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True)
        if status == 429:
            return Outcome(False, True, f"{name} says too many messages (429)",
                           retry_after(response, self._now))
        if status >= 500:
            return Outcome(False, True, f"{name} had a server error ({status})",
                           retry_after(response, self._now))
        if 300 <= status < 400:
            return Outcome(False, False, f"{name} answered with a redirect ({status}): check the address")
        return Outcome(False, False, services.refusal(service, status, response.content, settings))


class Channel:
    """The queue and worker of one service. ``current`` returns its settings and secrets as
    they are now (the dispatcher swaps them when the config or a secret changes)."""

    def __init__(
        self,
        service: str,
        current: Callable[[], tuple[ServiceAlerts, Mapping[str, str]]],
        *,
        spacing: float,
        queue_size: int = QUEUE_SIZE,
        gather: float = GATHER_SECONDS,
        backoff: Sequence[float] = BACKOFF,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.service = service
        self._current = current
        self.spacing = spacing
        self.gather = gather
        self.backoff = tuple(backoff) or BACKOFF
        self._monotonic = monotonic
        self._sleep = sleep
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(queue_size)
        self._aside: deque[Alert] = deque(maxlen=KEEP_ASIDE)
        self.offered = 0  # alerts handed over, ever
        self.dropped = 0  # counted only: left out of the queue and of the aside list
        self.unsent = 0  # alerts whose message finally failed; told in the next one
        self.sent_messages = 0
        self._last_sent: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.sender: Sender | None = None

    @property
    def title(self) -> str:
        return services.TITLES[self.service]

    # --- the bus side: never waits ---------------------------------------------------------

    def offer(self, alert: Alert) -> None:
        self.offered += 1
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            if alert.priority >= Priority.HIGH:
                if len(self._aside) == self._aside.maxlen:
                    self.dropped += 1  # the oldest kept one gives way, but is still counted
                self._aside.append(alert)
            else:
                self.dropped += 1

    def pending(self) -> int:
        return self.queue.qsize() + len(self._aside) + self.dropped

    # --- the worker ------------------------------------------------------------------------

    def start(self, sender: Sender) -> None:
        self.sender = sender
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"alerts-{self.service}"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self) -> None:
        """Send what is waiting now, in one message, without the gather and spacing waits
        (at shutdown, bounded by the caller's timeout)."""
        message = self._take(None)
        if message is not None:
            await self.deliver(message)

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            try:
                if self.gather > 0:
                    await self._sleep(self.gather)
                if self._last_sent is not None:
                    wait = self._last_sent + self.spacing - self._monotonic()
                    if wait > 0:
                        await self._sleep(wait)
                message = self._take(first)
                if message is not None:
                    await self.deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug here must cost this message at most, never the worker.
                log.exception("%s alerts: a message could not be prepared", self.title)
            finally:
                self._last_sent = self._monotonic()

    def _take(self, first: Alert | None) -> Message | None:
        batch = [first] if first is not None else []
        while True:
            try:
                batch.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        # What was kept aside arrived after what is queued (the queue was full by then).
        batch.extend(self._aside)
        self._aside.clear()
        dropped, self.dropped = self.dropped, 0
        if not batch and not dropped:
            return None
        if not batch:
            # Only counted ones: say how many, in words.
            batch = [Alert("digest", "More alerts", f"{dropped} alerts arrived too fast to list.",
                           Priority.DEFAULT, datetime.now(UTC))]
            dropped = 0
        unsent, self.unsent = self.unsent, 0
        return Message(tuple(batch), dropped, unsent)

    async def deliver(self, message: Message) -> bool:
        """Send with retries; True when the service took it."""
        settings, secrets = self._current()
        lacking = services.missing(self.service, settings, secrets)
        if lacking is not None or self.sender is None:
            log.warning("%s alert not sent: %s", self.title, lacking or "not started")
            self.unsent += message.count
            return False
        outgoing = services.request(self.service, message, settings, secrets)
        attempts = len(self.backoff) + 1
        outcome = Outcome(False)
        for attempt in range(1, attempts + 1):
            outcome = await self.sender.post(self.service, outgoing, settings)
            if outcome.ok:
                self.sent_messages += 1
                return True
            if not outcome.retry or attempt == attempts:
                break
            delay = self.backoff[attempt - 1]
            if outcome.wait is not None:
                delay = min(max(outcome.wait, 0.0), MAX_RETRY_AFTER)
            log.info("%s alert: %s; trying again in %.0f s", self.title, outcome.problem, delay)
            await self._sleep(delay)
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        log.warning("%s alert not sent%s: %s", self.title, tries, outcome.problem)
        self.unsent += message.count
        return False
