"""The recorded live history (Trade/search and Order/search over 24 h, with the Sunday evening
before) replays with the gateway's own net P&L as the "actual" column."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.app.replay_service import calendar_of, file_input
from core.replay.run import Candidate, replay_report
from main import main
from tests.builders import FIXTURES, config, fixture_json

TRADES = FIXTURES / "historical_trades_24h.json"
ORDERS = FIXTURES / "historical_orders_24h.json"
CONTRACTS = FIXTURES / "contracts_available.json"
CHICAGO = ZoneInfo("America/Chicago")


def trading_day(stamp: str) -> date:
    """17:00 Chicago reset: an evening belongs to the next day's session."""
    local = datetime.fromisoformat(stamp).astimezone(CHICAGO)
    return local.date() + timedelta(days=1) if local.time() >= time(17) else local.date()


def gateway_net_per_day() -> dict[date, Decimal]:
    """Σ profitAndLoss − Σ fees per trading day, straight from the recorded JSON."""
    days: dict[date, Decimal] = defaultdict(Decimal)
    for t in fixture_json("historical_trades_24h.json"):
        if not t["voided"]:
            days[trading_day(t["creationTimestamp"])] += Decimal(str(t["profitAndLoss"] or 0)) - Decimal(str(t["fees"]))
    return dict(days)


def replay(rules: dict[str, Any], *, orders: Path | None = None) -> Any:
    cfg = config(rules)
    data, days = file_input(TRADES, bars=None, orders=orders, contracts=CONTRACTS, account_id=None,
                            days=None, calendar=calendar_of(cfg))
    return replay_report(data, [Candidate("candidate", cfg)], first_day=days.first, last_day=days.last)


def test_the_actual_column_is_the_gateways_own_net_pnl() -> None:
    report = replay({})
    expected = gateway_net_per_day()
    # Worked by hand too: Monday 17th −$15.00 − 8 × $0.36; Tuesday −$54.50 − 8 × $0.36;
    # Wednesday −$52.00 − 22 × $0.36 − 2 × $0.51 (the two crude oil fills).
    assert expected == {date(2026, 8, 17): Decimal("-17.88"), date(2026, 8, 18): Decimal("-57.38"),
                        date(2026, 8, 19): Decimal("-60.94")}
    assert {row.day: row.actual.net for row in report.days} == expected
    assert report.actual_total == Decimal("-136.20")
    assert report.trade_count == 40


def test_with_no_rule_on_the_replay_is_the_actual_day() -> None:
    report = replay({})
    assert [row.candidates[0].net for row in report.days] == [row.actual.net for row in report.days]
    assert report.candidates[0].events == ()


def test_the_position_model_gives_the_gateways_profit_on_every_recorded_exit() -> None:
    report = replay({})
    assert "the model reproduced the gateway's profit on 20 of 20 fills." in report.assumptions


def test_a_tight_loss_limit_stops_wednesday_early() -> None:
    report = replay({"daily_realized_loss": {"limit": 50}})
    wednesday = report.days[2]
    # Tuesday ends at −57.38 but its last exit is its last trade: nothing to prevent.
    assert report.days[1].candidates[0].net == Decimal("-57.38")
    # Wednesday: −49 − 0.72 on the first trade, then the next entry's fee brings the day to
    # −50.08: locked; the open contract is closed one tick under the last price (29644.50), the
    # trader's exit at 29643.50 then settles it: +$2.00. The other 10 contracts were prevented.
    assert wednesday.candidates[0].breaches == 1 and wednesday.candidates[0].prevented == 10
    [rule] = report.candidates[0].rules
    assert rule.name == "Daily loss limit"
    assert report.candidates[0].total - report.actual_total == rule.saved


def test_with_the_order_history_the_bracket_stops_cover_every_entry() -> None:
    report = replay({"no_stop_loss_grace": {"grace_seconds": 5}}, orders=ORDERS)
    assert report.candidates[0].breaches == 0
    assert "Require a stop-loss" not in " ".join(report.candidates[0].not_replayed)


def test_without_order_history_the_stop_rule_is_not_replayed_and_the_report_says_so() -> None:
    report = replay({"no_stop_loss_grace": {"grace_seconds": 5}})
    assert report.candidates[0].not_replayed == ("Require a stop-loss",)
    assert any("Require a stop-loss (no order history" in a for a in report.assumptions)
    assert report.candidates[0].breaches == 0


def test_the_command_line_prints_the_fixture_days(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[rules.daily_realized_loss]\nenabled = true\nlimit = 500\n")
    code = main(["replay", "--trades", str(TRADES), "--orders", str(ORDERS), "--config", str(rules)])
    out = capsys.readouterr().out
    assert code == 0
    assert "2026-08-17" in out and "2026-08-19" in out
    assert "-$136.20" in out and "With rules.toml" in out
