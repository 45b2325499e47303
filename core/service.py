"""The service: one object that owns the engine's whole life.

start(): open the state file and restore (locks first), log in, load contracts, pick the
protected accounts, connect both hubs; each (re)connect re-subscribes and reconciles over
REST before an account counts as **protected** again. stop(): hubs, tasks, HTTP and the
writers, in that order, without hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from core.bus import EventBus
from core.clock import Clock, SystemClock
from core.config.io import APP_DIR_NAME
from core.config.models import AppConfig
from core.enforcement import EnforcementExecutor
from core.engine import Engine
from core.events import ParseError, PositionEvent, parse_market_push, parse_user_push
from core.gateway.credentials import Credentials
from core.gateway.hubs import MARKET_EVENTS, USER_EVENTS, Hub, HubState
from core.gateway.rest import GatewayRest
from core.holidays import load_holidays
from core.notices import AccountStatusChanged, HubStatusChanged
from core.persistence.database import Database
from core.persistence.store import StateStore
from core.persistence.writers import Inbox, SubmitsWork
from core.reconcile import reconcile_account

log = logging.getLogger(__name__)

PROTECTED = "protected"
RECONNECTING = "reconnecting"
RECONCILING = "reconciling"
STARTING = "starting"


def resolve_data_dir(config: AppConfig) -> Path:
    return Path(config.general.data_dir) if config.general.data_dir else Path(user_data_dir(APP_DIR_NAME, appauthor=False))


class RiskService:
    def __init__(
        self,
        config: AppConfig,
        credentials: Credentials,
        *,
        data_dir: Path | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        db_executor: Executor | SubmitsWork | None = None,
        tick_interval: float = 1.0,
        reconcile_interval: float = 60.0,
        hub_options: dict[str, Any] | None = None,
        rest_factory: Callable[[], GatewayRest] | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.data_dir = data_dir or resolve_data_dir(config)
        self.clock = clock or SystemClock()
        self.bus = bus or EventBus()
        self._db_executor = db_executor
        self.tick_interval = tick_interval
        self.reconcile_interval = reconcile_interval
        self._hub_options = hub_options or {}
        self._rest_factory = rest_factory
        self.status: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self._quote_subscriptions: set[str] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self.engine: Engine
        self.rest: GatewayRest
        self.enforcement: EnforcementExecutor
        self.user_hub: Hub
        self.market_hub: Hub
        self.store: StateStore

    # --- start / stop --------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        gw = self.config.gateway
        inbox = Inbox()
        inbox.attach(loop.call_soon_threadsafe)
        self.store = StateStore(Database(self.data_dir / "state.db"), inbox, self._db_executor)
        self.rest = (
            self._rest_factory()
            if self._rest_factory
            else GatewayRest(gw.api_url, self.credentials.username, self.credentials.api_key)
        )
        self.engine = Engine(self.config, self.clock, _NoPort(), self.bus, self.store, load_holidays())
        self.enforcement = EnforcementExecutor(
            self.rest, self.bus, self.engine.enforcement_log, self.clock, contract_name=self._contract_name
        )
        self.engine.port = self.enforcement
        self.engine.restore()  # locks are enforced from here on, even before the gateway answers
        await self.rest.login()
        self.rest.on_token_changed(self._token_changed)
        for contract in await self.rest.available_contracts():
            self.engine.contracts.put(contract)
        self.engine.contracts.loader = self.rest.contract
        accounts = await self.rest.accounts(only_active=True)
        wanted = set(self.config.general.accounts)
        protected = [a for a in accounts if not wanted or a.account_id in wanted]
        missing = wanted - {a.account_id for a in accounts}
        for account_id in sorted(missing):
            log.warning("account %s from the config is not an active account of this login", account_id)
        self.engine.protected = {a.account_id for a in protected}
        for account in protected:
            self.names[account.account_id] = account.name or ""
            self._set_status(account.account_id, STARTING)
        self.user_hub = Hub(
            "user", gw.user_hub_url, lambda: self.rest.token, USER_EVENTS,
            self._on_user_message, self._user_connected,
            on_state=self._hub_state, on_auth_failure=self._relogin, **self._hub_options,
        )
        self.market_hub = Hub(
            "market", gw.market_hub_url, lambda: self.rest.token, MARKET_EVENTS,
            self._on_market_message, self._market_connected,
            on_state=self._hub_state, on_auth_failure=self._relogin, **self._hub_options,
        )
        self.user_hub.start()
        self.market_hub.start()
        self._spawn(self._tick_loop(), "tick")
        self._spawn(self.rest.keep_token_fresh(), "token")
        self._spawn(self._reconcile_loop(), "reconcile")

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for hub_name in ("user_hub", "market_hub"):
            hub = getattr(self, hub_name, None)
            if hub is not None:
                await hub.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if hasattr(self, "enforcement"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.enforcement.drain(), 5.0)
            await self.enforcement.aclose()
        if hasattr(self, "rest"):
            await self.rest.aclose()
        if hasattr(self, "engine"):
            self.engine.flush()
        if hasattr(self, "store"):
            self.store.close()

    def _contract_name(self, contract_id: str) -> str:
        contract = self.engine.contracts.get(contract_id)
        return contract.name if contract and contract.name else contract_id

    # --- status --------------------------------------------------------------------------------

    def protected_accounts(self) -> list[int]:
        return [a for a, s in self.status.items() if s == PROTECTED]

    async def wait_protected(self, timeout: float = 10.0) -> None:
        async def all_protected() -> None:
            while not self.status or any(s != PROTECTED for s in self.status.values()):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(all_protected(), timeout)

    def _set_status(self, account_id: int, status: str) -> None:
        if self.status.get(account_id) == status:
            return
        self.status[account_id] = status
        self.bus.publish(AccountStatusChanged(account_id, status, self.names.get(account_id, "")))

    def _hub_state(self, hub: str, state: HubState) -> None:
        self.bus.publish(HubStatusChanged(hub, state.value))
        if hub == "user" and state in (HubState.DISCONNECTED, HubState.CONNECTING):
            for account_id, status in self.status.items():
                if status == PROTECTED:
                    self._set_status(account_id, RECONNECTING)
        if hub == "market" and state is not HubState.CONNECTED:
            self._quote_subscriptions.clear()

    # --- hubs ----------------------------------------------------------------------------------

    async def _user_connected(self) -> None:
        hub = self.user_hub
        await hub.invoke("SubscribeAccounts", [])
        for account_id in self.status:
            await hub.invoke("SubscribeOrders", [account_id])
            await hub.invoke("SubscribePositions", [account_id])
            await hub.invoke("SubscribeTrades", [account_id])
        for account_id in self.status:
            self._set_status(account_id, RECONCILING)
            await reconcile_account(self.rest, self.engine, account_id)
            self._set_status(account_id, PROTECTED)
        await self._subscribe_held_quotes()

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
            return
        for event in events:
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

    async def _relogin(self) -> None:
        await self.rest.login()

    # --- background loops ----------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            self.engine.tick()
            await asyncio.sleep(self.tick_interval)

    async def _reconcile_loop(self) -> None:
        """Silence on the stream is not proof that nothing happened: re-read now and then."""
        while True:
            await asyncio.sleep(self.reconcile_interval)
            if not self.user_hub.connected:
                continue
            for account_id in list(self.status):
                try:
                    await reconcile_account(self.rest, self.engine, account_id)
                except Exception as exc:
                    log.warning("periodic reconcile of %s failed: %s", account_id, exc)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.append(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None and not self._stopping:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())
        if task in self._tasks and task.get_name() == "quotes":
            self._tasks.remove(task)


class _NoPort:
    def submit(self, command: Any) -> None:
        log.error("enforcement before the executor exists: %r", command)
