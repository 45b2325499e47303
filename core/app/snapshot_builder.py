"""Build an :class:`AccountSnapshot` from the engine's live state (no Qt here).

Called on the event loop's thread, up to ten times a second for a handful of accounts, so
everything here is a pass over what the account holds right now (a few positions, orders and
locks); the day's P&L curve comes from the tracker's cache. It reads state and never changes
it: no account is created in the mirror and no rule context is reused, so asking for a
snapshot cannot disturb rule evaluation.

The limit bars are in :mod:`core.app.limit_usage`; what keeps failing comes from the
:class:`core.app.enforcement_watch.EnforcementWatch`, worded here against the positions the
account holds now, so the trader reads exactly what to close by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.app.enforcement_watch import Failing, contract_name, tick_size, todo_words
from core.app.limit_usage import limits as limit_usages
from core.app.snapshot import (
    AccountSnapshot,
    EnforcementView,
    FailingView,
    LockView,
    OrderView,
    PositionView,
    SinceLock,
)
from core.app.topstep_view import ladder_views, topstep_view
from core.app.waiting import NOTHING, Waiting
from core.app.words import gateway_words
from core.domain.events import OrderEvent, OrderSide, OrderType, TradeEvent
from core.engine.engine import Engine
from core.engine.rules import RuleContext
from core.modules.enforcement_log import EnforcementRecord
from core.modules.lockouts import LockKind
from core.modules.mirror import AccountMirror

ORDER_KINDS: dict[OrderType, str] = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP_LIMIT: "stop limit",
    OrderType.STOP: "stop",
    OrderType.TRAILING_STOP: "trailing stop",
    OrderType.JOIN_BID: "join bid",
    OrderType.JOIN_ASK: "join ask",
}
_LOCK_ORDER = {LockKind.HARD: 0, LockKind.COOLDOWN: 1}
# A closing fill this long after its close went out is still that close's fill.
FILL_WINDOW = timedelta(seconds=30)


def take_snapshot(
    engine: Engine,
    account_id: int,
    *,
    status: str,
    name: str = "",
    recent_enforcement: Iterable[EnforcementView | EnforcementRecord] = (),
    failing: Iterable[Failing] = (),
    last_marks: Mapping[str, float] | None = None,
    waiting: Waiting = NOTHING,
    day_nets: Mapping[date, Decimal] | None = None,
    state_not_saved: str = "",
) -> AccountSnapshot:
    """``last_marks``: the last price seen per contract, shown (as stale) once the live quote
    is gone after a market-data outage; ``waiting``: loosened settings waiting for the reset;
    ``day_nets``: the account's net P&L per earlier trading day (for the consistency share);
    ``state_not_saved``: what the disk said while the state file cannot be written
    (:class:`core.app.state_alarm.StateAlarm`).

    Everything is measured against the account's own rules (``[accounts."<id>"]`` over the
    shared tables), as the engine judges it."""
    now = engine.clock.now()
    day = engine.calendar.trading_day(now)
    # .get, not .account(): a snapshot of an account never seen must not add it to the mirror.
    account = engine.mirror.accounts.get(account_id) or AccountMirror(account_id)
    # A private context: the engine's cached one belongs to rule evaluation.
    ctx = RuleContext(
        account,
        now,
        engine.calendar,
        engine.quotes,
        engine.contracts,
        engine.pnl,
        engine.counter,
        engine.lockouts,
        engine.holidays,
        engine.plans,
    )
    realized = engine.pnl.realized(account_id, day)
    positions = _positions(engine, ctx, last_marks or {})
    values = [view.open_pnl for view in positions]
    # One unpriced position makes the sum unknown, not smaller.
    open_pnl = None if None in values else sum((v for v in values if v is not None), 0.0)
    locks = _locks(engine, account_id, now)
    trades = engine.pnl.day_trades(account_id, day)
    rules = engine.config.rules_for(account_id)
    stale = any(p.stale for p in positions)
    return AccountSnapshot(
        account_id=account_id,
        name=name or account.name,
        status=status,
        trading_day=day,
        taken_at=now,
        realized=realized,
        open_pnl=open_pnl,
        positions=positions,
        orders=_orders(engine, account),
        locks=locks,
        limits=limit_usages(engine, ctx, realized, positions, waiting.by_rule),
        pnl_series=tuple((at, float(net)) for at, net in engine.pnl.day_series(account_id, day)),
        enforcement=_enforcement(account_id, recent_enforcement, trades),
        failing=tuple(
            FailingView(f.command.rule_id, todo_words(engine, f.command), gateway_words(f.error),
                        f.attempts)
            for f in failing
        ),
        rules_enabled=tuple(
            r.rule_id for r in engine.rulebook.rules(account_id) if not r.automation
        ),
        since_lock=_since_lock(engine, account_id, now, trades),
        loss_limit=rules.daily_realized_loss.limit if rules.daily_realized_loss.enabled else None,
        profit_target=(
            rules.daily_realized_profit.target if rules.daily_realized_profit.enabled else None
        ),
        waiting=waiting.lines,
        day_start=engine.calendar.day_start(day),
        topstep=topstep_view(engine, ctx, rules, stale=stale, day_nets=day_nets),
        ladder=ladder_views(ctx, rules),
        state_not_saved=state_not_saved,
    )


def _positions(
    engine: Engine, ctx: RuleContext, last_marks: Mapping[str, float]
) -> tuple[PositionView, ...]:
    views = []
    for position in ctx.account.positions.values():
        cid = position.contract_id
        mark = engine.quotes.mark(cid)
        stale = mark is None and cid in last_marks
        views.append(
            PositionView(
                contract_id=cid,
                symbol=engine.contracts.symbol(cid),
                name=contract_name(engine, cid),
                signed_size=position.signed_size,
                average_price=position.average_price,
                mark=last_marks[cid] if stale else mark,
                # The rules' own formula: same numbers; never from a stale price.
                open_pnl=ctx.open_pnl(position),
                tick_size=tick_size(engine, cid),
                stale=stale,
            )
        )
    views.sort(key=lambda v: (v.name, v.contract_id))
    return tuple(views)


def _since_lock(
    engine: Engine, account_id: int, now: datetime, trades: list[TradeEvent]
) -> SinceLock | None:
    """While locked, each new entry is closed again: count them and what they cost."""
    lock = engine.lockouts.hard_lock(account_id, now) or engine.lockouts.cooldown(account_id, now)
    if lock is None:
        return None
    # Only what the trader did while locked: entries made since, and the exits of what those
    # entries opened. The exit that set a cooldown (or a position held from before the lock,
    # closed later) is not a cost of trying again.
    entered: set[str] = set()
    entries, net = 0, Decimal(0)
    for t in trades:
        if t.created_at < lock.locked_at or t.voided:
            continue
        if t.is_opening:
            entries += 1
            entered.add(t.contract_id)
            net += t.net_pnl
        elif t.contract_id in entered:
            net += t.net_pnl
    return SinceLock(net, entries)


def _orders(engine: Engine, account: AccountMirror) -> tuple[OrderView, ...]:
    views = []
    for order in account.orders.values():
        contract = engine.contracts.get(order.contract_id)
        views.append(
            OrderView(
                order_id=order.order_id,
                contract_id=order.contract_id,
                name=contract.name if contract is not None and contract.name else order.contract_id,
                side=_side(order.side),
                kind=_kind(order.type or 0),  # 0: not reported yet (being re-read)
                size=order.size or 0,
                price=_order_price(order),
                status=order.status,
                tick_size=tick_size(engine, order.contract_id),
            )
        )
    views.sort(key=lambda v: v.order_id)
    return tuple(views)


def _side(side: int) -> str:
    if side == OrderSide.BUY:
        return "buy"
    if side == OrderSide.SELL:
        return "sell"
    return f"side {side}"  # unknown codes are shown, not hidden


def _kind(code: int) -> str:
    try:
        return ORDER_KINDS[OrderType(code)]
    except (ValueError, KeyError):
        return f"type {code}"  # a code new to us (or UNKNOWN) is shown as it came


def _order_price(order: OrderEvent) -> float | None:
    # The stop is what triggers a stop-limit, so it is the price a trader looks for first.
    for price in (order.stop_price, order.limit_price, order.trail_price):
        if price is not None:
            return price
    return None


def _locks(engine: Engine, account_id: int, now: datetime) -> tuple[LockView, ...]:
    # A lock past its end is cleared on the next tick; until then it no longer binds, so it
    # is not shown (the tray would otherwise flash "locked" for up to a second).
    active = [lock for lock in engine.lockouts.locks(account_id) if lock.active_at(now)]
    active.sort(
        key=lambda lk: (_LOCK_ORDER.get(lk.kind, 2), lk.until is None, lk.until or now, lk.rule_id)
    )
    views = [
        LockView(lk.rule_id, lk.kind.value, lk.reason, lk.until, lk.remaining_seconds(now))
        for lk in active
    ]
    for slock in sorted(engine.lockouts.symbol_locks(account_id), key=lambda s: s.symbol):
        # LockView has no symbol field: make sure the reason names it.
        reason = slock.reason if slock.symbol in slock.reason else f"{slock.symbol}: {slock.reason}"
        views.append(LockView(slock.rule_id, "symbol", reason, None, None))
    return tuple(views)


def _enforcement(
    account_id: int,
    records: Iterable[EnforcementView | EnforcementRecord],
    trades: list[TradeEvent],
) -> tuple[EnforcementView, ...]:
    views = []
    for record in records:
        if isinstance(record, EnforcementRecord):
            if record.account_id != account_id:
                continue  # a shared log may be passed in: keep this account's rows only
            record = EnforcementView(
                record.at, record.rule_id, record.action, record.outcome, record.reason,
                latency_ms=record.execution_time_ms,
            )
        if record.price is None and record.outcome == "done" and record.action in (
            "close_contract", "partial_close"
        ):
            record = _with_fill_price(record, trades)
        views.append(record)
    return tuple(views)


def _with_fill_price(view: EnforcementView, trades: list[TradeEvent]) -> EnforcementView:
    """The price a close got: the first fill in that contract after the close went out."""
    if not view.contract_id:
        return view
    for trade in trades:
        if trade.contract_id == view.contract_id and (
            view.at - timedelta(seconds=1) <= trade.created_at <= view.at + FILL_WINDOW
        ):
            return replace(view, price=trade.price)
    return view
