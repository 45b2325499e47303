"""The tray app as the trader runs it (``gui.runner.run_gui``), in this process: real widgets
offscreen, the real service against the simulated gateway on 127.0.0.1, a real SQLite state
file, the real vault found through an anchor file, a real autostart entry, all in the test's
own folders. Only the Qt event loop is not qasync's: a test renders by calling ``refresh``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.app.alerts import SecretStore
from core.app.anchor import Anchor
from core.app.autostart import XdgAutostart
from core.app.instance import InstanceLock
from core.config.io import load_config
from core.gateway.redact import uninstall_redaction
from core.sim.server import DEMO_API_KEY, DEMO_USERNAME, SimulatedGateway
from gui.runner import TrayOptions, TrayRun, run_gui
from tests.integration.support import HUB_OPTIONS, TICK_INTERVAL, config_toml, make_sim, until


@contextlib.contextmanager
def app_logging() -> Iterator[None]:
    """The app configures the root logger and signal handlers for the process: put them back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    handlers_of = {h: h.filters[:] for h in handlers}
    signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        uninstall_redaction()
        root.handlers[:] = handlers
        for handler, filters in handlers_of.items():
            handler.filters[:] = filters
        root.setLevel(level)
        for sig, handler in signals.items():
            signal.signal(sig, handler)


class Folders:
    """The trader's computer, as far as the app looks: config file, data folder, the anchor in
    the app's own folder, the login entry folder, the one-copy lock."""

    def __init__(self, tmp: Path, sim: SimulatedGateway) -> None:
        self.tmp = tmp
        self.sim = sim
        self.config = tmp / "config.toml"
        self.data = tmp / "data"
        self.anchor = Anchor(tmp / "user-data" / "anchor.json")
        self.autostart = XdgAutostart(tmp / "autostart")
        self.lock = tmp / "user-data" / "instance.lock"
        self.runs = 0

    def write(self, rules: dict[str, dict[str, Any]], extra: str = "") -> None:
        self.config.write_text(config_toml(self.sim, self.data, rules) + extra)


class Tray:
    """One run of the tray app: started, its parts at hand, quit as the tray's Quit does."""

    def __init__(self, task: asyncio.Task[int], quit_requested: asyncio.Event,
                 runs: list[TrayRun]) -> None:
        self.task = task
        self.quit_requested = quit_requested
        self._runs = runs

    @property
    def run(self) -> TrayRun:
        return self._runs[0]

    @classmethod
    async def start(cls, folders: Folders, secret_store: SecretStore | None = None,
                    on_running: Callable[[TrayRun], None] | None = None) -> Tray:
        """``on_running``: called with the wired app before its service starts."""
        folders.runs += 1
        runs: list[TrayRun] = []
        quit_requested = asyncio.Event()

        def wired(run: TrayRun) -> None:
            runs.append(run)
            if on_running is not None:
                on_running(run)

        options = TrayOptions(
            anchor=folders.anchor,
            secret_store=secret_store,
            autostart_backend=folders.autostart,
            instance=InstanceLock(folders.lock),
            instance_name=f"RiskManager-test-{id(folders)}-{folders.runs}",
            service_options={"hub_options": HUB_OPTIONS, "tick_interval": TICK_INTERVAL},
            on_running=wired,
        )
        task = asyncio.ensure_future(run_gui(load_config(folders.config), folders.config,
                                             demo=False, quit_requested=quit_requested,
                                             options=options))
        tray = cls(task, quit_requested, runs)
        await until(lambda: runs or task.done(), "the tray app to be wired")
        if task.done():
            raise AssertionError(f"the tray app ended at start: exit code {task.result()}")
        return tray

    async def protected(self, account_id: int) -> None:
        await until(lambda: self.run.service.status.get(account_id) == "protected",
                    f"account {account_id} to be protected", timeout=20.0)

    def render(self) -> None:
        """What the snapshot timer does under qasync, and the dashboard's deferred render."""
        self.run.ui.refresh()
        self.run.ui.dashboard.flush()

    async def quit(self) -> int:
        self.quit_requested.set()
        return await asyncio.wait_for(self.task, 30.0)

    async def stop(self) -> None:
        """In a ``finally``: quit if still running, never hang."""
        if not self.task.done():
            self.quit_requested.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 30.0)


@pytest.fixture
def demo_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulated gateway's login, as a trader without a keyring gives it."""
    monkeypatch.setenv("PROJECTX_USERNAME", DEMO_USERNAME)
    monkeypatch.setenv("PROJECTX_API_KEY", DEMO_API_KEY)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    with app_logging():
        yield


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedGateway]:
    gateway = make_sim()
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.fixture
def folders(tmp_path: Path, sim: SimulatedGateway) -> Folders:
    return Folders(tmp_path, sim)
