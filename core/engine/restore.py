"""Start-up: the engine's state read back from the state file, in SPEC section 4 order
(lockouts, daily P&L, contracts, reset schedule with a missed reset run now, trade counts,
positions and orders), then the daily limits judged at once on the restored P&L.

Lock expiry and a missed reset are judged on "now"; until the clock is anchored to the
gateway's time (``engine.time_known()``), that is only this computer's clock, which the trader
may have moved. Both then wait for the tick that follows the gateway's first answer."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.engine.engine import Engine

log = logging.getLogger(__name__)

KEEP_PNL_DAYS = 3
# Judged from the restored P&L at once after a restart, before the gateway answers.
DAILY_LIMIT_TABLES = ("daily_realized_loss", "daily_realized_profit")


def restore_state(engine: Engine) -> None:
    store = engine.store
    if store is None:
        return
    now = engine.clock.now()
    locks, symbol_locks = store.load_locks()
    engine.lockouts.restore(locks, symbol_locks)
    for lock in locks:
        engine.locks.arm_expiry(lock, now)
    today = engine.calendar.trading_day(now)
    trades = store.load_trades(today - timedelta(days=KEEP_PNL_DAYS))
    engine.pnl.restore(trades)
    for account_id in {t.account_id for t in trades}:
        # Warnings already given before the restart are not given again.
        engine.warnings.passed(
            engine.config.rules_for(account_id).daily_realized_loss,
            account_id,
            today,
            engine.pnl.realized(account_id, today),
        )
    engine.contracts.restore(store.load_contracts())
    engine.mll.restore(store.load_mll())
    engine.resets.restore(store.load_resets())
    due = engine.resets.due(now)
    if due and not engine.time_known():
        # This computer's clock says a reset was missed, but it may have been moved: the tick
        # runs the reset once the gateway has confirmed the time (locks wait the same way).
        log.warning(
            "a missed daily reset for %s waits until the gateway confirms the time",
            ", ".join(str(a) for a in due),
        )
        due = []
    for account_id in due:
        log.info("account %s missed its daily reset while stopped: running it now", account_id)
        engine.run_reset(account_id, now)
    engine.counter.restore(trades, now)
    engine.mirror.restore(store.load_positions(), store.load_orders())
    # The symbol may have been unblocked while the app was stopped (even with no position
    # left, so the account need not be in the mirror).
    engine.release_unblocked_symbols({sl.account_id for sl in symbol_locks})
    # A loss that reached the disk without its lock (a crash between the two commits) is
    # enforced now, not when the gateway's trade history answers.
    for account_id in sorted({t.account_id for t in trades}):
        engine.recheck(account_id, only=DAILY_LIMIT_TABLES)
