"""take_snapshot: the numbers the dashboard shows, checked by hand against live contract economics.

MNQ: tick 0.25 = $0.50 ($2 a point). MES: tick 0.25 = $1.25 ($5 a point). ES: $50 a point.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.app.snapshot import EnforcementView, LimitUsage
from core.app.snapshot_builder import take_snapshot
from core.engine.engine import Engine
from core.modules.enforcement_log import EnforcementRecord
from core.modules.lockouts import Lock, LockKind, SymbolLock
from tests.builders import (
    ACCOUNT,
    CL,
    ES,
    MES,
    MNQ,
    NQ,
    OTHER_ACCOUNT,
    T0,
    config,
    make_engine,
    order,
    position,
    quote,
    trade,
)

DAY = date(2026, 8, 19)  # T0 (10:00 CDT Wednesday) belongs to the trading day ending 17:00 CDT
DAY_END = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)  # 17:00 CDT
DAY_START = datetime(2026, 8, 18, 22, 0, tzinfo=UTC)

ALL_MEASURED: dict[str, dict[str, Any]] = {
    "max_contracts": {"limit": 5},
    "max_contracts_per_instrument": {"limits": {"MNQ": 4}, "default_limit": 1},
    "daily_realized_loss": {"limit": 500},
    "daily_unrealized_loss": {"limit": 300},
    "max_unrealized_profit": {"target": 1000},
    "trade_frequency_limit": {"per_minute": 3, "per_hour": 10, "per_session": 50},
    "daily_realized_profit": {"target": 1000},
    # enabled but with nothing to measure: no bar
    "auth_loss_guard": {},
    "symbol_blocks": {"symbols": ["CL"]},
}


def by_rule(limits: tuple[LimitUsage, ...]) -> dict[str, LimitUsage]:
    return {usage.rule_id: usage for usage in limits}


def trading_engine(rules: dict[str, dict[str, Any]] | None = None) -> Engine:
    """Long 2 MNQ @ 20000 marked 19990; short 1 MES @ 6400 marked 6396; three trades today."""
    engine, _clock, _port = make_engine(config(ALL_MEASURED if rules is None else rules))
    engine.handle(trade(None, at=T0 - timedelta(minutes=30), fees="0.36", trade_id=1))
    engine.handle(trade("-50", at=T0 - timedelta(minutes=20), fees="0.36", trade_id=2))
    engine.handle(trade("20.50", at=T0 - timedelta(minutes=10), fees="0.74", trade_id=3))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MES, -1, 6400.0))
    engine.handle(quote(MNQ, last=19990.0))
    engine.handle(quote(MES, last=6396.0))
    return engine


# --- the whole picture ----------------------------------------------------------------------------


def test_realized_open_pnl_and_positions_by_hand() -> None:
    engine = trading_engine()
    snap = take_snapshot(engine, ACCOUNT, status="protected", name="50K Combine")
    assert snap.account_id == ACCOUNT and snap.name == "50K Combine" and snap.status == "protected"
    assert snap.trading_day == DAY and snap.taken_at == T0
    # -0.36 + (-50 - 0.36) + (20.50 - 0.74)
    assert snap.realized == Decimal("-30.96")
    # MNQ: (19990 - 20000) / 0.25 = -40 ticks × $0.50 × 2 = -$40; MES: -16 ticks × $1.25 × -1 = +$20
    assert snap.open_pnl == pytest.approx(-20.0)
    mes, mnq = snap.positions  # sorted by name
    assert (mnq.contract_id, mnq.symbol, mnq.name) == (MNQ, "MNQ", "MNQU6")
    assert (mnq.signed_size, mnq.average_price, mnq.mark) == (2, 20000.0, 19990.0)
    assert mnq.open_pnl == pytest.approx(-40.0)
    assert (mes.name, mes.signed_size, mes.mark) == ("MESU6", -1, 6396.0)
    assert mes.open_pnl == pytest.approx(20.0)


def test_limits_by_hand_in_table_order() -> None:
    snap = take_snapshot(trading_engine(), ACCOUNT, status="protected")
    assert [u.rule_id for u in snap.limits] == [
        "RULE-001", "RULE-002", "RULE-003", "RULE-004", "RULE-005", "RULE-006", "RULE-013",
    ]
    limits = by_rule(snap.limits)
    assert (limits["RULE-001"].label, limits["RULE-001"].used, limits["RULE-001"].limit) == (
        "Contracts", 1.0, 5.0,  # net |2 - 1|
    )
    assert limits["RULE-001"].text == "1 of 5 contracts (net)"
    # MNQ 2 of 4 (50 %), MES 1 of the default 1 (100 %): the worst symbol is shown
    assert (limits["RULE-002"].used, limits["RULE-002"].limit) == (1.0, 1.0)
    assert limits["RULE-002"].text == "MES: 1 of 1 contracts"
    assert limits["RULE-003"].used == pytest.approx(30.96)
    assert limits["RULE-003"].limit == 500.0
    assert limits["RULE-003"].text == "-$30.96 of -$500.00"
    assert limits["RULE-004"].used == pytest.approx(40.0)
    assert limits["RULE-004"].text == "-$40.00 of -$300.00 on MNQU6"
    assert limits["RULE-005"].used == pytest.approx(20.0)
    assert limits["RULE-005"].text == "$20.00 of $1,000.00 on MESU6"
    # one entry (trade 1, 30 min ago): minute 0/3, hour 1/10, session 1/50 → the hour
    assert (limits["RULE-006"].used, limits["RULE-006"].limit) == (1.0, 10.0)
    assert limits["RULE-006"].text == "1 of 10 entries this hour"
    assert (limits["RULE-013"].used, limits["RULE-013"].limit) == (0.0, 1000.0)
    assert limits["RULE-013"].text == "$0.00 of $1,000.00"


def test_disabled_rules_have_no_bar() -> None:
    engine = trading_engine({"daily_realized_loss": {"limit": 100}, "max_contracts": {"enabled": False}})
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert [u.rule_id for u in snap.limits] == ["RULE-003"]
    assert snap.limits[0].fraction == pytest.approx(0.3096)


def test_gross_count_and_account_scopes() -> None:
    engine = trading_engine(
        {
            "max_contracts": {"limit": 4, "count_type": "gross"},
            "daily_unrealized_loss": {"limit": 300, "scope": "account"},
            "max_unrealized_profit": {"target": 1000, "scope": "account"},
        }
    )
    limits = by_rule(take_snapshot(engine, ACCOUNT, status="protected").limits)
    assert limits["RULE-001"].used == 3.0 and limits["RULE-001"].text == "3 of 4 contracts (gross)"
    # account sum -40 + 20 = -20: a loss of 20, a profit of 0
    assert limits["RULE-004"].used == pytest.approx(20.0)
    assert limits["RULE-004"].text == "-$20.00 of -$300.00 (account)"
    assert limits["RULE-005"].used == 0.0


def test_profit_day_fills_the_profit_bar_not_the_loss_bar() -> None:
    engine, _, _ = make_engine(config({"daily_realized_loss": {"limit": 500}, "daily_realized_profit": {"target": 400}}))
    engine.handle(trade("300", at=T0 - timedelta(minutes=5), fees="2.50"))
    limits = by_rule(take_snapshot(engine, ACCOUNT, status="protected").limits)
    assert limits["RULE-003"].used == 0.0 and limits["RULE-003"].text == "$0.00 of -$500.00"
    assert limits["RULE-013"].used == pytest.approx(297.5)
    assert limits["RULE-013"].text == "$297.50 of $400.00"


def test_loss_warning_flag_follows_the_daily_loss_bar() -> None:
    engine, _, _ = make_engine(config({"daily_realized_loss": {"limit": 500}}))
    engine.handle(trade("-399", at=T0 - timedelta(minutes=5), fees="1"))
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert snap.limits[0].fraction == pytest.approx(0.8) and snap.warning


def test_trades_bar_shows_the_fullest_window() -> None:
    engine, _, _ = make_engine(config({"trade_frequency_limit": {"per_minute": 3, "per_hour": 10}}))
    for seconds in (40, 20):
        engine.handle(trade(None, at=T0 - timedelta(seconds=seconds)))
    usage = take_snapshot(engine, ACCOUNT, status="protected").limits[0]
    assert (usage.used, usage.limit, usage.text) == (2.0, 3.0, "2 of 3 entries this minute")


def test_trades_bar_on_a_tie_names_the_longer_window() -> None:
    engine, _, _ = make_engine(config({"trade_frequency_limit": {"per_minute": 5, "per_hour": 5, "per_session": 5}}))
    usage = take_snapshot(engine, ACCOUNT, status="protected").limits[0]
    assert usage.text == "0 of 5 entries today"


# --- prices ---------------------------------------------------------------------------------------


def test_an_unpriced_position_makes_open_pnl_unknown() -> None:
    engine = trading_engine()
    engine.handle(position(NQ, 1, 23000.0))
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    nq = next(p for p in snap.positions if p.contract_id == NQ)
    assert (nq.name, nq.mark, nq.open_pnl) == ("NQU6", None, None)
    assert snap.open_pnl is None
    limits = by_rule(snap.limits)
    # position scope judges the priced ones and says some are not
    assert limits["RULE-004"].text == "-$40.00 of -$300.00 on MNQU6 (some positions: no price yet)"


def test_account_scope_with_an_unpriced_position_says_no_price() -> None:
    engine, _, _ = make_engine(config({"daily_unrealized_loss": {"limit": 300, "scope": "account"}}))
    engine.handle(position(NQ, 1, 23000.0))
    usage = take_snapshot(engine, ACCOUNT, status="protected").limits[0]
    assert usage.used == 0.0 and usage.text == "no price yet (of -$300.00)"


def test_mark_falls_back_to_the_mid_before_any_last_price() -> None:
    engine, _, _ = make_engine()
    engine.handle(position(ES, -2, 6400.0))
    engine.handle(quote(ES, bid=6401.0, ask=6401.5))
    (es,) = take_snapshot(engine, ACCOUNT, status="protected").positions
    # mid 6401.25: 1.25 points against a short of 2 at $50 a point = -$125
    assert es.mark == 6401.25 and es.open_pnl == pytest.approx(-125.0)


def test_a_contract_not_in_the_cache_shows_its_id() -> None:
    engine, _, _ = make_engine(with_contracts=False)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(quote(MNQ, last=20010.0))
    (mnq,) = take_snapshot(engine, ACCOUNT, status="protected").positions
    assert (mnq.name, mnq.symbol, mnq.mark, mnq.open_pnl) == (MNQ, "MNQ", 20010.0, None)


# --- orders ---------------------------------------------------------------------------------------


def test_working_orders_in_words() -> None:
    engine, _, _ = make_engine()
    engine.handle(order(MNQ, side=1, type=4, size=2, stop_price=19950.0, order_id=11))
    engine.handle(order(MNQ, side=0, type=1, limit_price=19900.0, order_id=12))
    engine.handle(order(MES, side=1, type=3, stop_price=6390.0, limit_price=6389.0, order_id=13))
    engine.handle(order(MES, side=0, type=2, order_id=14, status=6))
    engine.handle(order(MES, side=0, type=99, limit_price=1.0, order_id=15))
    engine.handle(order(MES, side=0, type=1, limit_price=1.0, order_id=16, status=3))  # cancelled
    views = {o.order_id: o for o in take_snapshot(engine, ACCOUNT, status="protected").orders}
    assert sorted(views) == [11, 12, 13, 14, 15]
    assert (views[11].side, views[11].kind, views[11].size, views[11].price, views[11].name) == (
        "sell", "stop", 2, 19950.0, "MNQU6",
    )
    assert (views[12].side, views[12].kind, views[12].price) == ("buy", "limit", 19900.0)
    assert (views[13].kind, views[13].price) == ("stop limit", 6390.0)  # the trigger first
    assert (views[14].kind, views[14].price, views[14].status) == ("market", None, 6)
    assert views[15].kind == "type 99"


# --- locks ----------------------------------------------------------------------------------------


def test_locks_with_remaining_time_and_symbol_locks() -> None:
    engine, clock, _ = make_engine(config({"daily_realized_loss": {"limit": 100}}))
    engine.handle(trade("-120", at=T0, fees="0"))  # RULE-003: hard lock until 17:00 CDT
    engine.lockouts.set_lock(
        Lock(ACCOUNT, "RULE-007", LockKind.COOLDOWN, "a trade lost", T0, T0 + timedelta(seconds=300))
    )
    engine.lockouts.set_lock(Lock(ACCOUNT, "RULE-010", LockKind.HARD, "canTrade is false", T0, None))
    engine.lockouts.set_symbol_lock(SymbolLock(ACCOUNT, "CL", "RULE-011", "CL is a blocked symbol", T0))
    engine.lockouts.set_symbol_lock(SymbolLock(ACCOUNT, "ES", "RULE-011", "blocked", T0))
    clock.advance(60)
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert [(v.rule_id, v.kind) for v in snap.locks] == [
        ("RULE-003", "hard"), ("RULE-010", "hard"), ("RULE-007", "cooldown"),
        ("RULE-011", "symbol"), ("RULE-011", "symbol"),
    ]
    hard, guard, cool, cl, es = snap.locks
    assert hard.until == DAY_END and hard.remaining_seconds == 7 * 3600 - 60
    assert (guard.until, guard.remaining_seconds) == (None, None)
    assert cool.remaining_seconds == 240
    assert (cl.until, cl.remaining_seconds, cl.reason) == (None, None, "CL is a blocked symbol")
    assert es.reason == "ES: blocked"  # the view has no symbol field: the reason names it
    assert snap.hard_locked and snap.in_cooldown


def test_a_lock_past_its_end_is_not_shown_before_the_tick_clears_it() -> None:
    engine, clock, _ = make_engine()
    engine.lockouts.set_lock(
        Lock(ACCOUNT, "RULE-007", LockKind.COOLDOWN, "loss", T0, T0 + timedelta(seconds=30))
    )
    clock.advance(30)
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert snap.locks == () and not snap.in_cooldown


# --- the P&L curve --------------------------------------------------------------------------------


def test_pnl_series_is_cumulative_net_one_point_per_trade_in_time_order() -> None:
    engine = trading_engine()
    engine.handle(trade("-500", at=DAY_START - timedelta(minutes=1)))  # yesterday's trading day
    engine.handle(trade("40", at=T0 - timedelta(minutes=25), fees="0", trade_id=4))  # arrives late
    engine.handle(trade("999", at=T0 - timedelta(minutes=5), voided=True))
    engine.handle(trade("7", at=T0 - timedelta(minutes=1), account_id=OTHER_ACCOUNT))
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert [(at, round(v, 2)) for at, v in snap.pnl_series] == [
        (T0 - timedelta(minutes=30), -0.36),
        (T0 - timedelta(minutes=25), 39.64),
        (T0 - timedelta(minutes=20), -10.72),
        (T0 - timedelta(minutes=10), 9.04),
    ]
    assert snap.pnl_series[-1][1] == float(snap.realized)


def test_pnl_series_follows_new_trades_and_voids() -> None:
    engine = trading_engine()
    first = take_snapshot(engine, ACCOUNT, status="protected").pnl_series
    assert len(first) == 3
    engine.handle(trade("-50", at=T0 - timedelta(minutes=20), fees="0.36", trade_id=2, voided=True))
    series = take_snapshot(engine, ACCOUNT, status="protected").pnl_series
    assert [round(v, 2) for _, v in series] == [-0.36, 19.40]
    engine.handle(trade("10", at=T0, fees="0", trade_id=9))
    series = take_snapshot(engine, ACCOUNT, status="protected").pnl_series
    assert [round(v, 2) for _, v in series] == [-0.36, 19.40, 29.40]


def test_pnl_series_is_empty_on_a_new_trading_day() -> None:
    engine = trading_engine()
    engine.clock.set(DAY_END + timedelta(minutes=1))  # type: ignore[attr-defined]
    snap = take_snapshot(engine, ACCOUNT, status="protected")
    assert snap.trading_day == DAY + timedelta(days=1)
    assert snap.pnl_series == () and snap.realized == 0


def test_day_series_ties_keep_trade_id_order() -> None:
    engine, _, _ = make_engine()
    engine.handle(trade("5", at=T0, fees="0", trade_id=21))
    engine.handle(trade("-3", at=T0, fees="0", trade_id=20))
    assert engine.pnl.day_series(ACCOUNT, DAY) == ((T0, Decimal("-3")), (T0, Decimal("2")))
    assert [t.trade_id for t in engine.pnl.day_trades(ACCOUNT, DAY)] == [20, 21]


# --- enforcement and odd cases --------------------------------------------------------------------


def test_recent_enforcement_records_become_views_for_this_account_only() -> None:
    engine, _, _ = make_engine()
    mine = EnforcementRecord(T0, ACCOUNT, "RULE-003", "flatten", "loss limit", "done")
    theirs = EnforcementRecord(T0, OTHER_ACCOUNT, "RULE-003", "flatten", "loss limit", "done")
    view = EnforcementView(T0, "RULE-001", "partial_close", "issued", "too many")
    snap = take_snapshot(engine, ACCOUNT, status="protected", recent_enforcement=[mine, theirs, view])
    assert snap.enforcement == (
        EnforcementView(T0, "RULE-003", "flatten", "done", "loss limit"),
        view,
    )


def test_an_unknown_account_gives_an_empty_snapshot_and_leaves_the_mirror_alone() -> None:
    engine, _, _ = make_engine(config({"max_contracts": {"limit": 3}}))
    snap = take_snapshot(engine, 12345, status="starting")
    assert ACCOUNT not in engine.mirror.accounts and 12345 not in engine.mirror.accounts
    assert (snap.positions, snap.orders, snap.locks, snap.pnl_series) == ((), (), (), ())
    assert snap.open_pnl == 0.0 and snap.realized == 0
    assert snap.limits[0].text == "0 of 3 contracts (net)"


def test_name_falls_back_to_the_gateway_account_name() -> None:
    from core.domain.events import AccountEvent

    engine, _, _ = make_engine()
    engine.handle(AccountEvent(account_id=ACCOUNT, name="PRAC-V2-1"))
    assert take_snapshot(engine, ACCOUNT, status="protected").name == "PRAC-V2-1"


def test_per_instrument_flat_and_blocked_unknown_symbols() -> None:
    engine, _, _ = make_engine(
        config({"max_contracts_per_instrument": {"limits": {"MNQ": 4, "ES": 1}, "unknown_symbol": "block"}})
    )
    usage = take_snapshot(engine, ACCOUNT, status="protected").limits[0]
    assert (usage.used, usage.limit, usage.text) == (0.0, 1.0, "no positions")
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(CL, 1, 70.0))  # unlisted and blocked: limit 0, worst of all
    usage = take_snapshot(engine, ACCOUNT, status="protected").limits[0]
    assert usage.text == "CL: 1 of 0 contracts"


def test_per_instrument_with_nothing_measurable_has_no_bar() -> None:
    engine, _, _ = make_engine(config({"max_contracts_per_instrument": {}}))
    engine.handle(position(CL, 1, 70.0))  # unlisted, allowed
    assert take_snapshot(engine, ACCOUNT, status="protected").limits == ()


def test_a_snapshot_changes_no_state() -> None:
    engine = trading_engine()
    ctx_before = engine.context(ACCOUNT, T0)
    engine.clock.advance(5)  # type: ignore[attr-defined]
    take_snapshot(engine, ACCOUNT, status="protected")
    assert engine.context(ACCOUNT, T0) is ctx_before and ctx_before.now == T0


def test_cheap_enough_for_ten_a_second_across_accounts() -> None:
    engine, clock, _ = make_engine(config(ALL_MEASURED))
    for i in range(300):
        engine.handle(trade(None if i % 2 else "-1", at=T0 - timedelta(hours=6) + timedelta(seconds=i * 60)))
    for cid in (MNQ, MES, NQ, ES):
        engine.handle(position(cid, 1, 100.0))
        engine.handle(quote(cid, last=100.0))
    for i in range(10):
        engine.handle(order(MNQ, side=1, stop_price=90.0, order_id=100 + i))
    started = time.perf_counter()
    for _ in range(200):
        take_snapshot(engine, ACCOUNT, status="protected")
    per_snapshot = (time.perf_counter() - started) / 200
    assert per_snapshot < 0.005  # well under a millisecond on a laptop; 5 ms leaves CI headroom
