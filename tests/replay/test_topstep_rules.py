"""The Topstep rules in a replay (SPEC 6: a replay is honest by construction): what past
trades cannot tell them (the balance, the plan) leaves them out, and the report says so; with
the plan named in the rule set, flat before the firm's close is replayed like any rule."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.replay.report import ReplayReport
from core.replay.run import Candidate, replay_report
from tests.builders import ACCOUNT, config
from tests.replay.support import at, fill, make_input

START, END = at(18, 22, 0), at(19, 22, 0)  # Wednesday 2026-08-19's trading day
TOPSTEP = {"max_loss_guard": {}, "plan_position_size": {}, "firm_close": {}}
# Long 2 MNQ from 14:00 CT, held past the firm's 15:10 CT close, out at 15:30 CT.
HELD_PAST_THE_CLOSE = [
    fill(at(19, 19, 0), "buy", 2, 21000.0, None, 1),
    fill(at(19, 20, 30), "sell", 2, 20950.0, -200.0, 2),
]


def report(rules: dict[str, Any], **sections: dict[str, Any]) -> ReplayReport:
    data = make_input(HELD_PAST_THE_CLOSE, START, END)
    return replay_report(data, [Candidate("c", config(rules, **sections))],
                         first_day=date(2026, 8, 19), last_day=date(2026, 8, 19))


def test_without_a_named_plan_no_topstep_rule_claims_to_have_been_replayed() -> None:
    result = report(TOPSTEP).candidates[0]
    assert set(result.not_replayed) == {
        "Maximum Loss Limit guard", "Plan position size", "Flat before the firm's close"}
    assert result.breaches == 0 and not result.rules


def test_the_report_says_why_each_was_left_out() -> None:
    text = " ".join(report(TOPSTEP).assumptions)
    assert "Maximum Loss Limit guard (past trades do not carry the account's balance" in text
    assert "Flat before the firm's close (past trades do not say which Topstep plan" in text


def test_with_the_plan_named_the_firm_close_is_replayed_and_flattens_before_it() -> None:
    accounts = {str(ACCOUNT): {"plan": "50K-combine"}}
    result = report(TOPSTEP, accounts=accounts).candidates[0]
    # The balance is still unknown: the guard stays out; the plan rules are replayed.
    assert result.not_replayed == ("Maximum Loss Limit guard",)
    rows = {row.name: row for row in result.rules}
    assert rows["Plan position size"].breaches == 0  # 2 MNQ is within the 50K maximum
    assert rows["Flat before the firm's close"].breaches == 1
    assert rows["Flat before the firm's close"].closed == 2


def test_an_accounts_own_table_cannot_bring_a_left_out_rule_back() -> None:
    accounts = {str(ACCOUNT): {"plan": "50K-combine", "max_loss_guard": {"enabled": True}}}
    result = report({"firm_close": {}}, accounts=accounts).candidates[0]
    assert "Maximum Loss Limit guard" in result.not_replayed
    assert "Maximum Loss Limit guard" not in [r.name for r in result.rules]
