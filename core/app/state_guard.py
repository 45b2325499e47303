"""The service's watch over its own state: a state file rebuilt from the trade history, an
unclean stop, and critical writes that do not reach the disk.

- **Rebuilt state file** (damaged and set aside, or missing): said at start
  (:class:`StateRebuilt`). Each account is then not protected (it stays "reconciling") and new
  entries are closed by a cooldown-like lock (:data:`HISTORY_LOCK`, positions read over REST
  first so that what was already open is left alone) until its trade history has been read,
  which rebuilds today's P&L and the daily locks through the engine as live trades would.
- **Unclean stop**: the run record's last sign of life is when protection stopped; once each
  account is protected again the gap's trades are read and what was opened and closed in
  between is said (:class:`ProtectionGap`).
- **Failing critical writes**: the critical writer's alarm becomes :class:`StateWriteFailed`
  (protection goes on from memory) until :class:`StateWriteRecovered`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal

from core.app.config_vault import ConfigVault, StateLoss
from core.app.state_notices import (
    HISTORY_LOCK,
    ProtectionGap,
    StateRebuildDone,
    StateRebuilt,
    StateWriteFailed,
    StateWriteRecovered,
)
from core.app.unclean_stop import HEARTBEAT_SECONDS, RUN_KEY, RunRecord, closed_in_gap
from core.domain.bus import EventBus
from core.domain.clock import Clock
from core.engine.engine import Engine
from core.engine.rules import Breach, LockRequest
from core.gateway.rest import GatewayRest
from core.modules.lockouts import LockKind
from core.persistence.app_state import AppState
from core.persistence.store import StateStore

log = logging.getLogger("core.app.service")

HISTORY_REASON = "the state file was rebuilt: new entries are closed until today's trade history is read"
# The app's clock agrees with the gateway's to within its tolerance (a second or two): trades
# stamped that little before the last sign of life may already belong to the gap.
GAP_SLACK = timedelta(seconds=2)


class StateGuard:
    def __init__(self, store: StateStore, bus: EventBus, clock: Clock,
                 vault: ConfigVault | None = None) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.vault = vault
        self.app_state = AppState(store.db)
        self.loss: StateLoss | None = self._loss()
        self.previous = RunRecord.of(self.app_state.get(RUN_KEY))
        self.stopped_at: datetime | None = (
            self.previous.alive_at if self.previous is not None and not self.previous.clean else None)
        self._held_at_stop: dict[int, dict[str, int]] = {}
        self._gap_reported: set[int] = set()
        self._read: set[int] = set()
        self._run: RunRecord | None = None
        self._beat = 0.0
        store.critical.on_failed = self._write_failed
        store.critical.on_recovered = self._write_recovered

    def _loss(self) -> StateLoss | None:
        if self.vault is not None:
            return self.vault.lost()
        db = self.store.db
        if db.set_aside is None:
            return None
        return StateLoss("damaged", str(db.set_aside), db.damage, "")

    def latest_known_time(self) -> datetime:
        """The latest time the app knew for sure (its last sign of life, the config in force's
        start): "now" cannot be earlier, whatever this computer's clock says."""
        known = [self.clock.now()]
        if self.previous is not None:
            known.append(self.previous.alive_at)
        if self.vault is not None:
            known.append(self.vault.since)
        return max(known)

    # --- start and stop --------------------------------------------------------------------------

    def started(self, engine: Engine) -> None:
        now = self.clock.now()
        if self.loss is not None:
            kept = f" (the damaged file is kept as {self.loss.kept_as})" if self.loss.kept_as else ""
            log.critical(
                "the state file was %s%s: a new one was started; today's P&L and daily locks are "
                "rebuilt from the gateway's trade history, and until that is read each account is "
                "not protected and new entries are closed", self.loss.why, kept)
            self.bus.publish(StateRebuilt(self.loss.why, self.loss.kept_as, self.loss.detail))
        if self.stopped_at is not None:
            self._held_at_stop = {
                account_id: {cid: p.signed_size for cid, p in mirror.positions.items()}
                for account_id, mirror in engine.mirror.accounts.items()
            }
            log.warning(
                "the risk manager did not shut down cleanly last time: protection stopped at about "
                "%s (its last sign of life) and resumes as each account is protected again",
                self.stopped_at.isoformat(timespec="seconds"))
        self._run = RunRecord(now, now, clean=False)
        self._put_run()

    def heartbeat(self) -> None:
        """A sign of life every few seconds (with the batched rows: nothing waits on the disk)."""
        if self._run is None or time.monotonic() - self._beat < HEARTBEAT_SECONDS:
            return
        self._beat = time.monotonic()
        self._run = RunRecord(self._run.started_at, self.clock.now(), clean=False)
        self.store.save_app_state(RUN_KEY, self._run.as_json())

    def stopped(self) -> None:
        if self._run is None:
            return
        self._run = RunRecord(self._run.started_at, self.clock.now(), clean=True)
        self._put_run()

    def _put_run(self) -> None:
        assert self._run is not None
        try:
            self.app_state.put(RUN_KEY, self._run.as_json())
        except Exception as exc:  # a full disk: the critical writer's alarm says the rest
            log.error("the run record could not be written: %s", exc)

    # --- a rebuilt state file ---------------------------------------------------------------------

    async def before_reread(self, rest: GatewayRest, engine: Engine, account_id: int) -> None:
        """Before the account's first re-read after a rebuild: close new entries until its trade
        history is read. What is open now (read over REST first) is left alone."""
        if self.loss is None or account_id in self._read:
            return
        if engine.lockouts.get(account_id, HISTORY_LOCK) is not None:
            return
        for position in await rest.open_positions(account_id):
            engine.handle(position)
        now = self.clock.now()
        breach = Breach(HISTORY_LOCK, account_id, HISTORY_REASON, (),
                        LockRequest(LockKind.COOLDOWN, None))
        engine.locks.apply(breach, now)
        log.warning("account %s: %s", account_id, HISTORY_REASON)

    def history_read(self, engine: Engine, account_id: int, accounts: list[int]) -> None:
        """The account's trades of the day have been read (and judged): the lock goes."""
        if engine.lockouts.get(account_id, HISTORY_LOCK) is not None:
            engine.locks.clear(account_id, HISTORY_LOCK, "trade history read")
        if self.loss is None:
            return
        self._read.add(account_id)
        if set(accounts) <= self._read:
            log.warning("today's trade history has been read for every account: the rebuilt state "
                        "file is complete again")
            if self.vault is not None:
                self.vault.rebuilt()
            self.loss = None
            self.bus.publish(StateRebuildDone(tuple(sorted(accounts))))

    # --- an unclean stop ----------------------------------------------------------------------------

    def gap_to_report(self, account_id: int) -> bool:
        return self.stopped_at is not None and account_id not in self._gap_reported

    async def report_gap(self, rest: GatewayRest, account_id: int) -> None:
        if self.stopped_at is None or account_id in self._gap_reported:
            return
        self._gap_reported.add(account_id)
        stopped, resumed = self.stopped_at, self.clock.now()
        try:
            trades = await rest.trades(account_id, stopped - GAP_SLACK, resumed)
        except Exception as exc:
            log.warning("account %s: protection stopped at about %s and resumed at %s; what "
                        "happened in between could not be read (%s)", account_id,
                        stopped.isoformat(timespec="seconds"), resumed.isoformat(timespec="seconds"),
                        exc)
            self.bus.publish(ProtectionGap(account_id, stopped, resumed, None, None))
            return
        closed = closed_in_gap(trades, self._held_at_stop.get(account_id, {}), stopped - GAP_SLACK)
        net = sum((c.pnl for c in closed), Decimal(0))
        log.warning(
            "account %s: protection stopped at about %s and resumed at %s; in between %d "
            "contract(s) were opened and closed, net %s", account_id,
            stopped.isoformat(timespec="seconds"), resumed.isoformat(timespec="seconds"),
            sum(c.size for c in closed), net)
        for close in closed:
            log.warning("  %s: %d opened %s, closed %s, %s", close.contract_id, close.size,
                        close.opened_at.isoformat(timespec="seconds"),
                        close.closed_at.isoformat(timespec="seconds"), close.pnl)
        self.bus.publish(ProtectionGap(account_id, stopped, resumed, tuple(closed), net))

    # --- failing writes -----------------------------------------------------------------------------

    def _write_failed(self, what: str, error: str) -> None:
        self.bus.publish(StateWriteFailed(what, error))

    def _write_recovered(self) -> None:
        self.bus.publish(StateWriteRecovered())
