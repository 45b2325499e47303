"""The README's screenshots, from a real demo run in real windows under a display.

    python scripts/take_screenshots.py --tray      # a tray host is running (scripts/screenshots.sh)
    python scripts/take_screenshots.py --no-tray   # a desktop without a tray

With a tray it walks through the states a trader meets: the 50K Combine nears its Maximum Loss
Limit, the demo trader breaks rules, closes then fail (the simulated gateway refuses them), the
trader locks themselves out, asks to quit, looks at the history, asks "What if…", and the
gateway goes away; the settings are shown with an account picked and on the Alerts page. Without a tray it shows the dashboard with
its own toolbar and the notice window that stands in for tray balloons. Each scene is saved
under docs/screenshots/; whole-screen shots show the tray icon and its menu.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import qasync  # noqa: E402
from PySide6.QtCore import QPoint  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from core.app.alerts import MemorySecretStore, start_alerts  # noqa: E402
from core.app.config_manager import ConfigManager  # noqa: E402
from core.app.headless import configure_logging, start_demo_gateway  # noqa: E402
from core.app.history import FILE_NAME as HISTORY_FILE  # noqa: E402
from core.app.history import HistoryRecorder  # noqa: E402
from core.app.service import RiskService  # noqa: E402
from core.config.io import DEFAULT_CONFIG_RESOURCE, load_config, save_config  # noqa: E402
from gui.app import TrayApp  # noqa: E402
from gui.dashboard import render_to_png  # noqa: E402
from gui.first_limits import limits_of  # noqa: E402
from gui.first_run import KEY_FILE, LIMITS, FirstRunWindow  # noqa: E402
from gui.runner import name_the_app  # noqa: E402
from gui.settings import SettingsWindow  # noqa: E402
from gui.settings_alerts import AlertsAccess  # noqa: E402
from gui.what_if import WhatIf  # noqa: E402

OUT = REPO / "docs" / "screenshots"
QUIET_ACCOUNT = 13_370_003
CLOSES = ("Position/closeContract", "Position/partialCloseContract")


def shot(widget: QWidget, name: str) -> None:
    path = render_to_png(widget, OUT / name)
    print(f"wrote {path.relative_to(REPO)}")


def screen_shot(name: str) -> None:
    screen = QGuiApplication.primaryScreen()
    target = OUT / name
    if not screen.grabWindow(0).save(str(target), "PNG"):
        raise OSError(f"could not write {target}")
    print(f"wrote {target.relative_to(REPO)}")


async def until(check: Callable[[], bool], timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.25)
    print(f"warning: gave up waiting for {what}")
    return False


async def settle(ui: TrayApp, seconds: float = 0.8) -> None:
    ui.refresh()
    ui.dashboard.flush()
    await asyncio.sleep(seconds)
    ui.dashboard.flush()


async def demo_run(seconds: float, tray: bool) -> None:
    configure_logging([])
    name_the_app()
    gateway, config, credentials = await start_demo_gateway(load_config(DEFAULT_CONFIG_RESOURCE))
    # A third, quiet account: no scripted trader and no lock, for the connection-loss scene.
    gateway.exchange.add_account(QUIET_ACCOUNT, f"PRAC-V2-DEMO-{QUIET_ACCOUNT}", 50_000.0)
    work = Path(tempfile.mkdtemp(prefix="riskmanager-shots-"))
    save_config(config, work / "config.toml")
    manager = ConfigManager(work / "config.toml", config=config)
    service = RiskService(config, credentials, data_dir=work, config_manager=manager)
    history = HistoryRecorder(service.bus, work / HISTORY_FILE, service.clock,
                              config.general.timezone)
    quit_requested = asyncio.Event()
    alerts = start_alerts(service, MemorySecretStore())
    what_if = WhatIf(lambda: manager.config, demo=True)
    ui = TrayApp(service, demo=True, quit_requested=quit_requested, history_dir=work,
                 show_dashboard=True, admin=manager.admin, open_what_if=what_if.open)
    access = AlertsAccess(alerts.dispatcher, alerts.dispatcher.store)
    screen = QGuiApplication.primaryScreen().availableGeometry()
    ui.dashboard.resize(min(1180, screen.width() - 40), min(780, screen.height() - 40))
    ui.dashboard.move(10, 10)
    await service.start()
    try:
        if tray:
            await tray_scenes(ui, service, gateway, manager, access, seconds)
        else:
            await no_tray_scenes(ui, seconds)
    finally:
        ui.close()
        what_if.close()
        await service.stop()
        await alerts.stop()
        history.close()
        await gateway.stop()


async def tray_scenes(ui: TrayApp, service: RiskService, gateway: object,
                      manager: ConfigManager, access: AlertsAccess, seconds: float) -> None:
    from core.sim.models import BUY, MARKET
    from core.sim.server import DEMO_ACCOUNT_ID, SimulatedGateway

    assert isinstance(gateway, SimulatedGateway)
    started = time.monotonic()
    await mll_scene(ui, service, seconds)
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    ui.dashboard.tabs.setCurrentIndex(0)
    await settle(ui)
    shot(ui.dashboard, "dashboard.png")

    # The tray icon and its menu, on a screen with a tray host.
    menu = ui.tray.menu
    geometry = ui.tray.tray.geometry()
    menu.popup(QPoint(max(0, geometry.x() - 300), max(0, geometry.y() - menu.sizeHint().height())))
    await asyncio.sleep(0.8)
    screen_shot("tray-menu.png")
    menu.hide()

    await settings_scenes(service, manager, access)

    # Closes refused by the gateway: failing enforcement, in red, with what to do by hand.
    for path in CLOSES:
        gateway.inject_rest_failures(503, count=10_000, path=path)
    engine = service.engine

    def failing_while_held() -> bool:
        return bool(ui.watch.failing(DEMO_ACCOUNT_ID)) and bool(
            engine.mirror.account(DEMO_ACCOUNT_ID).positions)

    await until(failing_while_held, 120, "a failing enforcement with a position held")
    ui.dashboard.tabs.setCurrentWidget(ui.dashboard.panel(DEMO_ACCOUNT_ID))
    await settle(ui, 1.5)
    shot(ui.dashboard, "dashboard-failing.png")
    screen_shot("screen-failing.png")
    gateway.clear_faults()
    await until(lambda: not ui.watch.any_failing(), 60, "the enforcement to go through")

    # The gateway goes away with a position open on the quiet account: not protected, and
    # its price shown as stale rather than vanishing.
    other = QUIET_ACCOUNT
    mnq = next(c.id for c in gateway.exchange.contracts.values() if c.root == "MNQ")
    gateway.exchange.place_order(other, mnq, MARKET, BUY, 1)
    await until(lambda: engine.quotes.mark(mnq) is not None
                and bool(engine.mirror.account(other).positions), 30, "the position's price")
    await settle(ui, 1.0)
    await gateway.stop()
    await until(lambda: any(s != "protected" for s in service.status.values()), 30,
                "the connection loss")
    await settle(ui, 2.0)
    ui.dashboard.tabs.setCurrentWidget(ui.dashboard.panel(other))
    await settle(ui, 0.5)
    shot(ui.dashboard, "dashboard-unreachable.png")

    # Back again: reconnected and reconciled, the demo trader trades on.
    await gateway.start()
    gateway.start_demo_trader()
    await until(lambda: all(s == "protected" for s in service.status.values()), 60,
                "protection after the reconnect")
    ui.dashboard.tabs.setCurrentIndex(0)

    # Lock me out now, confirmed once.
    ui.request_lock_out()
    window = ui.self_lock_window
    assert window is not None
    await asyncio.sleep(0.5)
    shot(window, "lock-me-out.png")
    window.confirm()
    await asyncio.sleep(20)  # the demo trader keeps trying; each entry is closed at once
    await settle(ui)
    shot(ui.dashboard, "dashboard-locked.png")

    ui.request_quit()
    gate = ui.quit_gate
    assert gate is not None
    await asyncio.sleep(2.5)
    shot(gate, "quit.png")
    gate.close()

    ui.show_history()
    history = ui.history_window
    assert history is not None
    await asyncio.sleep(2.0)
    shot(history, "history.png")
    history.hide()
    await what_if_scene(ui)


async def mll_scene(ui: TrayApp, service: RiskService, seconds: float) -> None:
    """The 50K Combine, $500 above its floor, with a position losing: the gauge in amber."""
    from core.sim.server import DEMO_COMBINE_ID

    def warned() -> bool:
        engine = service.engine
        account = engine.mirror.accounts.get(DEMO_COMBINE_ID)
        if account is None or not account.positions or engine.lockouts.locks(DEMO_COMBINE_ID):
            return False
        view = next((s.topstep for s in ui.snapshots() if s.account_id == DEMO_COMBINE_ID), None)
        if view is None or view.mll.distance is None or view.mll.open_pnl is None:
            return False
        return view.mll.open_pnl < 0 and 280 < view.mll.distance <= 420  # losing, not yet acted

    await until(warned, seconds, "the Combine near its Maximum Loss Limit")
    ui.dashboard.tabs.setCurrentWidget(ui.dashboard.panel(DEMO_COMBINE_ID))
    await settle(ui, 0.3)
    shot(ui.dashboard, "dashboard-mll.png")


async def settings_scenes(service: RiskService, manager: ConfigManager,
                          access: AlertsAccess) -> None:
    from core.sim.server import DEMO_COMBINE_ID

    def accounts() -> dict[int, str]:
        return {a: service.names.get(a, "") for a in sorted(service.status)}

    settings = SettingsWindow(manager, accounts=accounts, alerts=access)
    settings.resize(980, 700)
    settings.show()
    settings.show_page("rules.daily_realized_loss")
    await asyncio.sleep(0.5)
    shot(settings, "settings.png")
    settings.scope.choose(DEMO_COMBINE_ID)
    settings.editors["rules.daily_realized_loss.limit"].set_value(300)
    await asyncio.sleep(0.5)
    shot(settings, "settings-accounts.png")
    settings.show_page("topstep")
    await asyncio.sleep(0.5)
    shot(settings, "settings-topstep.png")
    settings.close()  # the edits above are discarded
    settings.show()
    settings.show_page("alerts")
    box = settings.alerts_page.boxes["discord"]
    box.secret_edits["webhook_url"].setText("https://discord.com/api/webhooks/123/abc")
    box.save_button.click()
    await asyncio.sleep(1.0)
    shot(settings, "settings-alerts.png")
    settings.hide()


async def what_if_scene(ui: TrayApp) -> None:
    """The demo's generated month replayed through the rules in force."""
    ui.dashboard.what_if_action.trigger()
    window = next(w for w in QApplication.topLevelWidgets()
                  if w.isVisible() and w.windowTitle().startswith("What if"))
    window.move(30, 30)
    window.run_button.click()  # type: ignore[attr-defined]
    attempt = window.attempt  # type: ignore[attr-defined]
    if attempt is not None:
        await asyncio.wait_for(attempt, 120)
    window.run_button.setFocus()  # type: ignore[attr-defined]  # no selected date text
    await asyncio.sleep(0.5)
    shot(window, "what-if.png")
    window.tabs.setCurrentIndex(3)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    shot(window, "what-if-equity.png")
    window.hide()


async def no_tray_scenes(ui: TrayApp, seconds: float) -> None:
    await asyncio.sleep(seconds)

    def notice_on_screen() -> bool:
        window = ui.notifier.window
        return window is not None and window.isVisible()

    # Notices come in a window of their own, with its buttons, while no tray shows balloons.
    await until(notice_on_screen, 90, "a notice")
    await settle(ui, 0.5)
    screen_shot("no-tray.png")


def setup_scenes() -> None:
    """The first-run window's pages, with no keyring on this computer (fakes: no network)."""

    async def no_login(_user: str, _key: str) -> None:
        return None

    config = load_config(DEFAULT_CONFIG_RESOURCE)
    window = FirstRunWindow(no_login, lambda _name: None, keyring_ok=lambda: False,
                            limits=limits_of(config), username="trader@example.com")
    window.key_edit.setText("secret-key")
    window.show()
    window.adjustSize()
    shot(window, "setup-login.png")
    window.pages.setCurrentIndex(KEY_FILE)
    window.adjustSize()
    shot(window, "setup-key-file.png")
    window.pages.setCurrentIndex(LIMITS)
    window.adjustSize()
    shot(window, "setup-limits.png")
    window.hide()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--tray", action="store_true", help="a tray host is running")
    group.add_argument("--no-tray", action="store_true", help="no tray host")
    parser.add_argument("--seconds", type=float, default=40.0,
                        help="how long the demo trader trades before the first shot")
    args = parser.parse_args()
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.tray:
        setup_scenes()
    qasync.run(demo_run(args.seconds, tray=args.tray))
    return 0


if __name__ == "__main__":
    sys.exit(main())
