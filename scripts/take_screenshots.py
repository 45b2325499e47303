"""Screenshots of the dashboard and the settings window, from a real demo run.

Run under a display (scripts/screenshots.sh starts Xvfb): the demo trader breaks rules for
about 40 s so the dashboard has positions, a lock and an enforcement log to show.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_API", "pyside6")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from core.app.config_manager import ConfigManager  # noqa: E402
from core.app.headless import configure_logging, start_demo_gateway  # noqa: E402
from core.app.service import RiskService  # noqa: E402
from core.config.io import DEFAULT_CONFIG_RESOURCE, load_config, save_config  # noqa: E402
from gui.app import TrayApp  # noqa: E402
from gui.dashboard import render_to_png  # noqa: E402
from gui.settings import SettingsWindow  # noqa: E402

OUT = REPO / "docs" / "screenshots"


async def main(seconds: float) -> int:
    configure_logging([])
    gateway, config, credentials = await start_demo_gateway(load_config(DEFAULT_CONFIG_RESOURCE))
    work = Path(tempfile.mkdtemp(prefix="riskmanager-shots-"))
    save_config(config, work / "config.toml")
    service = RiskService(config, credentials, data_dir=work)
    quit_requested = asyncio.Event()
    ui = TrayApp(service, demo=True, quit_requested=quit_requested)
    await service.start()
    await asyncio.sleep(seconds)
    ui.refresh()
    ui.dashboard.resize(1100, 760)
    ui.dashboard.show_and_raise()
    await asyncio.sleep(0.5)
    OUT.mkdir(parents=True, exist_ok=True)
    render_to_png(ui.dashboard, OUT / "dashboard.png")
    settings = SettingsWindow(ConfigManager(work / "config.toml", config=config))
    settings.resize(980, 700)
    settings.show()
    settings.show_page("rules.daily_realized_loss")
    await asyncio.sleep(0.5)
    render_to_png(settings, OUT / "settings.png")
    settings.hide()
    ui.close()
    await service.stop()
    await gateway.stop()
    print(f"wrote {OUT / 'dashboard.png'} and {OUT / 'settings.png'}")
    return 0


if __name__ == "__main__":
    app = QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)
    sys.exit(qasync.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 40.0)))
