"""The tray app's life: one instance per user, first-run setup, service start and clean quit.

``main.py`` creates the QApplication and hands this coroutine to qasync; everything here
runs on that one loop/Qt thread. Quit sets an asyncio event; the coroutine then shuts the
service down (hubs, HTTP, writers) and returns, which ends the loop.
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
from pathlib import Path

from PySide6.QtNetwork import QLocalServer, QLocalSocket

from core.app.admin_password import AdminPassword
from core.app.alerts import KeyringOrFileSecretStore, MemorySecretStore, SecretStore, start_alerts
from core.app.config_manager import ConfigManager
from core.app.credentials import (
    Credentials,
    CredentialsError,
    env_api_key,
    gateway_login_tester,
    load_credentials,
)
from core.app.headless import CurrentToken, configure_logging, start_demo_gateway
from core.app.history import FILE_NAME as HISTORY_FILE
from core.app.history import HistoryRecorder
from core.app.instance import AlreadyRunning, InstanceLock
from core.app.notice_log import NoticeLog
from core.app.service import RiskService, resolve_data_dir
from core.config.io import default_config_path, load_config, save_config
from core.config.models import AppConfig
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
    def __init__(self, on_show: Callable[[], None]) -> None:
        super().__init__()
        self._on_show = on_show
        if not self.listen(INSTANCE_NAME):
            QLocalServer.removeServer(INSTANCE_NAME)  # a crashed instance left its socket behind
            self.listen(INSTANCE_NAME)
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


async def run_gui(config: AppConfig, config_path: Path | None, *, demo: bool) -> int:
    quit_requested = asyncio.Event()
    secrets: list[str | CurrentToken] = []
    configure_logging(secrets)
    name_the_app()
    one_per_user = InstanceLock()  # held until the process ends: no headless copy beside it
    if not demo:
        try:
            one_per_user.acquire("tray app")
        except AlreadyRunning as exc:
            print(exc, file=sys.stderr)
            log.error("not starting: %s", exc)
            return 1
    gateway = None
    data_dir: Path | None = None
    first_setup = False
    if demo:
        gateway, config, credentials = await start_demo_gateway(config)
        data_dir = Path(tempfile.mkdtemp(prefix="riskmanager-demo-"))
        # The demo edits its own copy of the config: trying the settings must not touch yours.
        config_path = data_dir / "config.toml"
        save_config(config, config_path)
    else:
        config_path = config_path or default_config_path()
        try:
            credentials = load_credentials(config.gateway.username or None)
        except CredentialsError:
            try:
                credentials = await first_run(config, config_path)
            except CredentialsError as exc:
                log.error("no credentials: %s", exc)
                return 2
            first_setup = True
            if config_path.exists():
                config = load_config(config_path)
    secrets.append(credentials.api_key)
    manager = ConfigManager(config_path, config=config)
    executor = QThreadPoolExecutor()
    service = RiskService(
        config, credentials, data_dir=data_dir, db_executor=executor, config_manager=manager
    )
    secrets.append(CurrentToken(service))
    # The demo keeps alert secrets in memory: trying the Alerts page must not touch your keyring.
    secret_store: SecretStore = MemorySecretStore() if demo else KeyringOrFileSecretStore()
    alerts = start_alerts(service, secret_store)
    what_if = WhatIf(lambda: manager.config, demo=demo, credentials=None if demo else credentials)
    settings: list[SettingsWindow] = []

    def accounts() -> dict[int, str]:
        return {a: service.names.get(a, "") for a in sorted(service.status)}

    def open_settings() -> None:
        if not settings:
            access = AlertsAccess(alerts.dispatcher, secret_store)
            settings.append(SettingsWindow(manager, accounts=accounts, alerts=access))
        settings[0].show()
        settings[0].raise_()

    history_dir = data_dir or resolve_data_dir(config)
    history = HistoryRecorder(service.bus, history_dir / HISTORY_FILE, service.clock,
                              config.general.timezone, executor)
    ui = TrayApp(
        service,
        demo=demo,
        quit_requested=quit_requested,
        admin=AdminPassword.beside(config_path),
        open_settings=open_settings,
        open_what_if=what_if.open,
        history_dir=history_dir,
        # A newcomer (the demo, or right after setup) sees the dashboard, not just an icon.
        show_dashboard=demo or first_setup,
    )
    instance = InstanceServer(ui.dashboard.show_and_raise)
    notices = NoticeLog(service.bus, config.general.timezone)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Python runs this between Qt events (the snapshot timer keeps them coming).
        signal.signal(sig, lambda *_: loop.call_soon_threadsafe(quit_requested.set))
    code = 0
    try:
        # start_unless: Quit from the tray must work even while the gateway is unreachable.
        if await service.start_unless(quit_requested):
            await quit_requested.wait()
    except Exception as exc:
        log.error("cannot run: %s", exc)
        code = 1
    finally:
        ui.close()
        what_if.close()
        instance.close()
        for window in settings:
            window.hide()
        await service.stop()
        await alerts.stop()
        notices.close()
        history.close()
        executor.shutdown(wait=True)
        if gateway is not None:
            await gateway.stop()
    leftover_tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    leftover_threads = [t.name for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]
    log.info(
        "stopped cleanly (tasks left: %d, non-daemon threads left: %d)",
        len(leftover_tasks),
        len(leftover_threads),
    )
    return code
