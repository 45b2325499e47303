"""The tray app's life: one instance per user, first-run setup, service start and clean quit.

``main.py`` creates the QApplication and hands :func:`run_gui` to qasync; everything here
runs on that one loop/Qt thread. Quit sets an asyncio event; the coroutine then shuts the
service down (hubs, HTTP, writers) and returns, which ends the loop.

The same protection as headless (:mod:`core.app.headless`): the config in force kept with the
state (the config file is a request: what loosens waits for the reset, shown beside the value
in force), one gateway clock for the config manager and the service, the autostart guarded,
the alerts' secrets in the app's one store (the settings page writes where the dispatcher
reads), and every secret, the alerts' too, kept out of the log. :class:`TrayRun` holds the
running parts, so a test can drive exactly what the trader runs.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.app import autostart
from core.app.alerts import MemorySecretStore, SecretStore, start_alerts
from core.app.anchor import Anchor
from core.app.autostart import Backend
from core.app.config_manager import ConfigManager, open_config_manager
from core.app.credentials import (
    Credentials,
    CredentialsError,
    env_api_key,
    gateway_login_tester,
    load_credentials,
)
from core.app.headless import CurrentToken, Secret, configure_logging, start_demo_gateway
from core.app.history import FILE_NAME as HISTORY_FILE
from core.app.history import HistoryRecorder
from core.app.instance import AlreadyRunning, InstanceLock
from core.app.notice_log import NoticeLog
from core.app.secret_store import AppSecretStore
from core.app.service import RiskService
from core.config.io import default_config_path, load_config, save_config
from core.config.models import AppConfig
from core.domain.clock import GatewayClock
from gui.app import TrayApp
from gui.executor import QThreadPoolExecutor
from gui.first_limits import limits_of
from gui.first_run import FirstRunWindow, limits_saver, username_saver
from gui.settings import SettingsWindow
from gui.settings_alerts import AlertsAccess
from gui.what_if import WhatIf

log = logging.getLogger("riskmanager")

INSTANCE_NAME = f"RiskManager-{getpass.getuser()}"
# The window class a desktop groups our windows under and matches to the .desktop file.
DESKTOP_NAME = "riskmanager"


def name_the_app() -> None:
    """Before any window exists: the window class (WM_CLASS "riskmanager", "RiskManager") and
    the names a desktop shows, instead of "main.py"/"python3"."""
    from PySide6.QtGui import QGuiApplication

    # Qt reads the instance half of WM_CLASS from RESOURCE_NAME when the first window is made
    # (else from argv[0]: "main.py").
    os.environ.setdefault("RESOURCE_NAME", DESKTOP_NAME)
    QGuiApplication.setApplicationName("RiskManager")
    QGuiApplication.setApplicationDisplayName("Risk Manager")
    QGuiApplication.setDesktopFileName(DESKTOP_NAME)
    QGuiApplication.setOrganizationName("RiskManager")


def has_display() -> bool:
    """Qt aborts the process without a display; say so instead (Linux/BSD only lack one)."""
    if not sys.platform.startswith(("linux", "freebsd")):
        return True
    return any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def signal_running_instance() -> bool:
    """If the app already runs for this user, ask it to show its dashboard and say so."""
    socket = QLocalSocket()
    socket.connectToServer(INSTANCE_NAME)
    if not socket.waitForConnected(300):
        return False
    socket.write(b"show\n")
    socket.waitForBytesWritten(300)
    socket.disconnectFromServer()
    return True


class InstanceServer(QLocalServer):
    def __init__(self, on_show: Callable[[], None], name: str = INSTANCE_NAME) -> None:
        super().__init__()
        self._on_show = on_show
        if not self.listen(name):
            QLocalServer.removeServer(name)  # a crashed instance left its socket behind
            self.listen(name)
        self.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while self.hasPendingConnections():
            connection = self.nextPendingConnection()
            connection.disconnected.connect(connection.deleteLater)
            self._on_show()


async def first_run(config: AppConfig, config_path: Path) -> Credentials:
    """No API key yet: ask for it in a window (never a nested modal loop) and wait."""
    done: asyncio.Future[Credentials] = asyncio.get_running_loop().create_future()
    window = FirstRunWindow(
        gateway_login_tester(config.gateway.api_url),
        username_saver(config_path),
        env_key=env_api_key(),
        limits=limits_of(config),
        save_limits=limits_saver(config_path),
        username=config.gateway.username or os.environ.get("PROJECTX_USERNAME", ""),
    )

    def completed(credentials: Credentials) -> None:
        if not done.done():
            done.set_result(credentials)

    def closed() -> None:
        if not done.done():
            done.set_exception(CredentialsError("setup closed before a key was stored"))

    window.completed.connect(completed)
    window.closed.connect(closed)
    window.show()
    try:
        return await done
    finally:
        window.hide()


@dataclass
class TrayOptions:
    """What a test replaces; the user's own otherwise (as :func:`core.app.headless.run_headless`
    takes them)."""

    anchor: Anchor | None = None
    secret_store: SecretStore | None = None
    autostart_backend: Backend | None = None
    instance: InstanceLock | None = None
    instance_name: str = INSTANCE_NAME
    service_options: dict[str, Any] = field(default_factory=dict)  # RiskService's timings
    on_running: Callable[[TrayRun], None] | None = None  # called once everything is wired


class TrayRun:
    """The running tray app around one RiskService: the service on the config manager's clock,
    the alerts, the history, the tray and its windows. Built on the loop, before the service
    starts, so no notice is missed."""

    def __init__(self, manager: ConfigManager, credentials: Credentials, *, demo: bool,
                 quit_requested: asyncio.Event, secret_store: SecretStore,
                 secrets: list[Secret], show_dashboard: bool = False,
                 service_options: dict[str, Any] | None = None) -> None:
        self.manager = manager
        self.demo = demo
        self.executor = QThreadPoolExecutor()
        # The manager's clock: a reset the config manager waits for is the service's reset.
        self.service = RiskService(manager.config, credentials, clock=manager.clock,
                                   db_executor=self.executor, config_manager=manager,
                                   **(service_options or {}))
        secrets.append(CurrentToken(self.service))  # whichever token is current
        self.secret_store = secret_store
        self.alerts = start_alerts(self.service, secret_store)
        secrets.append(self.alerts.dispatcher.secret_values)  # no webhook address in a log line
        self.what_if = WhatIf(lambda: manager.config, demo=demo,
                              credentials=None if demo else credentials)
        self.settings: list[SettingsWindow] = []
        general = manager.config.general
        # Beside the state in force, wherever the vault found it (never the file's data_dir).
        self.history = HistoryRecorder(self.service.bus, self.service.data_dir / HISTORY_FILE,
                                       self.service.clock, general.timezone, self.executor)
        self.ui = TrayApp(
            self.service,
            demo=demo,
            quit_requested=quit_requested,
            admin=manager.admin,  # the password in force, as Settings asks for it
            open_settings=self.open_settings,
            open_what_if=self.what_if.open,
            history_dir=self.service.data_dir,
            show_dashboard=show_dashboard,
        )
        self.notices = NoticeLog(self.service.bus, general.timezone,
                                 enforces_anything=self.service.enforces_anything)

    def accounts(self) -> dict[int, str]:
        return {a: self.service.names.get(a, "") for a in sorted(self.service.status)}

    def open_settings(self) -> SettingsWindow:
        if not self.settings:
            access = AlertsAccess(self.alerts.dispatcher, self.secret_store)
            # autostart.backend(): the guard installed for the config in force.
            self.settings.append(SettingsWindow(self.manager, accounts=self.accounts,
                                                alerts=access))
        window = self.settings[0]
        window.show()
        window.raise_()
        return window

    async def close(self) -> None:
        """Windows first (shutdown's disconnects are not news), then the service and the rest."""
        self.ui.close()
        self.what_if.close()
        for window in self.settings:
            window.hide()
        await self.service.stop()
        await self.alerts.stop()
        self.notices.close()
        self.history.close()
        self.executor.shutdown(wait=True)


def _with_data_dir(config: AppConfig, data_dir: Path) -> AppConfig:
    general = config.general.model_copy(update={"data_dir": str(data_dir)})
    return config.model_copy(update={"general": general})


def _credentials(manager: ConfigManager) -> Credentials | None:
    """The key for the username in force (a new username waits for the reset), or None."""
    try:
        return load_credentials(manager.config.gateway.username or None)
    except CredentialsError:
        return None


async def _set_up(config: AppConfig,
                  config_path: Path) -> tuple[Credentials, AppConfig] | None:
    """First-run setup: the key it stored and the config file as setup left it, or None when
    the trader closed setup without a key."""
    try:
        credentials = await first_run(config, config_path)
    except CredentialsError as exc:
        log.error("no credentials: %s", exc)
        return None
    return credentials, (load_config(config_path) if config_path.exists() else config)


async def run_gui(config: AppConfig, config_path: Path | None, *, demo: bool,
                  quit_requested: asyncio.Event | None = None,
                  options: TrayOptions | None = None) -> int:
    """``config`` is the config file as read (a request); ``config_path`` where it came from
    (default: the user's config file)."""
    options = options or TrayOptions()
    quit_requested = quit_requested or asyncio.Event()
    secrets: list[Secret] = []
    configure_logging(secrets)
    name_the_app()
    one_per_user = options.instance or InstanceLock()  # no headless copy beside it
    if not demo:
        try:
            one_per_user.acquire("tray app")
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            log.error("not starting: %s", exc)
            return 1
    gateway = None
    manager: ConfigManager | None = None
    clock = GatewayClock()
    try:
        credentials: Credentials | None = None
        first_setup = False
        anchor = options.anchor
        if demo:
            gateway, config, credentials = await start_demo_gateway(config)
            # The demo's own state, config in force and anchor in a fresh folder: trying the
            # settings (or a demo lock) never touches the user's own.
            demo_dir = Path(tempfile.mkdtemp(prefix="riskmanager-demo-"))
            config = _with_data_dir(config, demo_dir)
            config_path = demo_dir / "config.toml"
            save_config(config, config_path)
            anchor = Anchor(demo_dir / "anchor.json")
        else:
            config_path = config_path or default_config_path()
            anchor = anchor or Anchor()
            if anchor.read() is None:
                # The very first start for this user: nothing is in force yet, so the limits
                # confirmed at setup come into force as they are.
                try:
                    credentials = load_credentials(config.gateway.username or None)
                except CredentialsError:
                    set_up = await _set_up(config, config_path)
                    if set_up is None:
                        return 2
                    credentials, config = set_up
                    first_setup = True

        def open_manager(requested: AppConfig) -> ConfigManager:
            return open_config_manager(config_path, requested, clock=clock, anchor=anchor,
                                       autostart_backend=options.autostart_backend)

        try:
            manager = open_manager(config)
        except Exception as exc:
            print(f"cannot open the state in force: {exc}", file=sys.stderr)
            log.error("cannot open the state in force: %s", exc)
            return 1
        if credentials is None:
            credentials = _credentials(manager)
        if credentials is None:
            # No key for the username in force: setup asks for it. What setup writes to the
            # file is a request like any edit (a loosening waits for the reset).
            assert manager.vault is not None
            manager.vault.close()
            manager = None
            set_up = await _set_up(config, config_path)
            if set_up is None:
                return 2
            credentials, config = set_up
            first_setup = True
            manager = open_manager(config)
        if not demo:
            # Switching off starting with the computer waits for the reset too (the checkbox).
            autostart.install_guard(manager.autostart)
        secrets.append(credentials.api_key)
        # The demo keeps alert secrets in memory: trying the Alerts page must not touch yours.
        store: SecretStore = options.secret_store if options.secret_store is not None else (
            MemorySecretStore() if demo else AppSecretStore())
        run = TrayRun(manager, credentials, demo=demo, quit_requested=quit_requested,
                      secret_store=store, secrets=secrets,
                      # A newcomer (the demo, or right after setup) sees the dashboard.
                      show_dashboard=demo or first_setup,
                      service_options=options.service_options)
        code = await _run(run, quit_requested, options)
    finally:
        autostart.install_guard(None)
        if manager is not None and manager.vault is not None:
            manager.vault.close()
        one_per_user.release()
        if gateway is not None:
            await gateway.stop()
    leftover_tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    leftover_threads = [t.name for t in threading.enumerate()
                        if not t.daemon and t is not threading.main_thread()]
    log.info(
        "stopped cleanly (tasks left: %d, non-daemon threads left: %d)",
        len(leftover_tasks),
        len(leftover_threads),
    )
    return code


async def _run(run: TrayRun, quit_requested: asyncio.Event, options: TrayOptions) -> int:
    instance = InstanceServer(run.ui.dashboard.show_and_raise, options.instance_name)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Python runs this between Qt events (the snapshot timer keeps them coming).
        signal.signal(sig, lambda *_: loop.call_soon_threadsafe(quit_requested.set))
    if options.on_running is not None:
        options.on_running(run)
    code = 0
    try:
        # start_unless: Quit from the tray must work even while the gateway is unreachable.
        if await run.service.start_unless(quit_requested):
            await quit_requested.wait()
    except Exception as exc:
        log.error("cannot run: %s", exc)
        code = 1
    finally:
        instance.close()
        await run.close()
    return code
