"""Connection lost for longer than N seconds, and back again.

Lost means: a hub that had connected is no longer connected (``HubStatusChanged``), or an
account that had been protected is reconnecting or reconciling (``AccountStatusChanged``).
Starting up is not a loss, and neither is the app stopping. A loss that heals within
``after_seconds`` is not worth a phone buzz; one that lasts gets an alert, and only then does
its end get one too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from core.app.alerts.channel import Sleep
from core.app.alerts.words import Alert, AlertWords
from core.domain.clock import Clock
from core.engine.notices import AccountStatusChanged, HubStatusChanged

_HUB_WORDS = {"user": "account updates", "market": "market data"}
_NOT_PROTECTED = ("reconnecting", "reconciling")


class ConnectionWatch:
    def __init__(
        self,
        words: AlertWords,
        emit: Callable[[Alert], None],
        clock: Clock,
        sleep: Sleep,
        after_seconds: float,
    ) -> None:
        self._words = words
        self._emit = emit
        self._clock = clock
        self._sleep = sleep
        self.after_seconds = after_seconds
        self._hubs: dict[str, str] = {}
        self._hubs_seen_up: set[str] = set()
        self._accounts: dict[int, str] = {}
        self._accounts_seen_protected: set[int] = set()
        self._lost_since: datetime | None = None
        self._episode = 0
        self._told = False  # the current loss was alerted
        self._timer: asyncio.Task[None] | None = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_notice(self, notice: object) -> None:
        if isinstance(notice, HubStatusChanged):
            if notice.state == "stopped":
                return  # the app is shutting down, not losing its link
            self._hubs[notice.hub] = notice.state
            if notice.state == "connected":
                self._hubs_seen_up.add(notice.hub)
        elif isinstance(notice, AccountStatusChanged):
            self._accounts[notice.account_id] = notice.status
            if notice.status == "protected":
                self._accounts_seen_protected.add(notice.account_id)
        else:
            return
        self._update()

    def what_is_down(self) -> str:
        parts = [
            f"{_HUB_WORDS.get(hub, hub)} ({state})"
            for hub, state in sorted(self._hubs.items())
            if hub in self._hubs_seen_up and state != "connected"
        ]
        accounts = [
            self._words.account(a)
            for a, status in sorted(self._accounts.items())
            if a in self._accounts_seen_protected and status in _NOT_PROTECTED
        ]
        text = "; ".join(parts) if parts else "the gateway connection"
        if accounts:
            text += f"; not protected: {', '.join(accounts)}"
        return text

    def _is_down(self) -> bool:
        return any(
            hub in self._hubs_seen_up and state != "connected" for hub, state in self._hubs.items()
        ) or any(
            a in self._accounts_seen_protected and status in _NOT_PROTECTED
            for a, status in self._accounts.items()
        )

    def _update(self) -> None:
        down = self._is_down()
        if down and self._lost_since is None:
            self._lost_since = self._clock.now()
            self._episode += 1
            self._told = False
            self._timer = asyncio.get_running_loop().create_task(
                self._alert_if_still_down(self._episode), name="alerts-connection"
            )
        elif not down and self._lost_since is not None:
            since, told = self._lost_since, self._told
            self._lost_since, self._told = None, False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if told:
                self._emit(self._words.connection_restored(since, self._clock.now()))

    async def _alert_if_still_down(self, episode: int) -> None:
        await self._sleep(self.after_seconds)
        since = self._lost_since
        if episode != self._episode or since is None:
            return
        now = self._clock.now()
        self._told = True
        self._emit(
            self._words.connection_lost(
                self.what_is_down(), since, max(self.after_seconds, (now - since).total_seconds()), now
            )
        )
