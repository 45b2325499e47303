"""A hand-computed month in miniature: 32 fills over three trading days with a cooldown, a
reduced position and a daily-loss lock. Every expected number below was worked out by hand
from SPEC section 3 and the replay rules (issue 13), not read back from the code.

MNQ: $0.50 a tick of 0.25, so $2 a point. Fees $0.50 per contract per half-turn. Slippage 1
tick. Times are UTC (Chicago is UTC−5 in August; the trading day resets at 22:00 UTC).

Candidate rules: daily loss limit $200, a 10-minute cooldown after one closing order loses
$50 or more, at most 2 contracts (net), reduced to the limit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.replay.report import ReplayReport
from core.replay.run import Candidate, replay_report
from core.replay.text import render_text
from tests.builders import MNQ, config
from tests.replay.support import at, fill, flat_bars, make_input

D = Decimal

RULES = config({
    "daily_realized_loss": {"limit": 200},
    "cooldown_after_loss": {"tiers": [{"loss": 50, "seconds": 600}]},
    "max_contracts": {"limit": 2, "count_type": "net", "reduce_to_limit": True},
})

TRADES = [
    # --- Tuesday 2026-08-18: the cooldown ---------------------------------------------------
    fill(at(18, 13, 30), "buy", 1, 20100.00, None, 101),       # −0.50
    fill(at(18, 13, 35), "sell", 1, 20110.00, 20.00, 102),     # +20 −0.50 = +19.50
    fill(at(18, 13, 40), "sell", 2, 20100.00, None, 103),      # short 2: −1.00
    fill(at(18, 13, 45), "buy", 2, 20095.00, 20.00, 104),      # +20 −1.00 = +19.00
    fill(at(18, 14, 0), "buy", 1, 20000.00, None, 105),        # −0.50
    # One order loses $60.50 net: a 10-minute cooldown, 14:05 → 14:15.
    fill(at(18, 14, 5), "sell", 1, 19970.00, -60.00, 106),     # −60 −0.50 = −60.50
    # Bought during the cooldown: prevented, and its exit with it.
    fill(at(18, 14, 8), "buy", 2, 19980.00, None, 107),        # actual −1.00, replay nothing
    fill(at(18, 14, 12), "sell", 2, 19990.00, 40.00, 108),     # actual +39.00, replay nothing
    # After the cooldown: replayed as it was.
    fill(at(18, 14, 20), "buy", 1, 20000.00, None, 109),       # −0.50
    fill(at(18, 14, 25), "sell", 1, 20010.00, 20.00, 110),     # +19.50
    fill(at(18, 14, 30), "buy", 2, 20020.00, None, 111),       # −1.00
    fill(at(18, 14, 33), "sell", 1, 20030.00, 20.00, 112, trade_id=1121),  # one order, two fills:
    fill(at(18, 14, 33, 1), "sell", 1, 20029.75, 19.50, 112, trade_id=1122),  # +19.50, +19.00
    # --- Wednesday 2026-08-19: a reduced position ---------------------------------------------
    fill(at(19, 13, 30), "sell", 1, 21050.00, None, 201),      # −0.50
    fill(at(19, 13, 40), "buy", 1, 21040.00, 20.00, 202),      # +19.50
    fill(at(19, 14, 0), "buy", 2, 21000.00, None, 203),        # −1.00
    # 3 contracts > 2: one is closed at the 14:02 bar's open 21004.00 less a tick = 21003.75.
    # Replay average (2 × 21000 + 21003) / 3 = 21001.00: +2.75 points = +$5.50, −0.50 = +5.00.
    fill(at(19, 14, 1, 10), "buy", 1, 21003.00, None, 204),    # −0.50
    # The trader sells 3 at 21010 (+$54 on the average 21001): the first contract settles the
    # closed one (the rule got 21003.75 for it, the trader 21010: −$12.50), the replay sells
    # the other 2: 9 points × 2 × $2 = +36, −1.00 = +35.00 (actual: 54 − 1.50 = +52.50).
    fill(at(19, 14, 10), "sell", 3, 21010.00, 54.00, 205),
    fill(at(19, 14, 20), "buy", 1, 21020.00, None, 206),       # −0.50
    fill(at(19, 14, 21), "buy", 1, 21021.00, None, 207),       # −0.50 (2 contracts: at the limit)
    fill(at(19, 14, 30), "sell", 2, 21015.00, -22.00, 208),    # −23.00: under the $50 tier
    # --- Thursday 2026-08-20: the daily loss limit ----------------------------------------------
    fill(at(20, 13, 30), "sell", 1, 22050.00, None, 301),      # −0.50
    fill(at(20, 13, 35), "buy", 1, 22060.00, -20.00, 302),     # −20.50
    fill(at(20, 14, 0), "buy", 2, 22000.00, None, 303),        # −1.00
    # −201.00: the day stands at −223.00 ≤ −200: flatten (already flat) and lock until 22:00;
    # the same order also starts a 10-minute cooldown. Everything after is prevented.
    fill(at(20, 14, 3), "sell", 2, 21950.00, -200.00, 304),
    fill(at(20, 14, 30), "sell", 1, 21940.00, None, 305),      # short prevented
    fill(at(20, 14, 40), "buy", 1, 21920.00, 40.00, 306),      # saved −(20 pts × $2) + 1.00 = −39.00
    fill(at(20, 15, 0), "buy", 1, 21925.00, None, 307),        # long prevented
    fill(at(20, 15, 30), "sell", 1, 21900.00, -50.00, 308),    # saved 25 pts × $2 + 1.00 = +51.00
    fill(at(20, 15, 40), "buy", 2, 21910.00, None, 309),       # 2 prevented
    fill(at(20, 15, 41), "sell", 1, 21912.00, 4.00, 310),      # saved −4 + 1.00 = −3.00
    fill(at(20, 15, 42), "sell", 1, 21905.00, -10.00, 311),    # saved +10 + 1.00 = +11.00
]

BARS = {MNQ: (
    flat_bars(at(18, 14, 0), 30, 20000.00)
    + flat_bars(at(19, 13, 59), 15, 21004.00)
    + flat_bars(at(20, 14, 0), 30, 21950.00)
)}


@pytest.fixture(scope="module")
def report() -> ReplayReport:
    data = make_input(TRADES, at(17, 22, 0), at(20, 22, 0), bars=BARS)
    return replay_report(data, [Candidate("candidate.toml", RULES)],
                         first_day=date(2026, 8, 18), last_day=date(2026, 8, 20), slippage_ticks=1)


def test_there_are_a_few_dozen_fills_over_three_days(report: ReplayReport) -> None:
    assert report.trade_count == 32
    assert [(row.day, row.trades) for row in report.days] == [
        (date(2026, 8, 18), 13), (date(2026, 8, 19), 8), (date(2026, 8, 20), 11)
    ]


def test_each_day_actual_and_with_the_rules(report: ReplayReport) -> None:
    rows = [(row.day.day, row.actual.net, row.candidates[0].net) for row in report.days]
    assert rows == [
        # 70.50 actual; the replay leaves out the prevented entry (−1.00) and its exit (+39.00).
        (18, D("70.50"), D("32.50")),
        # 46.00 actual; the replay adds the close (+5.00) and sells 2 for +35.00, not 3 for +52.50.
        (19, D("46.00"), D("33.50")),
        # −243.00 actual; the replay stops at the limit: −223.00.
        (20, D("-243.00"), D("-223.00")),
    ]
    assert report.actual_total == D("-126.50")
    assert report.candidates[0].total == D("-157.00")


def test_breaches_prevented_and_closed_per_day(report: ReplayReport) -> None:
    rows = [(r.candidates[0].breaches, r.candidates[0].prevented, r.candidates[0].closed) for r in report.days]
    assert rows == [(1, 2, 0), (1, 0, 1), (2, 4, 0)]


def test_worst_drawdown_per_day_and_overall(report: ReplayReport) -> None:
    # Day 1 actual: from +37.00 (after the short) to −25.00 (the loss, then the prevented entry's
    # fee) = −62.00; replayed: +37.00 to −24.50 = −61.50. Day 2: +70.00 to +46.00 and +57.50 to
    # +33.50. Day 3: never above 0, so the day's low.
    assert [(r.actual.drawdown, r.candidates[0].drawdown) for r in report.days] == [
        (D("-62.00"), D("-61.50")), (D("-24.00"), D("-24.00")), (D("-243.00"), D("-223.00")),
    ]
    # Over the range: actual from +140.50 (day 2) to −126.50; replayed from +90.00 to −157.00.
    assert report.actual_drawdown == D("-267.00")
    assert report.candidates[0].drawdown == D("-247.00")


def test_money_saved_or_lost_by_each_rule(report: ReplayReport) -> None:
    rules = {r.name: (r.breaches, r.locks, r.prevented, r.closed, r.saved) for r in report.candidates[0].rules}
    assert rules == {
        "Max contracts": (1, 0, 0, 1, D("-12.50")),
        "Daily loss limit": (1, 1, 4, 0, D("20.00")),  # −39 + 51 − 3 + 11
        "Cooldown after a loss": (2, 2, 2, 0, D("-38.00")),  # (19980 − 19990) × 2 × $2 + 4 × 0.50
    }
    # The three rules explain the whole difference (−30.50).
    assert report.candidates[0].unattributed == 0


def test_every_breach_and_lock_with_its_time_and_reason(report: ReplayReport) -> None:
    events = [(e.at, e.kind, e.rule_id) for e in report.candidates[0].events if e.kind in ("breach", "lock")]
    assert events == [
        (at(18, 14, 5), "breach", "RULE-007"),
        (at(18, 14, 5), "lock", "RULE-007"),
        (at(19, 14, 1, 10), "breach", "RULE-001"),
        (at(20, 14, 3), "breach", "RULE-003"),
        (at(20, 14, 3), "breach", "RULE-007"),
        (at(20, 14, 3), "lock", "RULE-003"),
        (at(20, 14, 3), "lock", "RULE-007"),
    ]
    text = render_text(report)
    assert "10-minute cooldown: one trade lost $60.50" in text
    assert "cooldown until Tue 09:15" in text  # 14:15 UTC, in Chicago time
    assert "hard lock until Thu 17:00" in text
    assert "1 MNQ closed at 21003.75" in text
    assert "3 contracts open (net), limit 2" in text


def test_the_report_states_its_assumptions(report: ReplayReport) -> None:
    text = "\n".join(report.assumptions)
    assert "1 tick of slippage" in text and "next one-minute bar" in text
    assert "prevented" in text
    assert "Lost trading permission" not in text  # not enabled: nothing left out to say
    assert all(not row.missing for row in report.days)  # every day had its bars


def test_slippage_moves_the_reduced_close_by_a_tick_each(report: ReplayReport) -> None:
    data = make_input(TRADES, at(17, 22, 0), at(20, 22, 0), bars=BARS)
    three = replay_report(data, [Candidate("c", RULES)], first_day=date(2026, 8, 18),
                          last_day=date(2026, 8, 20), slippage_ticks=3)
    # Two more ticks against the close: −2 × 0.25 points × $2 = −$1.00 on day 2, on the rule.
    assert three.days[1].candidates[0].net == D("32.50")
    saved = {r.name: r.saved for r in three.candidates[0].rules}
    assert saved["Max contracts"] == D("-13.50")
