"""Build an :class:`AccountSnapshot` from the engine's live state (no Qt here).

Called on the event loop's thread, up to ten times a second for a handful of accounts, so
everything here is a pass over what the account holds right now (a few positions, orders and
locks); the day's P&L curve comes from the tracker's cache. It reads state and never changes
it: no account is created in the mirror and no rule context is reused, so asking for a
snapshot cannot disturb rule evaluation.

The limit bars measure what the engine's *enabled* rules measure, with the rules' own helpers
where they have one, so a bar at 100 % is the breach the rule would see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from core.app.snapshot import (
    AccountSnapshot,
    EnforcementView,
    LimitUsage,
    LockView,
    OrderView,
    PositionView,
)
from core.domain.events import OrderEvent, OrderSide, OrderType
from core.domain.words import money
from core.engine.engine import Engine
from core.engine.rules import RuleContext
from core.engine.rules.r001_max_contracts import MaxContractsRule
from core.engine.rules.r002_max_contracts_per_instrument import MaxContractsPerInstrumentRule
from core.engine.rules.r003_daily_realized_loss import DailyRealizedLossRule
from core.engine.rules.r004_daily_unrealized_loss import DailyUnrealizedLossRule
from core.engine.rules.r005_max_unrealized_profit import MaxUnrealizedProfitRule
from core.engine.rules.r006_trade_frequency_limit import TradeFrequencyLimitRule
from core.engine.rules.r013_daily_realized_profit import DailyRealizedProfitRule
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


def take_snapshot(
    engine: Engine,
    account_id: int,
    *,
    status: str,
    name: str = "",
    recent_enforcement: Iterable[EnforcementView | EnforcementRecord] = (),
) -> AccountSnapshot:
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
    )
    realized = engine.pnl.realized(account_id, day)
    positions = _positions(engine, ctx)
    values = [view.open_pnl for view in positions]
    # One unpriced position makes the sum unknown, not smaller.
    open_pnl = None if None in values else sum((v for v in values if v is not None), 0.0)
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
        locks=_locks(engine, account_id, now),
        limits=_limits(engine, ctx, realized, positions),
        pnl_series=tuple((at, float(net)) for at, net in engine.pnl.day_series(account_id, day)),
        enforcement=_enforcement(account_id, recent_enforcement),
    )


def _positions(engine: Engine, ctx: RuleContext) -> tuple[PositionView, ...]:
    views = []
    for position in ctx.account.positions.values():
        cid = position.contract_id
        contract = engine.contracts.get(cid)
        views.append(
            PositionView(
                contract_id=cid,
                symbol=engine.contracts.symbol(cid),
                name=contract.name if contract is not None and contract.name else cid,
                signed_size=position.signed_size,
                average_price=position.average_price,
                mark=engine.quotes.mark(cid),
                open_pnl=ctx.open_pnl(position),  # the rules' own formula: same numbers
            )
        )
    views.sort(key=lambda v: (v.name, v.contract_id))
    return tuple(views)


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


def _limits(
    engine: Engine, ctx: RuleContext, realized: Decimal, positions: tuple[PositionView, ...]
) -> tuple[LimitUsage, ...]:
    usages: list[LimitUsage] = []
    # engine.rules holds exactly the enabled rules, in table order: the bars follow the engine.
    for rule in engine.rules:
        usage: LimitUsage | None = None
        if isinstance(rule, MaxContractsRule):
            usage = _contracts(rule, ctx)
        elif isinstance(rule, MaxContractsPerInstrumentRule):
            usage = _per_instrument(rule, ctx)
        elif isinstance(rule, DailyRealizedLossRule):
            limit = rule.config.limit
            used = max(0.0, -float(realized))
            usage = LimitUsage(
                rule.rule_id, "Daily loss", used, limit, f"{money(-used)} of {money(-limit)}"
            )
        elif isinstance(rule, DailyUnrealizedLossRule):
            usage = _open_pnl_usage(rule.rule_id, "Open loss", -1, rule.config.limit,
                                    rule.config.scope, positions)
        elif isinstance(rule, MaxUnrealizedProfitRule):
            usage = _open_pnl_usage(rule.rule_id, "Open profit", +1, rule.config.target,
                                    rule.config.scope, positions)
        elif isinstance(rule, TradeFrequencyLimitRule):
            usage = _trades(rule, ctx)
        elif isinstance(rule, DailyRealizedProfitRule):
            target = rule.config.target
            used = max(0.0, float(realized))
            usage = LimitUsage(
                rule.rule_id, "Daily profit", used, target, f"{money(used)} of {money(target)}"
            )
        if usage is not None:
            usages.append(usage)
    return tuple(usages)


def _contracts(rule: MaxContractsRule, ctx: RuleContext) -> LimitUsage:
    cfg = rule.config
    used = ctx.account.gross_contracts() if cfg.count_type == "gross" else ctx.account.net_contracts()
    return LimitUsage(
        rule.rule_id, "Contracts", float(used), float(cfg.limit),
        f"{used} of {cfg.limit} contracts ({cfg.count_type})",
    )


def _per_instrument(rule: MaxContractsPerInstrumentRule, ctx: RuleContext) -> LimitUsage | None:
    cfg = rule.config
    totals: dict[str, list[int]] = {}  # symbol → [contracts, limit]
    for position in ctx.account.positions.values():
        symbol, limit = rule.limit_for(ctx, position.contract_id)  # the rule's own grouping
        if limit is None:
            continue  # an unlisted symbol the config allows: nothing to measure
        totals.setdefault(symbol, [0, limit])[0] += position.size
    if totals:
        def badness(item: tuple[str, list[int]]) -> tuple[float, int, str]:
            used, limit = item[1]
            ratio = used / limit if limit > 0 else (float("inf") if used else 0.0)
            return ratio, used, item[0]

        symbol, (used, limit) = max(totals.items(), key=badness)
        return LimitUsage(
            rule.rule_id, "Per instrument", float(used), float(limit),
            f"{symbol}: {used} of {limit} contracts",
        )
    # Flat (or only unmeasured symbols): show the tightest limit a new position could meet.
    limits = list(cfg.limits.values())
    if cfg.default_limit is not None:
        limits.append(cfg.default_limit)
    if not limits:
        return None
    return LimitUsage(rule.rule_id, "Per instrument", 0.0, float(min(limits)), "no positions")


def _open_pnl_usage(
    rule_id: str, label: str, sign: int, limit: float, scope: str,
    positions: tuple[PositionView, ...],
) -> LimitUsage:
    """Open loss (sign −1) or open profit (sign +1) against its limit, as RULE-004/005 see it."""
    shown = -limit if sign < 0 else limit
    if not positions:
        return LimitUsage(rule_id, label, 0.0, limit, f"{money(0)} of {money(shown)}")
    if scope == "account":
        values = [p.open_pnl for p in positions]
        if any(v is None for v in values):
            # The rule takes no decision while a position is unpriced; neither does the bar.
            return LimitUsage(rule_id, label, 0.0, limit, f"no price yet (of {money(shown)})")
        total = sum((v for v in values if v is not None), 0.0)
        used = max(0.0, sign * total)
        return LimitUsage(rule_id, label, used, limit, f"{money(sign * used)} of {money(shown)} (account)")
    priced = [(p.open_pnl, p.name) for p in positions if p.open_pnl is not None]
    if not priced:
        return LimitUsage(rule_id, label, 0.0, limit, f"no price yet (of {money(shown)})")
    value, worst = max(priced, key=lambda item: sign * item[0])
    used = max(0.0, sign * value)
    text = f"{money(sign * used)} of {money(shown)} on {worst}"
    if len(priced) < len(positions):
        text += " (some positions have no price yet)"
    return LimitUsage(rule_id, label, used, limit, text)


def _trades(rule: TradeFrequencyLimitRule, ctx: RuleContext) -> LimitUsage:
    cfg = rule.config
    counts = ctx.counter.counts(ctx.account_id, ctx.now)
    windows = (
        (counts.minute, cfg.per_minute, "this minute"),
        (counts.hour, cfg.per_hour, "this hour"),
        (counts.session, cfg.per_session, "today"),
    )
    # The fullest window; on a tie the longer one, whose cooldown is the longer too.
    index = max(range(len(windows)), key=lambda i: (windows[i][0] / windows[i][1], i))
    used, limit, where = windows[index]
    return LimitUsage(
        rule.rule_id, "Trades", float(used), float(limit), f"{used} of {limit} entries {where}"
    )


def _enforcement(
    account_id: int, records: Iterable[EnforcementView | EnforcementRecord]
) -> tuple[EnforcementView, ...]:
    views = []
    for record in records:
        if isinstance(record, EnforcementRecord):
            if record.account_id != account_id:
                continue  # a shared log may be passed in: keep this account's rows only
            record = EnforcementView(
                record.at, record.rule_id, record.action, record.outcome, record.reason
            )
        views.append(record)
    return tuple(views)
