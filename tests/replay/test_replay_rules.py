"""How the replay carries out what the rules ask for, case by case (SPEC 3 and 6, issue 13):
cooldown baselines, reversals, timed rules on the replayed clock, intrabar prices, closes with
no later bar, orders cancelled by a lock, positions opened before the range."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from core.domain.events import OrderStatus, OrderType
from core.replay.driver import Replayer
from core.replay.inputs import Bar
from core.replay.outcome import RunOutcome
from core.replay.report import ReplayReport
from core.replay.run import Candidate, replay_report
from tests.builders import MES, MNQ, config, order
from tests.replay.support import at, fill, flat_bars, make_input

D = Decimal
START, END = at(18, 22, 0), at(19, 22, 0)  # Wednesday 2026-08-19's trading day


def run(trades: list[dict[str, Any]], rules: dict[str, Any], **kw: Any) -> RunOutcome:
    data = make_input(trades, START, END, **kw)
    return Replayer(data, config(rules), slippage_ticks=kw.pop("slippage", 1)).run()


def report(trades: list[dict[str, Any]], rules: dict[str, Any], **kw: Any) -> ReplayReport:
    data = make_input(trades, START, END, **kw)
    return replay_report(data, [Candidate("c", config(rules))], first_day=date(2026, 8, 19),
                         last_day=date(2026, 8, 19))


def test_a_cooldown_leaves_held_contracts_alone_but_stops_growth_and_re_adding() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 2, 21000.0, None, 1),                     # MNQ long 2
        fill(at(19, 14, 1), "buy", 1, 7000.0, None, 2, contract_id=MES),
        fill(at(19, 14, 2), "sell", 1, 6980.0, -100.0, 3, contract_id=MES),  # −100.50: cooldown
        fill(at(19, 14, 3), "buy", 1, 21001.0, None, 4),                     # growth: prevented
        fill(at(19, 14, 4), "sell", 1, 21002.0, 4.0, 5),                     # settles the prevented one
        fill(at(19, 14, 5), "sell", 1, 21003.0, 6.0, 6),                     # 2 → 1: baseline follows down
        fill(at(19, 14, 6), "buy", 1, 21004.0, None, 7),                     # re-adding: prevented too
        fill(at(19, 14, 7), "sell", 2, 21005.0, 8.0, 8),
    ]
    out = run(trades, {"cooldown_after_loss": {"tiers": [{"loss": 100, "seconds": 600}]}})
    assert [(p.at, p.size, p.rule_id) for p in out.prevented] == [
        (at(19, 14, 3), 1, "RULE-007"), (at(19, 14, 6), 1, "RULE-007"),
    ]
    assert not out.closes  # the two contracts held when the cooldown began were left alone


def test_a_reversal_under_a_fresh_lock_keeps_the_exit_and_prevents_the_new_side() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 1, 21000.0, None, 1),
        # Sells 2: the first closes the long at −$300 (−300.50 with its half of the fee): the
        # daily limit of $300 locks; the second would open a short, now prevented.
        fill(at(19, 14, 5), "sell", 2, 20850.0, -300.0, 2),
        fill(at(19, 14, 9), "buy", 1, 20840.0, 20.0, 3),
    ]
    out = run(trades, {"daily_realized_loss": {"limit": 300}})
    assert [(p.size, p.rule_id) for p in out.prevented] == [(1, "RULE-003")]
    # −0.50 (entry) −300.50 (exit half of the reversal); the short and its exit are gone.
    assert sum(s.net for s in out.steps) == D("-301.00")
    [saved] = out.attributions
    assert saved.amount == D("-19.00")  # the short would have made 10 pts × $2 − $1.00 of fees


def test_trading_hours_close_at_the_window_end_tick_at_that_minutes_open() -> None:
    trades = [
        fill(at(19, 20, 5), "buy", 1, 21000.0, None, 1),      # 15:05 Chicago, inside 08:30–15:10
        fill(at(19, 20, 30), "sell", 1, 20990.0, -20.0, 2),   # held past the close
    ]
    bars = {MNQ: flat_bars(at(19, 20, 0), 40, 21000.0)[:10] + (
        Bar(at(19, 20, 10), 21012.0, 21012.0, 21012.0, 21012.0),)
        + flat_bars(at(19, 20, 11), 30, 20995.0)}
    out = run(trades, {"session_block_outside": {}}, bars=bars)
    [close] = out.closes
    # Flattened by the 15:10:00 clock tick, at the 15:10 bar's open less a tick.
    assert (close.at, close.rule_id, close.price, close.priced_by) == (
        at(19, 20, 10), "RULE-009", D("21011.75"), "next bar open")
    [lock] = out.locks
    assert lock.kind == "hard" and lock.until == at(20, 13, 30)  # Thursday 08:30 Chicago
    assert out.removed_exits == 1
    # Replay: −0.50 + (21011.75 − 21000) × $2 − 0.50; the trader's exit is left out.
    assert sum(s.net for s in out.steps) == D("22.50")


def test_the_stop_grace_runs_on_the_replayed_clock_to_the_second() -> None:
    trades = [
        fill(at(19, 14, 0, 10), "buy", 1, 21000.0, None, 1),
        fill(at(19, 14, 3), "sell", 1, 21010.0, 20.0, 2),
    ]
    stop = replace(order(MNQ, side=1, type=OrderType.STOP, stop_price=20990.0, order_id=9,
                         created_at=at(19, 14, 1, 30)), status=OrderStatus.FILLED)
    out = run(trades, {"no_stop_loss_grace": {"grace_seconds": 30}}, orders=(stop,),
              bars={MNQ: flat_bars(at(19, 14, 0), 5, 21004.0)})
    # Opened 14:00:10, grace ends 14:00:40: a tick at that second closes it (not a minute later).
    [breach] = out.breaches
    assert breach.at == at(19, 14, 0, 40) and breach.rule_id == "RULE-008"
    [close] = out.closes
    assert close.price == D("21003.75")  # the 14:01 bar's open, a tick lower


def test_an_open_loss_limit_triggers_at_the_bars_low_and_closes_at_the_next_open() -> None:
    trades = [
        fill(at(19, 14, 0, 5), "buy", 2, 21000.0, None, 1),
        fill(at(19, 14, 9), "sell", 2, 20900.0, -400.0, 2),
    ]
    bars = {MNQ: (
        Bar(at(19, 14, 0), 21000.0, 21001.0, 20999.0, 21000.0),
        # An up bar: open, low, high, close. The low (−$100 on 2 contracts) comes before the high.
        Bar(at(19, 14, 1), 20990.0, 21010.0, 20950.0, 21005.0),
        Bar(at(19, 14, 2), 20980.0, 20985.0, 20975.0, 20980.0),
    ) + flat_bars(at(19, 14, 3), 10, 20950.0)}
    out = run(trades, {"daily_unrealized_loss": {"limit": 100}}, bars=bars)
    [breach] = out.breaches
    assert breach.at == at(19, 14, 1, 15)  # the low's quote, 15 s into the minute
    [close] = out.closes
    assert close.price == D("20979.75")  # 14:02's open, a tick lower


def test_a_close_with_no_later_bar_is_priced_at_the_last_price_and_reported() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 3, 21000.0, None, 1),
        fill(at(19, 14, 30), "sell", 3, 21010.0, 60.0, 2),
    ]
    r = report(trades, {"max_contracts": {"limit": 2}}, bars={MNQ: flat_bars(at(19, 13, 50), 5, 21000.0)})
    [row] = r.days
    assert row.missing == ("a MNQ close priced at the last known price (no later bar)",)
    assert "MNQ closed at 20999.75" in " ".join(e.text for e in r.candidates[0].events)


def test_without_bars_closes_are_priced_from_the_fills_and_it_says_so() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 3, 21000.0, None, 1),
        fill(at(19, 14, 30), "sell", 3, 21010.0, 60.0, 2),
    ]
    r = report(trades, {"max_contracts": {"limit": 2}})
    assert "last fill price" in " ".join(r.assumptions)
    assert r.days[0].missing == ()


def test_an_order_the_replay_cancelled_never_fills() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 1, 21000.0, None, 1),
        fill(at(19, 14, 1), "sell", 1, 20940.0, -120.0, 2),    # −120.50: 5-minute cooldown
        fill(at(19, 14, 20), "buy", 1, 20900.0, None, 3),      # the limit placed at 14:02 fills
        fill(at(19, 14, 30), "sell", 1, 20950.0, 100.0, 4),
    ]
    limit = replace(order(MNQ, side=0, type=OrderType.LIMIT, limit_price=20900.0, order_id=3,
                          created_at=at(19, 14, 2)), status=OrderStatus.FILLED)
    out = run(trades, {"cooldown_after_loss": {"tiers": [{"loss": 100, "seconds": 300}]}}, orders=(limit,))
    # Placed during the cooldown: cancelled at once; its fill after the cooldown never happens.
    assert [(p.at, p.rule_id) for p in out.prevented] == [(at(19, 14, 20), "RULE-007")]


def test_a_position_opened_before_the_range_is_read_back_from_the_gateways_profit() -> None:
    trades = [fill(at(19, 14, 0), "sell", 2, 21010.0, 40.0, 1)]  # opened at 21000 the day before
    r = report(trades, {"max_contracts": {"limit": 1}}, bars={MNQ: flat_bars(at(19, 13, 59), 3, 21006.0)})
    assert any("opened before the range" in note for note in r.missing)
    # The limit of 1 cuts the carried 2 to 1 at 14:00:00 (21006 − 0.25), then the trader's
    # exit settles that one: the replay made (21005.75 − 21000) × $2 = 11.50 on the cut and
    # 10 × $2 = 20 on the other, less $1.00 of fees each side.
    assert r.candidates[0].total == D("30.50")
    assert r.actual_total == D("39.00")


def test_days_without_bars_for_a_traded_contract_are_named() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 1, 7000.0, None, 1, contract_id=MES),
        fill(at(19, 14, 5), "sell", 1, 7001.0, 5.0, 2, contract_id=MES),
    ]
    r = report(trades, {}, bars={MNQ: flat_bars(at(19, 14, 0), 5, 21000.0)})
    assert r.days[0].missing == ("no price bars for MES",)


def test_unprotected_accounts_in_the_candidate_do_not_hide_the_replayed_one() -> None:
    trades = [fill(at(19, 14, 0), "buy", 3, 21000.0, None, 1), fill(at(19, 14, 5), "sell", 3, 21000.0, 0.0, 2)]
    out = run(trades, {"max_contracts": {"limit": 2}}, bars={MNQ: flat_bars(at(19, 14, 0), 10, 21000.0)},)
    assert out.closes  # the candidate's accounts list is for the live app, not the replay
    data = make_input(trades, START, END)
    cfg = config({"max_contracts": {"limit": 2}}, general={"accounts": [999]})
    assert Replayer(data, cfg).run().closes


def test_a_daily_lock_ends_at_the_reset_and_the_next_day_trades_again() -> None:
    trades = [
        fill(at(19, 14, 0), "buy", 1, 21000.0, None, 1),
        fill(at(19, 14, 5), "sell", 1, 20940.0, -120.0, 2),     # −120.50 ≤ −100: locked
        fill(at(19, 21, 59, 59), "buy", 1, 20950.0, None, 3),   # a second before the reset
        fill(at(19, 22, 0, 30), "sell", 1, 20960.0, 20.0, 4),   # Thursday's session
        fill(at(19, 22, 1), "buy", 1, 20960.0, None, 5),        # Thursday: allowed again
        fill(at(19, 22, 2), "sell", 1, 20970.0, 20.0, 6),
    ]
    data = make_input(trades, START, at(20, 22, 0))
    out = Replayer(data, config({"daily_realized_loss": {"limit": 100}})).run()
    assert [(p.at, p.rule_id) for p in out.prevented] == [(at(19, 21, 59, 59), "RULE-003")]
    [lock] = out.locks
    assert lock.until == at(19, 22, 0)
    assert [s.at for s in out.steps][-2:] == [at(19, 22, 1), at(19, 22, 2)]
