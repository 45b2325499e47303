"""Re-reading the accounts over REST after each (re)connect, apart from the connection itself.

Subscribing sends no snapshot, so whatever happened while the app was away is only visible
over REST (:func:`core.enforcement.reconcile.reconcile_account`). That re-read can fail (a
REST outage, a slow ``Trade/search``) while the live stream is perfectly fine: it then retries
on its own, with backoff, and never tears the hub connection down. Until an account has been
re-read it is not called protected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from core.enforcement.reconcile import read_accounts, reconcile_account
from core.engine.engine import Engine
from core.gateway.rest import GatewayRest

log = logging.getLogger("core.app.service")

REREAD_BACKOFF = (1.0, 2.0, 5.0, 10.0, 15.0)
# An update that could not be applied (RereadNeeded, an impossible value): the account is read
# again after this pause, once for everything that arrived meanwhile, and at most this often.
REQUEST_DEBOUNCE = 0.3
REQUEST_MIN_INTERVAL = 2.0


class AccountRereader:
    def __init__(
        self,
        rest: Callable[[], GatewayRest],
        engine: Callable[[], Engine],
        on_account_done: Callable[[int], None],
        after_all: Callable[[], Awaitable[None]],
        backoff: Sequence[float] = REREAD_BACKOFF,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        before_account: Callable[[int], Awaitable[None]] | None = None,
        debounce: float = REQUEST_DEBOUNCE,
        min_interval: float = REQUEST_MIN_INTERVAL,
    ) -> None:
        self._rest = rest
        self._engine = engine
        self._on_account_done = on_account_done
        self._after_all = after_all
        self.backoff = tuple(backoff) or REREAD_BACKOFF
        self._sleep = sleep
        # Runs before each account's re-read (a rebuilt state file closes new entries first).
        self._before_account = before_account
        self.debounce = debounce
        self.min_interval = min_interval
        self._task: asyncio.Task[None] | None = None
        self._requested: dict[int, str] = {}  # account → why, waiting for the request task
        self._request_task: asyncio.Task[None] | None = None
        self._last_request: dict[int, float] = {}

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, account_ids: Sequence[int]) -> None:
        """Re-read these accounts (again): a re-read still running for an older connection ends."""
        self.stop()
        self._task = asyncio.get_running_loop().create_task(
            self._until_done(list(account_ids)), name="reread"
        )

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def aclose(self) -> None:
        for name in ("_task", "_request_task"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    def request(self, account_id: int, why: str) -> None:
        """Read this account again over REST soon: an update could not be applied as it stood.
        Requests that arrive together are served by one re-read; an account is re-read at most
        every ``min_interval`` seconds. Nothing here waits: the re-read runs in a task."""
        if account_id not in self._requested:
            log.warning("account %s will be read again over REST: %s", account_id, why)
        self._requested.setdefault(account_id, why)
        if self._request_task is None or self._request_task.done():
            self._request_task = asyncio.get_running_loop().create_task(
                self._serve_requests(), name="reread-request")

    async def _serve_requests(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self.debounce)
        failures = 0  # in a row: the pause grows, so a REST outage is not hammered
        while self._requested:
            if self.running:  # the re-read after a (re)connect covers every account
                await asyncio.sleep(self.debounce)
                continue
            now = loop.time()
            wait = max((self._last_request.get(a, -1e9) + self.min_interval - now
                        for a in self._requested), default=0.0)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            accounts, self._requested = list(self._requested), {}
            for account_id in accounts:
                self._last_request[account_id] = loop.time()
            rest, engine = self._rest(), self._engine()
            try:
                listed = await read_accounts(rest, engine)
            except Exception as exc:
                log.warning("re-reading %s over REST failed (%s): trying again", accounts, exc)
                for account_id in accounts:
                    self._requested.setdefault(account_id, "a re-read that failed")
                await asyncio.sleep(self.backoff[min(failures, len(self.backoff) - 1)])
                failures += 1
                continue
            failures = 0
            for account_id in accounts:
                try:
                    await reconcile_account(rest, engine, account_id, listed)
                except Exception as exc:
                    log.warning("re-reading account %s failed (%s): trying again", account_id, exc)
                    self._requested.setdefault(account_id, "a re-read that failed")
                    continue
                self._on_account_done(account_id)
            with contextlib.suppress(Exception):
                await self._after_all()

    async def _until_done(self, pending: list[int]) -> None:
        failures = 0
        while pending:
            rest, engine = self._rest(), self._engine()
            try:
                accounts = await read_accounts(rest, engine)
            except Exception as exc:
                failures = await self._failed("the account list", exc, failures)
                continue
            for account_id in list(pending):
                try:
                    if self._before_account is not None:
                        await self._before_account(account_id)
                    await reconcile_account(rest, engine, account_id, accounts)
                except Exception as exc:
                    log.warning("re-reading account %s failed: %s", account_id, exc)
                    continue
                pending.remove(account_id)
                self._on_account_done(account_id)
            if pending:
                failures = await self._failed(f"{len(pending)} account(s)", None, failures)
        try:
            await self._after_all()
        except Exception as exc:
            log.warning("after the re-read: %s", exc)

    async def once(self, account_ids: Sequence[int]) -> None:
        """One periodic round: each account re-read once; failures are logged and left to the
        next round (the stream is up, nothing waits on this)."""
        rest, engine = self._rest(), self._engine()
        try:
            accounts = await read_accounts(rest, engine)
        except Exception as exc:
            log.warning("periodic reconcile: account search failed: %s", exc)
            return
        for account_id in account_ids:
            try:
                await reconcile_account(rest, engine, account_id, accounts)
            except Exception as exc:
                log.warning("periodic reconcile of %s failed: %s", account_id, exc)
        # What the reconcile found (the stream missed it) needs prices too.
        with contextlib.suppress(Exception):
            await self._after_all()

    async def _failed(self, what: str, exc: Exception | None, failures: int) -> int:
        delay = self.backoff[min(failures, len(self.backoff) - 1)]
        reason = f" ({exc})" if exc is not None else ""
        log.warning(
            "re-reading %s over REST failed%s; the live stream stays up and enforcing; "
            "trying again in %.0f s",
            what, reason, delay,
        )
        await self._sleep(delay)
        return failures + 1

