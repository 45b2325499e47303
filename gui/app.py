"""The tray application: wires the running service to the tray, popups and windows.

It renders; it never decides. Snapshots are taken on the loop's thread (qasync makes it the
Qt thread) a few times a second and handed to the tray and the dashboard. Every action the
trader can take (Settings, History, Lock me out now, What if…, About, Quit) is in the tray
menu and on the dashboard's toolbar alike, so a desktop without a tray loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from core.app.admin_password import AdminPassword
from core.app.consistency import read_day_nets
from core.app.enforcement_watch import EnforcementWatch, contract_name, todo_words
from core.app.history_reader import HistoryRow, read_history
from core.app.protection import any_hard_lock, lock_text, quit_risks
from core.app.self_lock import lock_me_out, self_lock_until
from core.app.service import RiskService
from core.app.service_accounts import accounts_at_stake
from core.app.snapshot import AccountSnapshot, EnforcementView, LockView
from core.app.snapshot_builder import take_snapshot
from core.app.state_alarm import StateAlarm
from core.app.waiting import NOTHING, WaitingCache
from core.app.words import local_time
from core.domain.commands import EnforcementCommand
from core.domain.trading_day import TradingCalendar
from gui.about import about_box
from gui.bridge import CoreBridge
from gui.dashboard import DashboardWindow
from gui.history_window import HistoryWindow
from gui.popups import Notifier
from gui.quit_gate import QuitGate
from gui.self_lock_window import SelfLockWindow
from gui.tray import TrayController

log = logging.getLogger(__name__)

HISTORY_DAYS = 90


def _weak(method: Callable[..., Any]) -> Callable[..., Any]:
    """A callback for a child that does not keep the app alive: no reference cycle, so the app
    (and its tray icon) goes away at once when released, never later inside a random GC pass."""
    ref = weakref.WeakMethod(method)  # type: ignore[arg-type]

    def call(*args: Any) -> Any:
        bound = ref()
        return None if bound is None else bound(*args)

    return call


# Quit before the saved state is open: ask again every QUIT_RETRY s, for at most
# STATE_READ_WAIT s (the service opens it within seconds, or has failed and is stopping).
QUIT_RETRY, STATE_READ_WAIT = 0.25, 15.0


class TrayApp(QObject):
    def __init__(
        self,
        service: RiskService,
        *,
        demo: bool,
        quit_requested: asyncio.Event,
        admin: AdminPassword | None = None,
        open_settings: Callable[[], None] | None = None,
        open_what_if: Callable[[], object] | None = None,
        snapshot_ms: int = 250,
        history_dir: Path | None = None,
        show_dashboard: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.service = service
        self.demo = demo
        self._quit_requested = quit_requested
        self._admin = admin
        self._open_settings = open_settings
        self._open_what_if = open_what_if
        self._monotonic = monotonic
        self._history_dir = history_dir
        self.zone = ZoneInfo(service.config.general.timezone)
        self.bridge = CoreBridge(service.bus)
        self.watch = EnforcementWatch(service.bus, _weak(self._engine), service.clock,
                                      on_finished=_weak(self._announce))
        # The state file that cannot be written is as red as a close the gateway refuses.
        self.state_alarm = StateAlarm(service.bus)
        # The service's clock, not the wall's: countdowns and "until 17:00" agree with the engine.
        self.tray = TrayController(zone=self.zone, now=service.clock.now)
        tray = self.tray
        self.dashboard = DashboardWindow(zone=self.zone, now=service.clock.now,
                                         tray_available=lambda: tray.available)
        self.notifier = Notifier(self.bridge, self.tray.tray, zone=self.zone,
                                 todo=_weak(self._todo), contract_name=_weak(self._contract),
                                 monotonic=monotonic,
                                 on_open_dashboard=self.dashboard.show_and_raise)
        self._waiting = WaitingCache()
        # Each account's net P&L per trading day from the state file (the consistency share),
        # read off the loop at start, for a new account and after each daily reset.
        self._day_nets: dict[int, dict[date, Decimal]] = {}
        self._nets_read_for: set[int] = set()
        self._reading_nets = False
        self.bridge.dailyReset.connect(_weak(self._day_ended))
        self._last_marks: dict[str, float] = {}
        self._started_at = service.clock.now()
        self._restored_told = False
        self.quit_gate: QuitGate | None = None
        self.self_lock_window: SelfLockWindow | None = None
        self.history_window: HistoryWindow | None = None
        self._about: QMessageBox | None = None
        for source in (self.tray, self.dashboard):
            source.settingsRequested.connect(self._settings)
            source.historyRequested.connect(self.show_history)
            source.lockOutRequested.connect(self.request_lock_out)
            source.whatIfRequested.connect(self._what_if)
            source.aboutRequested.connect(self.show_about)
            source.quitRequested.connect(self.request_quit)
        self.tray.dashboardRequested.connect(self.dashboard.show_and_raise)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(snapshot_ms)
        self.tray.show()
        if show_dashboard or not self.tray.available:
            # Some Linux desktops have no tray: the window is then the only face the app has.
            self.dashboard.show_and_raise()

    # --- rendering -----------------------------------------------------------------------------

    def _engine(self) -> Any:
        return getattr(self.service, "engine", None)

    def snapshots(self, accounts: Mapping[int, str] | None = None) -> list[AccountSnapshot]:
        """The accounts the service protects, or ``accounts`` (id → status) when given."""
        service, engine = self.service, self._engine()
        if engine is None:
            return []
        if accounts is None:
            accounts = service.status
        manager = getattr(service, "config_manager", None)
        waiting = NOTHING if manager is None else self._waiting.get(
            manager.config, manager.pending, manager.pending_applies_at, self.zone,
            needs_password=bool(getattr(manager, "pending_needs_password", False)))
        self._remember_marks(engine)
        return [
            take_snapshot(
                engine,
                account_id,
                status=status,
                name=service.names.get(account_id, ""),
                recent_enforcement=self.watch.recent(account_id),
                failing=self.watch.failing(account_id),
                last_marks=self._last_marks,
                waiting=waiting,
                day_nets=self._day_nets.get(account_id),
                state_not_saved=self.state_alarm.error,
            )
            for account_id, status in sorted(accounts.items())
        ]

    def _day_ended(self, _notice: object = None) -> None:
        self._nets_read_for.clear()  # yesterday's final P&L is in the file now: read it again

    def _read_day_nets(self) -> None:
        """Start reading the days' P&L off the loop when an account has not been read yet."""
        accounts = set(self.service.status)
        folder = self._history_dir or getattr(self.service, "data_dir", None)
        if self._reading_nets or folder is None or not accounts - self._nets_read_for:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test driving the app by hand): the share says it is not known
        self._reading_nets = True
        wanted = sorted(accounts)
        future = loop.run_in_executor(None, read_day_nets, Path(folder), wanted)

        def done(task: asyncio.Future[dict[int, dict[date, Decimal]]]) -> None:
            self._reading_nets = False
            if task.cancelled() or task.exception() is not None:
                return
            self._day_nets.update(task.result())
            self._nets_read_for.update(wanted)

        future.add_done_callback(done)

    def _remember_marks(self, engine: Any) -> None:
        """The last live price of each held contract: shown as stale (never acted on) once
        market data is lost and the live quotes are cleared."""
        held: set[str] = set()
        for account_id in self.service.status:
            account = engine.mirror.accounts.get(account_id)
            if account is not None:
                held.update(account.positions)
        for contract_id in held:
            mark = engine.quotes.mark(contract_id)
            if mark is not None:
                self._last_marks[contract_id] = mark
        for gone in [cid for cid in self._last_marks if cid not in held]:
            del self._last_marks[gone]

    def refresh(self) -> None:
        try:
            snapshots = self.snapshots()
        except Exception:
            log.exception("snapshot failed")
            return
        self.tray.update(snapshots, self.demo)
        self.dashboard.set_snapshots(snapshots, self.demo)
        self._read_day_nets()
        if not self._restored_told and self._engine() is not None:
            self._restored_told = True
            self._announce_restored()

    def _announce_restored(self) -> None:
        """Locks read back from the state file at start-up are still in force: say so once."""
        engine = self._engine()
        now = self.service.clock.now()
        lines = []
        for lock in engine.lockouts.all_locks():
            if lock.active_at(now) and lock.locked_at < self._started_at:
                view = LockView(lock.rule_id, lock.kind.value, lock.reason, lock.until,
                                lock.remaining_seconds(now))
                name = self.service.names.get(lock.account_id) or f"Account {lock.account_id}"
                lines.append(f"{name}: {lock_text(view, now, self.zone)}")
        self.notifier.announce_restored(lines)

    def _announce(self, account_id: int, view: EnforcementView) -> None:
        self.notifier.announce_action(view, account_id)

    def _todo(self, command: EnforcementCommand) -> str:
        return todo_words(self._engine(), command)

    def _contract(self, contract_id: str) -> str:
        engine = self._engine()
        return contract_name(engine, contract_id) if engine is not None else contract_id

    # --- menu actions --------------------------------------------------------------------------

    def _settings(self) -> None:
        if self._open_settings is not None:
            self._open_settings()

    def _what_if(self) -> None:
        if self._open_what_if is not None:
            self._open_what_if()

    def show_about(self) -> None:
        if self._about is None:
            self._about = about_box()
        self._about.show()
        self._about.raise_()

    def show_history(self) -> None:
        if self.history_window is None:
            names = self.service.names
            self.history_window = HistoryWindow(_weak(self._read_history), self.zone,
                                                lambda: dict(names))
        self.history_window.show()
        self.history_window.raise_()
        self.history_window.activateWindow()

    def _read_history(self) -> list[HistoryRow]:
        """Runs on a worker thread: reads the files only, never the live engine."""
        folder = self._history_dir or getattr(self.service, "data_dir", None)
        if folder is None:
            return []
        general = self.service.config.general
        calendar = TradingCalendar(general.reset_time, general.timezone)
        today = calendar.trading_day(self.service.clock.now())
        return read_history(Path(folder), calendar, since=today - timedelta(days=HISTORY_DAYS))

    def request_lock_out(self) -> None:
        if self.self_lock_window is None:
            self.self_lock_window = SelfLockWindow(_weak(self._lock_out_confirmed))
        engine = self._engine()
        accounts = sorted(self.service.status) if engine is not None else []
        names = [self.service.names.get(a) or str(a) for a in accounts]
        until = local_time(self_lock_until(engine), self.zone, with_day=True) if engine else ""
        self.self_lock_window.prepare(names, until)
        self.self_lock_window.show()
        self.self_lock_window.raise_()
        self.self_lock_window.activateWindow()

    def _lock_out_confirmed(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        locks = lock_me_out(engine, self.service.status)
        log.info("locked out by the trader until the reset: %s",
                 ", ".join(str(lock.account_id) for lock in locks))
        self.refresh()

    def request_quit(self, waited: float = 0.0) -> None:
        # Not only the accounts the gateway has confirmed: a lock restored from the state file
        # is in force before the gateway answers, and quitting would give it up all the same.
        engine = self._engine()
        if engine is None and waited < STATE_READ_WAIT:
            # The saved state is still being opened (a few seconds at most): a lock in it must
            # get its question too, so the answer waits for it.
            asyncio.get_running_loop().call_later(
                QUIT_RETRY, lambda: self.request_quit(waited + QUIT_RETRY))
            return
        snapshots = (self.snapshots(accounts_at_stake(engine, self.service.status))
                     if engine is not None else [])
        now = self.service.clock.now()
        risks = quit_risks(snapshots, now, self.zone)
        if not risks:
            self._quit_requested.set()  # nothing locked, nothing open: nothing to give up
            return
        if self.quit_gate is not None:
            self.quit_gate.close()  # a new question for the state as it is now
        self.quit_gate = QuitGate(risks, hard_locked=any_hard_lock(snapshots), admin=self._admin,
                                  on_granted=self._quit_requested.set, monotonic=self._monotonic)
        self.quit_gate.show()
        self.quit_gate.raise_()
        self.quit_gate.activateWindow()

    def close(self) -> None:
        """Before the service stops: the hubs going down at shutdown must not pop up as a loss."""
        self._timer.stop()
        self.notifier.close()
        self.watch.close()
        self.state_alarm.close()
        self.bridge.close()
        self.tray.close()
        for window in (self.dashboard, self.quit_gate, self.self_lock_window, self.history_window,
                       self._about):
            if window is not None:
                window.hide()
