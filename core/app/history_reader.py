"""Read the history back: one row per enforcement action, plus breaches, locks and warnings,
grouped by trading day, and written out as CSV.

The state file's ``enforcement_log`` has a row when a command goes out and one per outcome
(retry, failed, done); here they fold into one row per action, carrying the final outcome and
the latency. The price of a close is the first fill in that contract after it went out (the
state file's ``trade_history``); a cancel shows the order's own size. Both files are opened
read-only, so the history window can read while the app writes.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from core.app.history import FILE_NAME as HISTORY_FILE
from core.app.history import describe_kind
from core.app.words import action_word, outcome_word, rule_name
from core.domain.trading_day import TradingCalendar

log = logging.getLogger(__name__)

STATE_FILE = "state.db"
FILL_WINDOW = timedelta(seconds=30)
MAX_ROWS = 20_000  # enough for months of a busy account; the window stays quick


@dataclass(frozen=True, slots=True)
class HistoryRow:
    at: datetime
    trading_day: date
    account_id: int
    what: str  # "Closed", "Reduced", "Cancelled", "Breach", "Locked", "Lock lifted", "Warning"
    rule: str  # "Daily loss limit"
    contract: str = ""
    size: int | None = None
    price: float | None = None
    outcome: str = ""  # "Done", "Failed", "Retrying", "Sent"; empty for events
    latency_ms: float | None = None
    details: str = ""
    enforcement: bool = False  # an action on the gateway (as opposed to a breach or a lock)


CSV_HEADER = ["Trading day", "Time", "Account", "What", "Rule", "Contract", "Size", "Price",
              "Outcome", "Latency (ms)", "Details"]


def _connect(path: Path) -> Any:
    # mode=ro: reading must never create, migrate or lock the app's files.
    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def _at(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)


def read_history(
    data_dir: Path,
    calendar: TradingCalendar,
    *,
    since: date | None = None,
    account_ids: Iterable[int] | None = None,
) -> list[HistoryRow]:
    """Every row from ``since`` (a trading day) on, newest first."""
    accounts = set(account_ids) if account_ids is not None else None
    start = calendar.day_start(since).astimezone(UTC).isoformat() if since is not None else ""
    rows: list[HistoryRow] = []
    state = data_dir / STATE_FILE
    if state.exists():
        try:
            rows += _enforcement_rows(state, calendar, start)
        except Exception:
            log.exception("could not read the enforcement history from %s", state)
    events = data_dir / HISTORY_FILE
    if events.exists():
        try:
            rows += _event_rows(events, calendar, start)
        except Exception:
            log.exception("could not read the history from %s", events)
    if accounts is not None:
        rows = [r for r in rows if r.account_id in accounts]
    rows.sort(key=lambda r: (r.at, not r.enforcement), reverse=True)
    return rows


def _event_rows(path: Path, calendar: TradingCalendar, start: str) -> list[HistoryRow]:
    engine = _connect(path)
    try:
        with engine.connect() as conn:
            result = conn.execute(
                text("SELECT at, account_id, kind, rule_id, text FROM history_events "
                     "WHERE at >= :start ORDER BY id LIMIT :limit"),
                {"start": start, "limit": MAX_ROWS},
            ).all()
    finally:
        engine.dispose()
    out = []
    for at_text, account_id, kind, rule_id, words in result:
        at = _at(at_text)
        what, rule = describe_kind(kind, rule_id)
        out.append(HistoryRow(at, calendar.trading_day(at), account_id, what, rule, details=words))
    return out


def _enforcement_rows(path: Path, calendar: TradingCalendar, start: str) -> list[HistoryRow]:
    engine = _connect(path)
    try:
        with engine.connect() as conn:
            log_rows = conn.execute(
                text("SELECT timestamp, account_id, rule_id, action, reason, outcome, details, "
                     "execution_time_ms FROM enforcement_log WHERE timestamp >= :start "
                     "ORDER BY id LIMIT :limit"),
                {"start": start, "limit": MAX_ROWS},
            ).all()
            names = dict(conn.execute(text("SELECT contract_id, name FROM contract_cache")).all())
            trades = conn.execute(
                text("SELECT account_id, contract_id, created_at, price, size FROM trade_history "
                     "WHERE created_at >= :start ORDER BY created_at"),
                {"start": start},
            ).all()
    finally:
        engine.dispose()
    fills: dict[tuple[int, str], list[tuple[datetime, float, int]]] = {}
    for account_id, contract_id, created_at, price, size in trades:
        fills.setdefault((account_id, contract_id), []).append((_at(created_at), price, size))
    folded = _fold(log_rows)
    out = []
    for action in folded:
        out.append(_action_row(action, calendar, names, fills))
    return out


@dataclass(slots=True)
class _Action:
    at: datetime
    account_id: int
    rule_id: str
    action: str
    reason: str
    outcome: str
    details: dict[str, Any]
    latency_ms: float | None


def _fold(log_rows: Sequence[Any]) -> list[_Action]:
    """An action's rows become one: the first "issued" opens it, resends of the same action
    while it is open (the engine repeats a close until it lands; the executor folds them into
    one) join it, and each outcome updates it; the last outcome stands."""
    actions: list[_Action] = []
    open_: dict[tuple[Any, ...], _Action] = {}
    last: dict[tuple[Any, ...], _Action] = {}
    for timestamp, account_id, rule_id, action, reason, outcome, details_text, latency in log_rows:
        try:
            details = json.loads(details_text or "{}")
        except ValueError:
            details = {}
        key = (account_id, action, details.get("contract_id", ""), details.get("order_id", 0))
        current = open_.get(key)
        if current is None and outcome != "issued":
            current = last.get(key)  # an outcome for a resend folded into a finished action
            if current is not None and current.outcome == "done":
                continue
        if current is None:
            current = _Action(_at(timestamp), account_id, rule_id, action, reason, outcome,
                              details, latency)
            actions.append(current)
            last[key] = current
            if outcome != "done":
                open_[key] = current
            continue
        if outcome == "issued":
            continue  # a resend of the action still open
        current.outcome = outcome
        current.details = {**current.details, **details}
        if latency is not None:
            current.latency_ms = latency
        if outcome == "done":
            open_.pop(key, None)
    return actions


def _action_row(
    action: _Action,
    calendar: TradingCalendar,
    names: dict[str, str],
    fills: dict[tuple[int, str], list[tuple[datetime, float, int]]],
) -> HistoryRow:
    details = action.details
    contract_id = str(details.get("contract_id", ""))
    contract = names.get(contract_id, contract_id)
    size = details.get("size")
    if action.action == "close_contract":
        size = details.get("size_before", size)
    size = abs(size) if isinstance(size, int) else None
    price: float | None = None
    if action.action in ("close_contract", "partial_close") and action.outcome == "done":
        for at, fill_price, fill_size in fills.get((action.account_id, contract_id), ()):
            if action.at - timedelta(seconds=1) <= at <= action.at + FILL_WINDOW:
                price = fill_price
                if size is None:
                    size = fill_size  # a close's size is what its fill closed
                break
    elif action.action in ("modify_stop", "place_stop"):
        price = details.get("stop_price")
    text_details = action.reason
    if action.action == "flatten":
        closed = [names.get(c, c) for c in details.get("closed", [])]
        cancelled = len(details.get("cancelled", []))
        parts = ([f"closed {', '.join(closed)}"] if closed else []) + (
            [f"cancelled {cancelled} order{'s' if cancelled != 1 else ''}"] if cancelled else [])
        if parts:
            text_details = f"{'; '.join(parts)} ({action.reason})"
    elif action.action == "cancel_order" and details.get("order_id"):
        text_details = f"order {details['order_id']} ({action.reason})"
    return HistoryRow(
        at=action.at,
        trading_day=calendar.trading_day(action.at),
        account_id=action.account_id,
        what=action_word(action.action),
        rule=rule_name(action.rule_id),
        contract=contract,
        size=size,
        price=price,
        outcome=outcome_word(action.outcome),
        latency_ms=action.latency_ms,
        details=text_details,
        enforcement=True,
    )


def by_day(rows: Iterable[HistoryRow]) -> dict[date, list[HistoryRow]]:
    """Rows grouped by trading day, newest day first (rows keep their order)."""
    days: dict[date, list[HistoryRow]] = {}
    for row in sorted(rows, key=lambda r: r.at, reverse=True):
        days.setdefault(row.trading_day, []).append(row)
    return days


def day_summary(rows: Sequence[HistoryRow]) -> str:
    """ "2 breaches, 1 lock, 5 actions (1 failed)"."""
    def count(n: int, word: str, plural: str) -> str:
        return f"{n} {word if n == 1 else plural}"

    breaches = sum(1 for r in rows if r.what == "Breach")
    locks = sum(1 for r in rows if r.what == "Locked")
    actions = [r for r in rows if r.enforcement]
    failed = sum(1 for r in actions if r.outcome == "Failed")
    parts = [count(breaches, "breach", "breaches"), count(locks, "lock", "locks"),
             count(len(actions), "action", "actions")]
    text_value = ", ".join(parts)
    return text_value + (f" ({failed} failed)" if failed else "")


def export_csv(rows: Iterable[HistoryRow], path: Path, zone: ZoneInfo) -> int:
    """Write the rows (as shown) to ``path``; returns how many were written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in rows:
            local = row.at.astimezone(zone)
            writer.writerow([
                row.trading_day.isoformat(),
                f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}",
                row.account_id,
                row.what,
                row.rule,
                row.contract,
                "" if row.size is None else row.size,
                "" if row.price is None else f"{row.price:.10g}",
                row.outcome,
                "" if row.latency_ms is None else f"{row.latency_ms:.1f}",
                row.details,
            ])
            count += 1
    return count
