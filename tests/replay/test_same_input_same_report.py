"""The same input always gives the same report, byte for byte: text and HTML."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.app.demo_month import generate_month
from core.replay.html import render_html
from core.replay.run import Candidate, replay_report
from core.replay.text import render_text
from main import main
from tests.builders import FIXTURES, config, default_config

TIGHT = config({
    "daily_realized_loss": {"limit": 300},
    "daily_unrealized_loss": {"limit": 150},
    "max_contracts": {"limit": 3},
    "cooldown_after_loss": {},
    "trade_frequency_limit": {"per_minute": 2, "per_hour": 8},
    "no_stop_loss_grace": {"grace_seconds": 20},
    "session_block_outside": {},
})


def demo_report() -> tuple[str, str]:
    month = generate_month(date(2026, 11, 2), date(2026, 11, 13), seed=3, fills_per_day=24)
    report = replay_report(month.replay_input(), [Candidate("default", default_config()), Candidate("tight", TIGHT)],
                           first_day=month.first_day, last_day=month.last_day)
    return render_text(report), render_html(report)


def test_a_replayed_fortnight_reports_the_same_twice() -> None:
    first, second = demo_report(), demo_report()
    assert first == second
    text, _ = first
    # Not vacuous: the rules acted.
    assert "entry of" in text and "closed at" in text


def test_the_command_line_writes_the_same_bytes_twice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outputs = []
    for name in ("a.html", "b.html"):
        assert main(["replay", "--trades", str(FIXTURES / "historical_trades_24h.json"),
                     "--orders", str(FIXTURES / "historical_orders_24h.json"),
                     "--report", str(tmp_path / name)]) == 0
        outputs.append(capsys.readouterr().out.replace(str(tmp_path / name), "OUT"))
    assert outputs[0] == outputs[1]
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
