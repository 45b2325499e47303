"""The AlertDispatcher: notices from the bus, in words, to each service that wants them.

Publishing on the bus is synchronous on the event loop, and enforcement runs on that same
loop. So :meth:`AlertDispatcher.on_notice` only formats a few strings and hands them to each
service's bounded queue with ``put_nowait``; the HTTP work happens in one worker task per
service. Reading the keyring (which can wait on a desktop prompt) and building the TLS context
(tens of milliseconds) happen in a thread, never on the loop. A hanging service only ever
holds up its own worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from core.app.alerts import services
from core.app.alerts.channel import (
    BACKOFF,
    GATHER_SECONDS,
    QUEUE_SIZE,
    Channel,
    Monotonic,
    Sender,
    Sleep,
)
from core.app.alerts.connection import ConnectionWatch
from core.app.alerts.log_guard import LEAKY_LOGGERS, HttpxSecretFilter
from core.app.alerts.secrets import SecretStore, SecretStoreError, read_secrets
from core.app.alerts.trial import TestResult, send_test_message
from core.app.alerts.words import Alert, AlertWords
from core.app.day_summary import DaySummary
from core.app.state_notices import (
    ProtectionGap,
    StateRebuildDone,
    StateRebuilt,
    StateWriteFailed,
    StateWriteRecovered,
)
from core.config.alerts import SERVICES, AlertsConfig, ServiceAlerts
from core.config.models import AppConfig
from core.domain.bus import EventBus
from core.domain.clock import Clock, SystemClock
from core.domain.commands import EnforcementCommand
from core.engine.notices import (
    AccountStatusChanged,
    BreachDetected,
    EnforcementFailed,
    EnforcementRecovered,
    HubStatusChanged,
    LimitWarning,
    LockCleared,
    LockSet,
    LossWarning,
    SymbolLockCleared,
    SymbolLockSet,
)
from core.modules.lockouts import Lock

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds per attempt: an alert is not worth holding a worker longer
REMIND_FAILING_EVERY = 600.0  # seconds: a close still failing is told again this often

# Which event each notice belongs to (every warning before a limit goes under "warning").
_EVENT_OF: dict[type, str] = {
    LockSet: "lock_set",
    SymbolLockSet: "lock_set",
    LockCleared: "lock_lifted",
    SymbolLockCleared: "lock_lifted",
    EnforcementFailed: "enforcement_failing",
    EnforcementRecovered: "enforcement_recovered",
    LossWarning: "warning",
    LimitWarning: "warning",
    BreachDetected: "breach",
    DaySummary: "day_summary",
    # The app's own state: a state file that cannot be written is as urgent as a failing close
    # (a crash would lose the locks); a rebuilt state file is a warning; the gap an unclean stop
    # left in protection is told with the connection's losses.
    StateWriteFailed: "enforcement_failing",
    StateWriteRecovered: "enforcement_recovered",
    StateRebuilt: "warning",
    StateRebuildDone: "warning",
    ProtectionGap: "connection_lost",
}


def _failure_key(command: EnforcementCommand) -> tuple[str, int, str, int]:
    # Not the command itself: a retry of "close X" carries a new reason or timestamp.
    return (type(command).__name__, command.account_id, getattr(command, "contract_id", ""),
            getattr(command, "order_id", 0))


class AlertDispatcher:
    """Subscribe with :meth:`attach`, then :meth:`start` (both on the running loop); stop
    with ``await stop()``. ``config`` is the whole app config (alerts and the timezone)."""

    def __init__(
        self,
        bus: EventBus,
        config: AppConfig,
        secret_store: SecretStore,
        *,
        clock: Clock | None = None,
        contract_name: Callable[[str], str] | None = None,
        locks_in_force: Callable[[int], list[Lock]] | None = None,
        timeout: float = TIMEOUT,
        gather: float = GATHER_SECONDS,
        backoff: Sequence[float] = BACKOFF,
        queue_size: int = QUEUE_SIZE,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.bus = bus
        self.config = config.alerts
        self.store = secret_store
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self._gather, self._backoff, self._queue_size = gather, tuple(backoff), queue_size
        self._monotonic, self._sleep = monotonic, sleep
        self.words = AlertWords(
            config.general.timezone, contract_name=contract_name, locks_in_force=locks_in_force
        )
        self.secrets: dict[str, dict[str, str]] = {s: {} for s in SERVICES}
        self.channels: dict[str, Channel] = {}
        self._routes: dict[str, list[Channel]] = {}  # event → the channels that want it
        self._background: set[asyncio.Task[None]] = set()
        self._client = client
        self._own_client = client is None
        self._sender: Sender | None = None
        self._failing: dict[tuple[str, int, str, int], float] = {}
        self._unsaved = False  # the state file's alarm was told and not yet taken back
        self._unsubscribe: Callable[[], None] | None = None
        self._starting: asyncio.Task[None] | None = None
        self._log_filter = HttpxSecretFilter(self.secret_values)
        self._stopped = False
        self.connection = ConnectionWatch(
            self.words, self._route, self.clock, sleep, self.config.connection_lost_after_seconds
        )
        self._build_channels()

    # --- life --------------------------------------------------------------------------------

    def attach(self) -> None:
        """Start listening to the bus (alerts queue up until :meth:`start` has run)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.bus.subscribe(self.on_notice)
        for name in LEAKY_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)

    def start(self) -> asyncio.Task[None]:
        """Load the secrets and the HTTP client off the loop, then start the workers. Returns
        at once; the returned task finishes when the workers run."""
        self.attach()
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(
                self._prepare(), name="alerts-start"
            )
        return self._starting

    async def _prepare(self) -> None:
        await self.reload_secrets()
        if self._client is None:
            # Building the TLS context reads the CA bundle: ~50 ms that must not stall the loop.
            ssl_context = await asyncio.to_thread(httpx.create_ssl_context)
            self._client = httpx.AsyncClient(
                verify=ssl_context,
                follow_redirects=False,
                headers={"User-Agent": "RiskManager-alerts"},
                limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            )
        self._sender = Sender(self._client, self.timeout, self.clock.now)
        if not self._stopped:
            self._start_workers()

    def _start_workers(self) -> None:
        if self._sender is None:
            return
        for name, channel in self.channels.items():
            lacking = services.missing(name, channel_settings(self.config, name), self.secrets[name])
            if lacking is not None:
                log.warning("%s alerts are on, but %s", services.TITLES[name], lacking)
            channel.start(self._sender)

    def detach(self) -> None:
        """Stop listening to the bus (what is queued stays queued)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.connection.close()
        if self._starting is None:  # no request was ever made: httpx has nothing left to log
            for name in LEAKY_LOGGERS:
                logging.getLogger(name).removeFilter(self._log_filter)

    async def stop(self, flush_timeout: float = 2.0) -> None:
        """Stop listening; send what is still queued if that takes under ``flush_timeout``."""
        self._stopped = True
        self.detach()
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._starting
        if self._background:  # a reload or a switched-off worker stopping
            with contextlib.suppress(asyncio.TimeoutError, Exception):
                await asyncio.wait_for(asyncio.gather(*self._background), 1.0)
        for channel in self.channels.values():
            await channel.stop()
        if self._sender is not None and flush_timeout > 0:
            flushes = [c.flush() for c in self.channels.values() if c.pending()]
            if flushes:
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.gather(*flushes), flush_timeout)
        if self._client is not None and self._own_client:
            await self._client.aclose()
        # After the last request: httpx logs it when its answer comes.
        for name in LEAKY_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    # --- config and secrets --------------------------------------------------------------

    def _build_channels(self) -> None:
        wanted = {name for name in SERVICES if channel_settings(self.config, name).enabled}
        for name in list(self.channels):
            if name not in wanted:
                self._background_task(self.channels.pop(name).stop(), f"alerts-stop-{name}")
        for name in sorted(wanted):
            existing = self.channels.get(name)
            if existing is None:
                existing = self.channels[name] = Channel(
                    name,
                    self._current_for(name),
                    spacing=self.config.seconds_between_messages,
                    queue_size=self._queue_size,
                    gather=self._gather,
                    backoff=self._backoff,
                    monotonic=self._monotonic,
                    sleep=self._sleep,
                )
            existing.spacing = self.config.seconds_between_messages
        routes: dict[str, list[Channel]] = {}
        for name, channel in self.channels.items():
            for event in channel_settings(self.config, name).events:
                routes.setdefault(event, []).append(channel)
        self._routes = routes

    def _background_task(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._background.discard)

    def _current_for(self, name: str) -> Callable[[], tuple[ServiceAlerts, Mapping[str, str]]]:
        return lambda: (channel_settings(self.config, name), self.secrets[name])

    def apply_config(self, config: AppConfig) -> None:
        """A new config is in force (a ConfigManager listener). Services switched on start
        their worker, switched off ones stop; the new timezone and timings apply at once."""
        if self._stopped:
            return
        self.config = config.alerts
        self.words.zone = ZoneInfo(config.general.timezone)
        self.connection.after_seconds = self.config.connection_lost_after_seconds
        self._build_channels()
        if self._sender is not None:
            # The settings page saves a service's secrets with its switch: read them again
            # before starting a worker that would need them.
            self._background_task(self._reload_and_start(), "alerts-reload")

    async def _reload_and_start(self) -> None:
        await self.reload_secrets()
        if not self._stopped:
            self._start_workers()

    async def reload_secrets(self) -> None:
        """Read the secrets again (call it after the settings page saved one; a config change
        does it by itself). The keyring is read in a thread."""
        for name in SERVICES:
            try:
                self.secrets[name] = await read_secrets(self.store, name)
            except SecretStoreError as exc:
                if channel_settings(self.config, name).enabled:
                    log.warning("%s alerts cannot start: %s", services.TITLES[name], exc)
            except Exception as exc:  # a broken keyring backend must not stop the others
                log.warning("%s alerts: the secret store failed (%s)", services.TITLES[name],
                            type(exc).__name__)

    def secret_values(self) -> list[str]:
        """Every secret the alerts hold, in the forms a log line could show; for the app's
        log redaction list."""
        return services.secret_fragments(
            {f"{s}.{k}": v for s, values in self.secrets.items() for k, v in values.items()}
        )

    # --- the bus side (synchronous, on the loop: never waits) --------------------------------

    def on_notice(self, notice: Any) -> None:
        kind = type(notice)
        if kind is AccountStatusChanged or kind is HubStatusChanged:
            if kind is AccountStatusChanged and notice.name:
                self.words.names[notice.account_id] = notice.name
            self.connection.on_notice(notice)
            return
        event = _EVENT_OF.get(kind)
        if event is None:
            return
        if kind is EnforcementFailed:
            key = _failure_key(notice.command)
            last = self._failing.get(key)
            tick = self._monotonic()
            if last is not None and tick - last < REMIND_FAILING_EVERY:
                return  # already told: the trader's phone need not ring on every retry
            self._failing[key] = tick
        elif (
            kind is EnforcementRecovered
            and self._failing.pop(_failure_key(notice.command), None) is None
        ):
            return  # its failure was never told: nothing to take back
        elif kind is StateWriteFailed:
            # Each unwritten item reports: one alert until it is all written again.
            if self._unsaved:
                return
            self._unsaved = True
        elif kind is StateWriteRecovered:
            if not self._unsaved:
                return
            self._unsaved = False
        if event not in self._routes:
            # Nobody wants it: the cheapest way out. BreachDetected is published on the
            # enforcement path itself, before the close is sent.
            return
        if kind is DaySummary and notice.quiet and not self.config.summary_on_quiet_days:
            return
        alert = self.words.describe(notice, self.clock.now())
        if alert is not None:
            self._route(alert)

    def _route(self, alert: Alert) -> None:
        for channel in self._routes.get(alert.event, ()):
            channel.offer(alert)

    # --- the Test button ---------------------------------------------------------------------

    async def send_test(
        self,
        service: str,
        *,
        config: AlertsConfig | None = None,
        secrets: Mapping[str, str] | None = None,
    ) -> TestResult:
        """Send one test message to ``service`` now, with the settings in force (or the ones
        given, for a page not saved yet); the result in plain words."""
        return await send_test_message(
            service, config or self.config, self.store, secrets,
            client=lambda: self._client, timeout=self.timeout, now=self.clock.now,
        )


def channel_settings(config: AlertsConfig, name: str) -> ServiceAlerts:
    return config.service(name)
