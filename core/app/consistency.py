"""Consistency: the best trading day's share of the account's total profit.

Topstep's own consistency rule is unconfirmed (sources say 40 %, 50 % or none), so the app only
shows the share, and warns at a threshold the trader sets (``[topstep] consistency_warning``,
off by default). The share needs every day's P&L since the account started: the days the app
recorded (the state file's ``daily_pnl``) must add up to the account's profit (balance minus the
plan's starting balance). When they do not (the app started after the account did), the share
is not shown: a best day the app never saw could be larger than any it knows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import create_engine, text

from core.app.history_reader import STATE_FILE
from core.app.snapshot import ConsistencyView
from core.domain.words import money

log = logging.getLogger(__name__)

# The recorded days and the balance may differ by rounding of fees; anything more is a day the
# app did not see.
TOLERANCE = Decimal("1.00")
ZERO = Decimal(0)


def consistency_view(
    nets: Mapping[date, Decimal], profit: float, threshold: float
) -> ConsistencyView:
    """``nets``: net realized P&L per trading day, today included; ``profit``: the account's
    profit since it started (balance − starting balance)."""
    total = Decimal(str(round(profit, 2)))
    known = sum(nets.values(), ZERO)
    if total <= 0:
        return ConsistencyView(None, None, ZERO, total, threshold,
                               f"no profit yet ({money(total)} since the start)")
    if abs(known - total) > TOLERANCE:
        days = sorted(d for d, net in nets.items() if net != 0)
        seen = f"{len(days)} day{'s' if len(days) != 1 else ''}" + (
            f" from {days[0]:%d %b %Y}" if days else "")
        return ConsistencyView(
            None, None, ZERO, total, threshold,
            f"not known: the P&L the app recorded ({seen}, {money(known)}) does not add up to "
            f"the profit since the start ({money(total)})",
        )
    best_day, best = max(nets.items(), key=lambda item: (item[1], item[0]))
    share = float(best / total)
    trading_days = sum(1 for net in nets.values() if net != 0)
    return ConsistencyView(share, best_day, best, total, threshold,
                           f"over {trading_days} trading day{'s' if trading_days != 1 else ''}")


def read_day_nets(data_dir: Path, account_ids: Iterable[int]) -> dict[int, dict[date, Decimal]]:
    """Net realized P&L per account and trading day from the state file, opened read-only (the
    app keeps writing it). Blocking: run it off the event loop. A missing or unreadable file
    gives no days (the share then says it is not known)."""
    wanted = set(account_ids)
    found: dict[int, dict[date, Decimal]] = {a: {} for a in wanted}
    path = data_dir / STATE_FILE
    if not wanted or not path.exists():
        return found
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT account_id, trading_day, realized_pnl FROM daily_pnl")
            ).all()
    except Exception:
        log.exception("could not read the daily P&L from %s", path)
        return found
    finally:
        engine.dispose()
    for account_id, day, net in rows:
        if account_id not in wanted:
            continue
        try:
            found[account_id][date.fromisoformat(str(day))] = Decimal(str(net))
        except (ValueError, InvalidOperation):
            log.warning("daily P&L row %s %s %r is not readable: left out", account_id, day, net)
    return found
