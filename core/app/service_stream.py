"""What the service does with its two hub connections: subscribe and re-read when the user hub
connects, subscribe quotes for what is held, route each push to the engine (an impossible value
re-reads its account instead of guessing), and keep the hubs' tokens fresh. A mixin of
:class:`core.app.service.RiskService`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from core.app.service_accounts import RECONCILING
from core.domain.bus import EventBus
from core.domain.clock import Clock, GatewayClock
from core.domain.events import PositionEvent, TradeEvent
from core.domain.parse import ParseError, parse_market_push, parse_user_push
from core.engine.engine import Engine
from core.engine.notices import HubStatusChanged, RereadNeeded
from core.gateway.hubs import Hub, HubState
from core.gateway.rest import GatewayRest

if TYPE_CHECKING:
    from core.app.reread import AccountRereader
    from core.app.state_guard import StateGuard

log = logging.getLogger("core.app.service")

PROTECTED = "protected"
RECONNECTING = "reconnecting"


class StreamWiring:
    # Provided by RiskService.
    bus: EventBus
    clock: Clock
    engine: Engine
    rest: GatewayRest
    user_hub: Hub
    market_hub: Hub
    status: dict[int, str]
    guard: StateGuard | None
    _rereader: AccountRereader
    _quote_subscriptions: set[str]
    _hub_tokens: dict[str, str | None]
    _relogin_lock: asyncio.Lock

    def _set_status(self, account_id: int, status: str) -> None:
        raise NotImplementedError

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        raise NotImplementedError

    def _hub_state(self, hub: str, state: HubState) -> None:
        self.bus.publish(HubStatusChanged(hub, state.value))
        if hub == "user" and state in (HubState.DISCONNECTED, HubState.CONNECTING):
            # A re-read for the lost connection is moot: the next connection starts its own.
            self._rereader.stop()
            for account_id, status in self.status.items():
                if status in (PROTECTED, RECONCILING):
                    self._set_status(account_id, RECONNECTING)
        if hub == "market" and state is not HubState.CONNECTED:
            self._quote_subscriptions.clear()
            if hasattr(self, "engine"):
                # Prices from before the outage are stale: an old mark must never close a
                # position; until fresh quotes arrive no open-P&L decision is taken.
                self.engine.quotes.clear()

    # --- hubs ----------------------------------------------------------------------------------

    async def _user_connected(self) -> None:
        """Subscribe, then re-read over REST in the background.

        Only a failed subscription fails the connection. A failed re-read (a REST outage, a
        slow ``Trade/search``) is retried on its own while this connection stays up: the
        stream keeps delivering breaches and the engine keeps enforcing them.
        """
        hub = self.user_hub
        await hub.invoke("SubscribeAccounts", [])
        for account_id in self.status:
            await hub.invoke("SubscribeOrders", [account_id])
            await hub.invoke("SubscribePositions", [account_id])
            await hub.invoke("SubscribeTrades", [account_id])
        for account_id in self.status:
            self._set_status(account_id, RECONCILING)
        self._rereader.start(list(self.status))

    def _reread_done(self, account_id: int) -> None:
        if self.guard is not None:
            # The day's trades have been read: a rebuilt state file is whole again for it.
            self.guard.history_read(self.engine, account_id, list(self.status))
        if self.user_hub.connected:
            became = self.status.get(account_id) != PROTECTED
            self._set_status(account_id, PROTECTED)
            if became and self.guard is not None and self.guard.gap_to_report(account_id):
                self._spawn(self.guard.report_gap(self.rest, account_id), "gap")

    async def _before_reread(self, account_id: int) -> None:
        if self.guard is not None:
            await self.guard.before_reread(self.rest, self.engine, account_id)

    def _on_reread_needed(self, notice: RereadNeeded) -> None:
        if notice.account_id in self.status:
            self._rereader.request(notice.account_id, notice.why)

    async def _market_connected(self) -> None:
        self._quote_subscriptions.clear()
        await self._subscribe_held_quotes()

    async def _subscribe_held_quotes(self) -> None:
        if not self.market_hub.connected:
            return
        held = {cid for a in self.status for cid in self.engine.mirror.account(a).positions}
        for contract_id in sorted(held - self._quote_subscriptions):
            self._quote_subscriptions.add(contract_id)
            try:
                await self.market_hub.invoke("SubscribeContractQuotes", [contract_id])
            except Exception:
                self._quote_subscriptions.discard(contract_id)
                raise

    def _on_user_message(self, target: str, arguments: list[Any]) -> None:
        try:
            events = parse_user_push(target, arguments)
        except ParseError as exc:
            log.warning("skipped a malformed %s push: %s", target, exc)
            if exc.account_id is not None and exc.account_id in self.status:
                # What it described may have changed: read the account instead of guessing.
                self._rereader.request(exc.account_id, f"an impossible {target} value")
            return
        for event in events:
            if type(event) is TradeEvent and isinstance(self.clock, GatewayClock):
                self.clock.observe_event_time(event.created_at)  # a second witness of the time
            self.engine.handle(event)
            if type(event) is PositionEvent and event.contract_id not in self._quote_subscriptions:
                self._spawn(self._subscribe_held_quotes(), "quotes")

    def _on_market_message(self, target: str, arguments: list[Any]) -> None:
        try:
            events = parse_market_push(target, arguments)
        except ParseError as exc:
            log.warning("skipped a malformed %s push: %s", target, exc)
            return
        for event in events:
            self.engine.handle(event)

    def _token_changed(self, _token: str) -> None:
        # signalrcore keeps the token it started with: new connections carry the new one.
        self.user_hub.rebuild()
        self.market_hub.rebuild()

    def _token_for(self, hub: str) -> Callable[[], str | None]:
        def token() -> str | None:
            self._hub_tokens[hub] = self.rest.token
            return self.rest.token

        return token

    def _relogin_for(self, hub: str) -> Callable[[], Awaitable[None]]:
        async def relogin() -> None:
            # Both hubs are refused together after an expiry: log in once, not once per hub
            # (every login changes the token, and every change rebuilds both hubs again).
            async with self._relogin_lock:
                if self.rest.token == self._hub_tokens.get(hub):
                    await self.rest.login()

        return relogin

