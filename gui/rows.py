"""Table rows for the dashboard, in the trader's words: positions, orders, locks, enforcement."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.app.protection import Protection
from core.app.snapshot import EnforcementView, LockView, OrderView, PositionView
from core.app.words import action_word, local_time, outcome_word, rule_name
from core.domain.events import OrderStatus
from gui.pnl_chart import AMBER, GREEN, RED
from gui.tables import GREY, Cell, Row, format_price, lock_remaining, pnl_colour
from gui.tray import signed_money

NO_PRICE = "no price yet"
STALE = "stale"
_LOCK_KIND = {
    "hard": ("Locked", RED),
    "cooldown": ("Cooldown", AMBER),
    "symbol": ("Symbol blocked", AMBER),
}
_OUTCOME_COLOUR = {"done": GREEN, "retry": AMBER, "failed": RED}

# The header banner per state: (background, text colour). Red is for acting now, grey for
# "nothing is being enforced", amber for a lock the trader lives with, green for all well.
BANNER = {
    Protection.FAILING: ("#d3302f", "white"),
    Protection.DISCONNECTED: ("#6b7079", "white"),
    Protection.NO_LIMITS: ("#6b7079", "white"),
    Protection.LOCKED: ("#fbe3e3", "#a01c1c"),
    Protection.COOLDOWN: ("#fff1d0", "#7a4f00"),
    Protection.WARNING: ("#fff1d0", "#7a4f00"),
    Protection.PROTECTED: ("#e4f3e8", "#1d6b31"),
}


def banner_style(state: Protection) -> str:
    background, colour = BANNER[state]
    return (f"background: {background}; color: {colour}; font-weight: bold; "
            "padding: 6px 10px; border-radius: 4px;")


def order_status(code: int) -> str:
    try:
        return OrderStatus(code).name.replace("_", " ").lower()
    except ValueError:
        return f"status {code}"  # a code new to us is shown as it came


def position_row(p: PositionView) -> Row:
    size = p.signed_size
    side = f"{'Long' if size > 0 else 'Short'} {abs(size)}" if size else "Flat"
    if p.mark is None:
        mark: Cell = (NO_PRICE, GREY)
    elif p.stale:
        mark = (f"{format_price(p.mark, p.tick_size)} ({STALE})", GREY)
    else:
        mark = (format_price(p.mark, p.tick_size), None)
    if p.open_pnl is not None:
        pnl: Cell = (signed_money(p.open_pnl), pnl_colour(p.open_pnl))
    else:
        pnl = ("unknown: price stale" if p.stale else NO_PRICE, GREY)
    cells: list[Cell] = [
        (p.name, None),
        (side, GREEN if size > 0 else RED if size < 0 else None),
        (format_price(p.average_price, p.tick_size), None),
        mark,
        pnl,
    ]
    return p.contract_id, cells


def order_row(o: OrderView, tick_size: float | None) -> Row:
    return o.order_id, [
        (str(o.order_id), None), (o.name, None),
        (o.side, GREEN if o.side == "buy" else RED if o.side == "sell" else None),
        (o.kind, None), (str(o.size), None), (format_price(o.price, tick_size), None),
        (order_status(o.status), None),
    ]


def lock_row(lock: LockView, now: datetime, zone: ZoneInfo) -> Row:
    kind, colour = _LOCK_KIND.get(lock.kind, (lock.kind, AMBER))
    until = local_time(lock.until, zone, now=now) if lock.until is not None else "—"
    cells: list[Cell] = [
        (rule_name(lock.rule_id), None), (kind, colour), (lock_remaining(lock, now), None),
        (until, None), (lock.reason, None),
    ]
    return (lock.rule_id, lock.kind, lock.reason), cells


ENFORCEMENT_HEADERS = ["Time", "Action", "On", "Size", "Price", "Outcome", "Latency", "Rule",
                       "Reason"]


def enforcement_row(e: EnforcementView, zone: ZoneInfo) -> Row:
    latency = "" if e.latency_ms is None else f"{e.latency_ms:,.0f} ms"
    on = e.target or e.contract
    return (e.at, e.rule_id, e.action, e.target), [
        (e.at.astimezone(zone).strftime("%H:%M:%S"), None),
        (action_word(e.action), None),
        (on, None),
        ("" if e.size is None else str(e.size), None),
        ("" if e.price is None else format_price(e.price, e.tick_size), None),
        (outcome_word(e.outcome), _OUTCOME_COLOUR.get(e.outcome)),
        (latency, None),
        (rule_name(e.rule_id), None),
        (e.reason, None),
    ]
