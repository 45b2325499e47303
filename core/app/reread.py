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

from core.enforcement.reconcile import reconcile_account
from core.engine.engine import Engine
from core.gateway.rest import GatewayRest

log = logging.getLogger("core.app.service")

REREAD_BACKOFF = (1.0, 2.0, 5.0, 10.0, 15.0)


class AccountRereader:
    def __init__(
        self,
        rest: Callable[[], GatewayRest],
        engine: Callable[[], Engine],
        on_account_done: Callable[[int], None],
        after_all: Callable[[], Awaitable[None]],
        backoff: Sequence[float] = REREAD_BACKOFF,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._rest = rest
        self._engine = engine
        self._on_account_done = on_account_done
        self._after_all = after_all
        self.backoff = tuple(backoff) or REREAD_BACKOFF
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

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
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _until_done(self, pending: list[int]) -> None:
        failures = 0
        while pending:
            rest, engine = self._rest(), self._engine()
            try:
                accounts = await rest.accounts(only_active=False)
            except Exception as exc:
                failures = await self._failed("the account list", exc, failures)
                continue
            for account_id in list(pending):
                try:
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
            accounts = await rest.accounts(only_active=False)
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

