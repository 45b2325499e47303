"""Headless mode: the same service with no GUI, logging to stdout until SIGINT/SIGTERM.

As in the tray app: one copy per user (a second exits 1), the config in force kept with the
state (the config file is a request: what loosens waits for the reset, and is logged), and the
off-PC alerts, their secrets read from the OS keyring or, with none, the user-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.app.alerts import SecretStore, start_alerts
from core.app.anchor import Anchor
from core.app.autostart import Backend
from core.app.config_manager import ConfigManager, open_config_manager
from core.app.credentials import Credentials, CredentialsError, load_credentials
from core.app.instance import AlreadyRunning, InstanceLock
from core.app.notice_log import NoticeLog
from core.app.secret_store import AppSecretStore
from core.app.service import RiskService
from core.config.io import default_config_path, save_config
from core.config.models import AppConfig
from core.domain.clock import GatewayClock
from core.gateway.redact import install_redaction

if TYPE_CHECKING:
    from core.sim.server import SimulatedGateway

log = logging.getLogger("riskmanager")

EXIT_OK, EXIT_FAILURE, EXIT_BAD_CONFIG = 0, 1, 2


class CurrentToken:
    """Stands in the secrets list for the service's token of the moment."""

    def __init__(self, service: RiskService) -> None:
        self._service = service

    def __str__(self) -> str:
        rest = getattr(self._service, "rest", None)
        return (rest.token or "") if rest is not None else ""


# What the log redaction list holds: a secret, the token of the moment, or a source of several
# (the alerts' webhook addresses and tokens, read from the secret store after start).
Secret = str | CurrentToken | Callable[[], Iterable[str]]


def redaction_values(secrets: Sequence[Secret]) -> list[str]:
    values: list[str] = []
    for secret in secrets:
        if callable(secret):
            values.extend(secret())
        else:
            values.append(str(secret))
    return [value for value in values if value]


def configure_logging(secrets: list[Secret]) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "aiohttp.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_redaction(lambda: redaction_values(secrets))


async def start_demo_gateway(config: AppConfig) -> tuple[SimulatedGateway, AppConfig, Credentials]:
    """The embedded simulated gateway on 127.0.0.1 with a scripted trader and a moving market."""
    from core.sim.server import (
        DEMO_API_KEY,
        DEMO_COMBINE_ID,
        DEMO_USERNAME,
        END_OF_DAY_EVERY,
        SimulatedGateway,
    )

    gateway = SimulatedGateway(end_of_day_interval=END_OF_DAY_EVERY)
    await gateway.start()
    gateway.start_demo_trader()
    # The Combine near its floor gets a trader too: the Topstep guard flattens and locks it.
    gateway.start_demo_trader(DEMO_COMBINE_ID, seed=1)
    demo_config = config.model_copy(
        update={
            "gateway": config.gateway.model_copy(
                update={
                    "api_url": gateway.base_url,
                    "user_hub_url": gateway.user_hub_url,
                    "market_hub_url": gateway.market_hub_url,
                    "username": DEMO_USERNAME,
                }
            )
        }
    )
    return gateway, demo_config, Credentials(DEMO_USERNAME, DEMO_API_KEY)


async def run_headless(
    config: AppConfig,
    *,
    demo: bool,
    stop: asyncio.Event | None = None,
    instance: InstanceLock | None = None,
    config_path: Path | None = None,
    anchor: Anchor | None = None,
    secret_store: SecretStore | None = None,
    autostart_backend: Backend | None = None,
) -> int:
    """``config`` is the config file as read (a request); ``config_path`` where it came from
    (default: the user's config file). ``anchor``, ``secret_store`` and ``autostart_backend``
    replace the user's own (tests)."""
    stop = stop or asyncio.Event()
    secrets: list[Secret] = []
    configure_logging(secrets)
    gateway = None
    data_dir: Path | None = None
    instance = instance or InstanceLock()
    if not demo:
        try:
            instance.acquire("headless")
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            log.error("not starting: %s", exc)
            return EXIT_FAILURE
    manager: ConfigManager | None = None
    try:
        clock = GatewayClock()
        if demo:
            gateway, config, credentials = await start_demo_gateway(config)
            if not config.general.data_dir:
                # A fresh state file per demo run: an old demo's lock must not greet a newcomer.
                data_dir = Path(tempfile.mkdtemp(prefix="riskmanager-demo-"))
                config = config.model_copy(update={"general": config.general.model_copy(
                    update={"data_dir": str(data_dir)})})
            # The demo keeps its own config in force beside its own state, never the user's.
            demo_dir = Path(config.general.data_dir)
            config_path = demo_dir / "config.toml"
            save_config(config, config_path)
            anchor = Anchor(demo_dir / "anchor.json")
            log.info("demo gateway running at %s", config.gateway.api_url)
        try:
            manager = open_config_manager(
                config_path or default_config_path(), config, clock=clock, anchor=anchor,
                autostart_backend=autostart_backend)
        except Exception as exc:
            print(f"cannot open the state in force: {exc}", file=sys.stderr)
            log.error("cannot open the state in force: %s", exc)
            return EXIT_FAILURE
        if not demo:
            try:
                # Who to log in as is part of the config in force (a new user waits for the reset).
                credentials = load_credentials(manager.config.gateway.username or None)
            except CredentialsError as exc:
                print(f"bad config: {exc}", file=sys.stderr)
                return EXIT_BAD_CONFIG
        secrets.append(credentials.api_key)
        service = RiskService(config, credentials, data_dir=data_dir, clock=clock,
                              config_manager=manager)
        # The token changes on every refresh: redact whichever one is current.
        secrets.append(CurrentToken(service))
        notices = NoticeLog(service.bus, manager.config.general.timezone,
                            enforces_anything=service.enforces_anything)
        alerts = start_alerts(service, secret_store if secret_store is not None else AppSecretStore())
        secrets.append(alerts.dispatcher.secret_values)  # no webhook address in any log line
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: no signal handlers
                loop.add_signal_handler(sig, stop.set)
        try:
            # start() keeps trying while the gateway is unreachable: a stop request must still
            # be heard meanwhile.
            if await service.start_unless(stop):
                await stop.wait()
            log.info("stopping")
        except Exception as exc:
            log.error("cannot run: %s", exc)
            return EXIT_FAILURE
        finally:
            await service.stop()
            await alerts.stop()
            notices.close()
        log.info("stopped cleanly")
        return EXIT_OK
    finally:
        if manager is not None and manager.vault is not None:
            manager.vault.close()
        instance.release()
        if gateway is not None:
            await gateway.stop()
