"""The trading day's news and its turn.

Realized P&L is told once it is durable, with the warning before the daily loss limit it
crosses; a rule's warning before its limit is told once per trading day and threshold; and
the daily reset closes the day (the Maximum Loss Limit floor trails its end-of-day balance)
and starts the next one: session trade counts, old P&L days and the day's warnings go.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.engine.notices import DailyReset, LimitWarning, LossWarning, RealizedPnlChanged
from core.engine.restore import KEEP_PNL_DAYS
from core.engine.rules import Breach
from core.modules.pnl_tracker import PnlUpdate

if TYPE_CHECKING:
    from core.engine.engine import Engine

# A reset run later than this after its instant (the PC asleep, a missed reset run at start-up)
# cannot take the balance then as the day's end: trading has started again since.
RESET_ON_TIME = timedelta(minutes=1)


def pnl_durable(engine: Engine, update: PnlUpdate) -> None:
    """Realized P&L reached the state file: tell it, with the loss warning it crosses."""
    engine.bus.publish(
        RealizedPnlChanged(update.account_id, update.trading_day, update.net, update.trade_count)
    )
    cfg = engine.config.rules_for(update.account_id).daily_realized_loss
    if not cfg.enabled or update.trading_day != engine.calendar.trading_day(engine.clock.now()):
        return
    day, net = update.trading_day, update.net
    for fraction in engine.warnings.to_announce(cfg, update.account_id, day, net):
        engine.bus.publish(LossWarning(update.account_id, day, fraction, net, cfg.limit))


def warn_once(engine: Engine, breach: Breach, now: datetime) -> None:
    """A warning before a limit: told once per trading day per threshold; telling it uses up
    the thresholds the breach names with it for the day."""
    day = engine.calendar.trading_day(now)
    key = (breach.account_id, breach.rule_id, breach.warning or 0.0, day)
    if key not in engine.limit_warned:
        engine.limit_warned.add(key)
        for threshold in breach.uses_up:
            engine.limit_warned.add((breach.account_id, breach.rule_id, threshold, day))
        engine.bus.publish(
            LimitWarning(breach.account_id, breach.rule_id, breach.reason, breach.warning or 0.0, day)
        )


def run_reset(engine: Engine, account_id: int, now: datetime) -> None:
    close_the_day(engine, account_id, now)
    day = engine.resets.mark_reset(account_id, now)
    engine.counter.reset_session(account_id, now)
    engine.pnl.prune(day - timedelta(days=KEEP_PNL_DAYS))
    engine.warnings.forget_before(day)
    engine.limit_warned = {w for w in engine.limit_warned if w[3] >= day}
    engine.bus.publish(DailyReset(account_id, day))


def close_the_day(engine: Engine, account_id: int, now: datetime) -> None:
    """The Maximum Loss Limit floor trails the end-of-day balance of the day that just ended,
    when the app knows that balance: the reset runs on time, and every day before it was taken
    in. A reset missed while the app was off runs later, when the balance is another day's (or
    none is known yet at start-up); then the days missed are rebuilt from the trade history
    (``core.app.mll_seed``), and until they are the record says it is behind."""
    account = engine.mirror.account(account_id)
    if account.balance is None:
        return
    record = engine.plans.record(account)
    if record is None:
        return
    today = engine.calendar.trading_day(now)
    ended = today - timedelta(days=1)
    if now - engine.calendar.day_start(today) > RESET_ON_TIME:
        return
    if record.eod_day is not None and record.eod_day < ended - timedelta(days=1):
        return  # days before it are missing: the history rebuild takes this one in too
    # Trades already made in the new day are not the old day's balance.
    since_reset = float(engine.pnl.realized(account_id, today))
    engine.mll.end_of_day(account_id, ended, account.balance - since_reset)
