"""The service: one object that owns the engine's whole life.

start(): learn the gateway's time, take the config file's request (with a config manager that
keeps the config in force), open the state file and restore (locks first), log in, load
contracts, pick the protected accounts (and any account a lock still protects), connect both
hubs; each (re)connect re-subscribes and reconciles over REST before an account counts as
**protected** again. A rebuilt state file, an unclean stop and failing state writes are handled
by :class:`core.app.state_guard.StateGuard`. stop(): hubs, tasks, HTTP and the writers, in that
order, without hanging, and the run marked clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from core.app.config_manager import ConfigManager
from core.app.config_vault import ConfigVault
from core.app.credentials import Credentials
from core.app.gateway_time import learn_gateway_time
from core.app.mll_seed import PAUSE as MLL_SEED_PAUSE
from core.app.mll_seed import MllRebuild
from core.app.reread import REREAD_BACKOFF, AccountRereader
from core.app.service_accounts import AccountsInForce
from core.app.service_stream import PROTECTED, StreamWiring
from core.app.state_guard import StateGuard
from core.config.io import APP_DIR_NAME
from core.config.models import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import Clock, GatewayClock
from core.domain.events import AccountEvent
from core.domain.holidays import load_holidays
from core.domain.words import rule_label
from core.enforcement.executor import EnforcementExecutor
from core.engine.engine import Engine
from core.engine.notices import AccountStatusChanged, RereadNeeded
from core.gateway.errors import AuthError, GatewayRestError
from core.gateway.hubs import MARKET_EVENTS, USER_EVENTS, Hub
from core.gateway.rest import GatewayRest
from core.modules.contracts import Contract
from core.persistence.database import Database
from core.persistence.store import StateStore
from core.persistence.writers import Inbox, SubmitsWork

log = logging.getLogger(__name__)


STARTUP_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)  # seconds between attempts to reach the gateway
TIME_PROBE_TIMEOUT = 3.0  # how long restoring waits to learn the gateway's time first


def resolve_data_dir(config: AppConfig) -> Path:
    return Path(config.general.data_dir) if config.general.data_dir else Path(user_data_dir(APP_DIR_NAME, appauthor=False))


def _vault_of(manager: ConfigManager | None) -> ConfigVault | None:
    return manager.vault if manager is not None else None


class RiskService(StreamWiring, AccountsInForce):
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
        startup_backoff: Sequence[float] = STARTUP_BACKOFF,
        reread_backoff: Sequence[float] = REREAD_BACKOFF,
        hub_options: dict[str, Any] | None = None,
        enforcement_options: dict[str, Any] | None = None,
        rest_factory: Callable[[], GatewayRest] | None = None,
        config_manager: ConfigManager | None = None,
        mll_seed_pause: float = MLL_SEED_PAUSE,
    ) -> None:
        vault = _vault_of(config_manager)
        # With a vault the config in force is the vault's (the file is a request, taken at
        # start), and the state lives where the vault found it, whatever the file says.
        self.config = config_manager.config if config_manager is not None and vault is not None else config
        self.credentials = credentials
        self.data_dir = data_dir or (vault.data_dir if vault is not None else resolve_data_dir(config))
        # The gateway's time run on the monotonic clock: moving the PC's clock neither ends a
        # lock nor starts a trading day.
        self.clock: Clock = clock or GatewayClock()
        self.bus = bus or EventBus()
        self._db_executor = db_executor
        self.tick_interval = tick_interval
        self.reconcile_interval = reconcile_interval
        self.startup_backoff = tuple(startup_backoff) or STARTUP_BACKOFF
        self._rereader = AccountRereader(
            lambda: self.rest, lambda: self.engine, self._reread_done,
            self._subscribe_held_quotes, reread_backoff,
            before_account=self._before_reread,
        )
        self.guard: StateGuard | None = None
        self._mll_seed_pause = mll_seed_pause
        self._hub_options = hub_options or {}
        self._enforcement_options = enforcement_options or {}
        self._rest_factory = rest_factory
        # Owns edits from the settings window and the loosenings that wait for the reset.
        self.config_manager = config_manager
        self.status: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self._quote_subscriptions: set[str] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._relogin_lock = asyncio.Lock()
        self._hub_tokens: dict[str, str | None] = {}  # the token each hub last connected with
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
        vault = _vault_of(self.config_manager)
        db = vault.db if vault is not None and vault.db.path == self.data_dir / "state.db" else None
        self.store = StateStore(db or Database(self.data_dir / "state.db"), inbox, self._db_executor)
        self.rest = (
            self._rest_factory()
            if self._rest_factory
            else GatewayRest(gw.api_url, self.credentials.username, self.credentials.api_key)
        )
        if isinstance(self.clock, GatewayClock):
            self.rest.on_server_time(self.clock.observe_server_date)
            await learn_gateway_time(self.clock, self.rest.login, TIME_PROBE_TIMEOUT)
        self.guard = StateGuard(self.store, self.bus, self.clock, vault)
        if self.config_manager is not None and vault is not None:
            # The config file is a request, judged once the time is known (a clock moved back
            # must not bring the reset a loosening waits for any closer).
            known = getattr(self.clock, "anchored", True)
            self.config_manager.take_request(None if known else self.guard.latest_known_time())
            self.config = self.config_manager.config
        self.engine = Engine(self.config, self.clock, _NoPort(), self.bus, self.store, load_holidays())
        if self.config_manager is not None:
            self.config_manager.add_listener(self._config_changed)
        self.enforcement = EnforcementExecutor(
            self.rest, self.bus, self.engine.enforcement_log, self.clock,
            contract_name=self._contract_name, **self._enforcement_options,
        )
        self.engine.port = self.enforcement
        self.engine.restore()  # locks are enforced from here on, even before the gateway answers
        self._log_restored_locks()
        self.guard.started(self.engine)  # a rebuilt state file, an unclean stop: said now
        self.bus.subscribe(self._on_reread_needed, RereadNeeded)
        # Timers, lock expiry and the daily reset run from here on, even with no gateway yet.
        self._spawn(self._tick_loop(), "tick")
        contracts, accounts = await self._reach_gateway()
        self.rest.on_token_changed(self._token_changed)
        for contract in contracts:
            self.engine.contracts.put(contract)
        self.engine.contracts.loader = self.rest.contract
        protected = self._choose_accounts(accounts)
        self.user_hub = Hub(
            "user", gw.user_hub_url, self._token_for("user"), USER_EVENTS,
            self._on_user_message, self._user_connected,
            on_state=self._hub_state, on_auth_failure=self._relogin_for("user"), **self._hub_options,
        )
        self.market_hub = Hub(
            "market", gw.market_hub_url, self._token_for("market"), MARKET_EVENTS,
            self._on_market_message, self._market_connected,
            on_state=self._hub_state, on_auth_failure=self._relogin_for("market"),
            **self._hub_options,
        )
        self.user_hub.start()
        self.market_hub.start()
        self._spawn(self.rest.keep_token_fresh(), "token")
        self._spawn(self._reconcile_loop(), "reconcile")
        # The MLL floor and the scaling tier brought up to date with every ended trading day.
        MllRebuild(self.engine, self.rest, self._spawn, self._mll_seed_pause).start(protected)

    async def start_unless(self, stop: asyncio.Event) -> bool:
        """:meth:`start`, abandoned if ``stop`` is set first; True if it completed.

        start() keeps trying while the gateway is unreachable, so a caller that must also
        honour a quit request (a signal, the tray's Quit) starts with this. Errors from
        start() (refused credentials) are raised. Call :meth:`stop` afterwards either way.
        """
        starting = asyncio.ensure_future(self.start())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((starting, stopped), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            starting.cancel()
            raise
        finally:
            stopped.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return False
        starting.result()
        return True

    async def _reach_gateway(self) -> tuple[list[Contract], list[AccountEvent]]:
        """Log in, load contracts and accounts; keep trying while the gateway cannot be reached.

        Starting with the network down (a laptop waking, autostart before Wi-Fi) must not end
        protection: only a refused login (bad credentials) is final.
        """
        failures = 0
        while True:
            try:
                if self.rest.token is None:
                    await self.rest.login()
                contracts = await self.rest.available_contracts()
                accounts = await self.rest.accounts(only_active=True)
                return contracts, accounts
            except AuthError:
                raise
            except GatewayRestError as exc:
                delay = self.startup_backoff[min(failures, len(self.startup_backoff) - 1)]
                failures += 1
                log.warning("cannot reach the gateway (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        for hub_name in ("user_hub", "market_hub"):
            hub = getattr(self, hub_name, None)
            if hub is not None:
                await hub.stop()
        await self._rereader.aclose()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if hasattr(self, "enforcement"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.enforcement.drain(), 5.0)
            await self.enforcement.aclose()
        if hasattr(self, "engine"):
            self.engine.contracts.close()  # no contract lookup outlives the gateway client
        if hasattr(self, "rest"):
            await self.rest.aclose()
        if hasattr(self, "engine"):
            self.engine.flush()
        if self.guard is not None:
            self.guard.stopped()  # the run is marked clean: the next start has nothing to report
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

    async def _tick_loop(self) -> None:
        while True:
            if isinstance(self.clock, GatewayClock):
                self.clock.check_skew()  # a PC clock moved now is logged now
            self.engine.tick()
            if self.guard is not None:
                self.guard.heartbeat()
            if self.config_manager is not None and self.engine.time_known():
                try:
                    # A loosening approved earlier comes into force at the reset (the manager's
                    # listener hands it to the engine).
                    self.config_manager.apply_pending_if_due(self.clock.now(), self.engine.calendar)
                except Exception:
                    log.exception("applying the waiting config changes failed")
            await asyncio.sleep(self.tick_interval)

    async def _reconcile_loop(self) -> None:
        """Silence on the stream is not proof that nothing happened: re-read now and then."""
        while True:
            await asyncio.sleep(self.reconcile_interval)
            # Not while disconnected, nor while the re-read after a (re)connect is still at it.
            if self.user_hub.connected and not self._rereader.running:
                await self._rereader.once(list(self.status))

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
        log.error("%s: account %s could not be enforced, the gateway connection is not ready yet "
                  "(%s)", rule_label(command.rule_id), command.account_id, command.reason)
