"""One authenticated HTTP session against the gateway's REST API: tokens and transport.

Logging in, refreshing with ``Auth/validate`` at half-life, logging in again after a 401, rate
budgets with enforcement going first, backoff on 429 and 5xx, and the envelope check. A
money-moving call is never resent after a failure that may have reached the server.
The typed endpoints live in :mod:`core.gateway.rest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from core.domain.parse import ParseError
from core.gateway.auth import TokenKeeper, TokenListener
from core.gateway.errors import (
    LOGIN,
    VALIDATE,
    AmbiguousResult,
    AuthError,
    GatewayError,
    GatewayHttpError,
    GatewayRestError,
    MalformedResponse,
)
from core.gateway.ratelimit import (
    ENFORCEMENT_ENDPOINTS,
    Clock,
    Priority,
    RateLimiter,
    RetryPolicy,
    Sleep,
    parse_retry_after,
    priority_for,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Raised before any byte of the request left: resending cannot duplicate an order or a close.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)

REFRESH_RETRY = 60.0  # after a validate that failed for transport reasons

# Reads in the background may wait for a slow gateway; enforcement may not. A close, a cancel
# and the re-reads that verify them give up quickly, so the executor can retry and raise its
# alarm in seconds, not after minutes of patient timeouts.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
URGENT_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
URGENT_ATTEMPTS = 2  # an urgent read tries twice, then lets the executor decide
URGENT_MAX_WAIT = 2.0  # a longer Retry-After is the executor's to wait out, not one request's

_urgent: ContextVar[bool] = ContextVar("urgent_requests", default=False)

ServerTimeListener = Callable[[datetime | None], None]


def server_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@contextlib.contextmanager
def urgent_requests() -> Iterator[None]:
    """Every request made inside (in this task and the tasks it starts) is enforcement's:
    short timeouts, few attempts, no long waits."""
    token = _urgent.set(True)
    try:
        yield
    finally:
        _urgent.reset(token)


class RestSession:
    """One authenticated session against the gateway's REST API.

    ``clock`` is monotonic seconds and ``sleep`` an async sleep: both injectable so that tests
    control time. ``wall_clock`` (Unix seconds) is only used to read the JWT's ``exp``.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        api_key: str,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        retry: RetryPolicy | None = None,
        rand: Callable[[], float] = random.random,
        urgent_timeout: httpx.Timeout = URGENT_TIMEOUT,
    ) -> None:
        self._base = base_url.rstrip("/") + "/api/"
        self._username = username
        self._api_key = api_key
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._urgent_timeout = urgent_timeout
        self._sleep = sleep
        self._wall = wall_clock
        self.limiter = limiter or RateLimiter(clock=clock, sleep=sleep)
        self.retry = retry or RetryPolicy()
        self._rand = rand
        self._tokens = TokenKeeper(clock, wall_clock)
        self._auth_lock = asyncio.Lock()
        self._time_listeners: list[ServerTimeListener] = []

    @property
    def token(self) -> str | None:
        return self._tokens.token

    def on_token_changed(self, callback: TokenListener) -> Callable[[], None]:
        """``callback(new_token)`` after each login/refresh; must not block. Returns unsubscribe."""
        return self._tokens.subscribe(callback)

    def on_server_time(self, callback: ServerTimeListener) -> None:
        """``callback(date)`` with each answer's ``Date`` header (None when it has none or it
        cannot be read): the gateway's own time, for the app's clock. Must not block."""
        self._time_listeners.append(callback)

    def _tell_server_time(self, response: httpx.Response) -> None:
        if not self._time_listeners:
            return
        date = server_date(response.headers.get("Date"))
        for listener in self._time_listeners:
            try:
                listener(date)
            except Exception:
                log.exception("server time listener %r failed", listener)

    async def aclose(self) -> None:
        await self.limiter.aclose()
        if self._owns_http:
            await self._http.aclose()

    # --- authentication -------------------------------------------------------------------------

    async def login(self) -> str:
        async with self._auth_lock:
            await self._login_locked()
        assert self._tokens.token is not None
        return self._tokens.token

    async def refresh_token(self) -> str:
        """Extend the session now with ``Auth/validate`` (logging in again if that is refused)."""
        async with self._auth_lock:
            await (self._refresh_locked() if self._tokens.token else self._login_locked())
        assert self._tokens.token is not None
        return self._tokens.token

    async def keep_token_fresh(self) -> None:
        """Run forever, refreshing on schedule even when no other request is being made."""
        while True:
            due = self._tokens.seconds_until_refresh() if self._tokens.token else 0.0
            await self._sleep(max(due, 1.0))
            try:
                await self._valid_token()
            except GatewayRestError as exc:
                log.warning("token refresh failed, retrying in %.0f s: %s", REFRESH_RETRY, exc)
                await self._sleep(REFRESH_RETRY)

    async def _valid_token(self, priority: Priority = Priority.READ) -> str:
        # Refreshing happens at half-life, so the current token still works: an enforcement
        # call never waits for a refresh (reads and keep_token_fresh do it), only for a login.
        tokens = self._tokens
        if tokens.token is not None and priority == Priority.READ and tokens.refresh_due():
            async with self._auth_lock:
                if tokens.token is not None and tokens.refresh_due():
                    await self._refresh_locked()
        if self._tokens.token is None:
            async with self._auth_lock:
                if self._tokens.token is None:
                    await self._login_locked()
        assert self._tokens.token is not None
        return self._tokens.token

    async def _login_locked(self) -> None:
        body = {"userName": self._username, "apiKey": self._api_key}
        response = await self._send(LOGIN, body, Priority.ENFORCEMENT, None)
        if response.status_code == 401:
            raise AuthError(LOGIN, None, "HTTP 401: the gateway refused the login")
        data = self._json(LOGIN, response)
        token, code = data.get("token"), data.get("errorCode")
        if data.get("success") is not True or code != 0 or not isinstance(token, str) or not token:
            message = data.get("errorMessage")
            raise AuthError(
                LOGIN,
                code if isinstance(code, int) else None,
                message if isinstance(message, str) else "no token in the answer",
            )
        self._tokens.set(token)
        log.info("logged in to the gateway as %s", self._username)

    async def _refresh_locked(self) -> None:
        try:
            response = await self._send(VALIDATE, {}, Priority.ENFORCEMENT, self._tokens.token)
            if response.status_code == 401:
                raise AuthError(VALIDATE, None, "HTTP 401")
            new = self._envelope(VALIDATE, response).get("newToken")
        except (GatewayError, MalformedResponse) as exc:
            log.info("token validation refused (%s); logging in again", exc)
            new = None
        except GatewayHttpError as exc:
            # The token is at most half-way through its life: keep using it and try again soon.
            log.warning("token validation unavailable, keeping the current token: %s", exc)
            self._tokens.schedule(REFRESH_RETRY)
            return
        if isinstance(new, str) and new:
            self._tokens.set(new)
        else:
            # No new token (or none offered): a fresh login gives one with a known lifetime.
            await self._login_locked()

    async def _relogin_after_401(self, rejected: str | None) -> None:
        async with self._auth_lock:
            if self._tokens.token is None or self._tokens.token == rejected:
                await self._login_locked()
            # else: another request already replaced the rejected token

    # --- transport ------------------------------------------------------------------------------

    async def _call(self, endpoint: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        priority = priority_for(endpoint)
        token = await self._valid_token(priority)
        response = await self._send(endpoint, body, priority, token)
        if response.status_code == 401:
            # A 401 is refused before execution, so even a money-moving call may go again once.
            log.info("%s: HTTP 401, logging in again", endpoint)
            await self._relogin_after_401(token)
            response = await self._send(endpoint, body, priority, self._tokens.token)
            if response.status_code == 401:
                raise AuthError(endpoint, None, "HTTP 401 even after logging in again")
        return self._envelope(endpoint, response)

    async def _send(
        self, endpoint: str, body: Mapping[str, Any], priority: Priority, token: str | None
    ) -> httpx.Response:
        """POST with backoff; returns a 200 or 401 response and raises for anything else."""
        unsafe = endpoint in ENFORCEMENT_ENDPOINTS
        urgent = unsafe or _urgent.get()
        timeout = self._urgent_timeout if urgent else httpx.USE_CLIENT_DEFAULT
        max_attempts = self.retry.max_attempts
        if urgent and not unsafe:
            max_attempts = min(max_attempts, URGENT_ATTEMPTS)
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            await self.limiter.acquire(endpoint, priority)
            status: int | None = None
            retry_after: float | None = None
            try:
                response = await self._http.post(
                    self._base + endpoint, json=body, headers=headers, timeout=timeout
                )
            except httpx.TransportError as exc:
                detail = f"{type(exc).__name__}: {exc}"
                if unsafe and not isinstance(exc, _NOT_SENT):
                    raise AmbiguousResult(endpoint, detail) from None
            else:
                self._tell_server_time(response)
                status = response.status_code
                if status in (200, 401):
                    return response
                detail = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status != 429 and status < 500:
                    raise GatewayHttpError(endpoint, status, detail)
                if unsafe and status >= 500:
                    # The server had the request and may have acted on it before failing.
                    raise AmbiguousResult(endpoint, detail)
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self._wall())
            attempt += 1
            if attempt >= max_attempts:
                raise GatewayHttpError(
                    endpoint, status, f"gave up after {attempt} attempts: {detail}"
                )
            delay = self.retry.delay(attempt - 1, self._rand(), retry_after)
            if urgent and delay > URGENT_MAX_WAIT:
                raise GatewayHttpError(
                    endpoint, status, f"{detail}; asked to wait {delay:.0f} s, not waiting here"
                )
            log.warning("%s: %s; retry %d in %.2f s", endpoint, detail, attempt, delay)
            await self._sleep(delay)

    def _json(self, endpoint: str, response: httpx.Response) -> Mapping[str, Any]:
        detail = "the answer is not a JSON object"
        try:
            data = response.json()
        except ValueError:
            data = None
        except RecursionError:
            # Thousands of nested brackets: hostile or broken, never a gateway answer.
            data, detail = None, "the answer is nested too deeply to read"
        if isinstance(data, Mapping):
            return data
        if endpoint in ENFORCEMENT_ENDPOINTS:
            # It was processed, but whether it succeeded cannot be read.
            raise AmbiguousResult(endpoint, detail)
        raise MalformedResponse(endpoint, response.status_code, detail)

    def _envelope(self, endpoint: str, response: httpx.Response) -> Mapping[str, Any]:
        data = self._json(endpoint, response)
        code = data.get("errorCode")
        if data.get("success") is True and code in (0, None):
            return data
        message = data.get("errorMessage")
        raise GatewayError(
            endpoint,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            message if isinstance(message, str) else None,
        )

    @staticmethod
    def _items(
        endpoint: str, data: Mapping[str, Any], key: str, parser: Callable[[Any], T],
        *, whole: bool = False,
    ) -> list[T]:
        """The list under ``key``, parsed. ``whole``: the list is read as the whole truth (the
        open positions, the working orders), so an item that cannot be read makes the answer
        unusable: a position skipped would read as a position closed."""
        items = data.get(key)
        if not isinstance(items, list):
            # Never read a missing list as "empty": an empty position list means flat.
            raise MalformedResponse(endpoint, 200, f"no {key!r} list in the answer")
        out: list[T] = []
        for item in items:
            try:
                out.append(parser(item))
            except ParseError as exc:
                if whole:
                    raise MalformedResponse(endpoint, 200, f"an item cannot be read: {exc}") from None
                log.warning("%s: skipping a malformed item: %s", endpoint, exc)
            except RecursionError:
                if whole:
                    raise MalformedResponse(endpoint, 200, "an item is nested too deeply") from None
                log.warning("%s: skipping an item nested too deeply to read", endpoint)
        return out
