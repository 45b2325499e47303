"""``main.py replay``: exit codes as SPEC section 2 says (0 done, 2 bad arguments, config or
input, 1 anything else), and messages that say what is wrong and where."""

from __future__ import annotations

from pathlib import Path

import pytest

from main import main
from tests.builders import FIXTURES
from tests.replay.support import at, fill, write_json

TRADES = FIXTURES / "historical_trades_24h.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-08-20", "--to", "2026-08-19"], "--from 2026-08-20 is after --to 2026-08-19"),
        (["--from", "2026-02-30"], "--from '2026-02-30' is not a date (write it as YYYY-MM-DD)"),
        (["--to", "yesterday"], "--to 'yesterday' is not a date"),
        (["--from", "2026-01-01", "--to", "2026-08-19"], "is 231 days; a replay covers at most 93"),
        (["--slippage", "-1"], "--slippage -1: slippage is a number of ticks, 0 or more"),
        (["--bars", "bars.json"], "--bars goes with --trades"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--trades", str(TRADES), *args) if "--bars" not in args else run(capsys, *args)
    assert code == 2
    assert message in err and out == ""


def test_a_range_in_the_future_is_refused_for_the_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--from", "2099-01-01", "--to", "2099-01-02")
    assert code == 2 and "--from 2099-01-01 is in the future" in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--slippage", "two")
    assert code == 2 and "--slippage: invalid int value: 'two'" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the trades file {path}: no such file"),
        ("[{", "the trades file {path} is not valid JSON (line 1, column 3)"),
        ('{"trades": 3}', "the trades file {path} must hold a list of trades"),
        ("[]", "the trades file {path} holds no trades"),
        (b"\xff\xfe\x00", "cannot read the trades file {path}: it is not UTF-8 text"),
    ],
)
def test_an_unreadable_trades_file_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "trades.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "--trades", str(path))
    assert code == 2 and out == ""
    assert message.format(path=path) in err


def test_a_bad_row_is_named_by_its_number(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good = fill(at(19, 14, 0), "buy", 1, 21000.0, None, 1)
    bad = {**fill(at(19, 14, 1), "sell", 1, 21001.0, 2.0, 2), "price": "twenty"}
    path = write_json(tmp_path / "trades.json", [good, bad])
    code, _, err = run(capsys, "--trades", str(path))
    assert code == 2
    assert f"the trades file {path}: trade 2: field 'price'" in err


def test_a_bad_csv_line_is_named_by_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text(
        "contractId,creationTimestamp,price,side,size,profitAndLoss,fees\n"
        "CON.F.US.MNQ.U26,2026-08-19T14:00:00Z,21000,buy,1,,0.5\n"
        "CON.F.US.MNQ.U26,2026-08-19T14:05:00Z,21001,sell,0,2,0.5\n"
    )
    code, _, err = run(capsys, "--trades", str(path))
    assert code == 2 and f"the trades file {path}: line 3: field 'size' is not a positive count" in err


def test_a_csv_without_the_required_columns_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "trades.csv"
    path.write_text("contractId,price\nCON.F.US.MNQ.U26,21000\n")
    code, _, err = run(capsys, "--trades", str(path))
    assert code == 2 and "lacks the column(s) creationTimestamp, side, size" in err


def test_an_unreadable_bars_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bars = write_json(tmp_path / "bars.json", {"CON.F.US.MNQ.U26": [{"t": "2026-08-19T14:00:00Z", "o": 1, "h": 0.5, "l": 1, "c": 1}]})
    code, _, err = run(capsys, "--trades", str(TRADES), "--bars", str(bars))
    assert code == 2 and f"the bars file {bars}: CON.F.US.MNQ.U26 bar 1:" in err


def test_a_bad_candidate_config_exits_2_naming_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[rules.daily_realized_loss]\nenabled = true\nlimt = 500\n")
    code, _, err = run(capsys, "--trades", str(TRADES), "--config", str(rules))
    assert code == 2 and "rules.daily_realized_loss.limt: unknown key" in err


def test_a_missing_candidate_config_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--trades", str(TRADES), "--config", str(tmp_path / "none.toml"))
    assert code == 2 and "none.toml: file not found" in err


def test_a_report_into_a_missing_folder_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "--trades", str(TRADES), "--report", str(tmp_path / "no" / "r.html"))
    assert code == 2 and "does not exist" in err


def test_several_accounts_in_a_file_need_account(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_json(tmp_path / "trades.json", [
        fill(at(19, 14, 0), "buy", 1, 21000.0, None, 1, account_id=1),
        fill(at(19, 14, 1), "buy", 1, 21000.0, None, 2, account_id=2),
    ])
    code, _, err = run(capsys, "--trades", str(path))
    assert code == 2 and "several accounts (1, 2): choose one with --account" in err
    code, out, _ = run(capsys, "--trades", str(path), "--account", "2")
    assert code == 0 and "Account 2" in out


def test_two_configs_side_by_side_and_an_html_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a = tmp_path / "loose.toml"
    a.write_text("[rules.daily_realized_loss]\nenabled = true\nlimit = 500\n")
    b = tmp_path / "tight.toml"
    b.write_text("[rules.daily_realized_loss]\nenabled = true\nlimit = 50\n")
    report = tmp_path / "out.html"
    code, out, _ = run(capsys, "--trades", str(TRADES), "--config", str(a), "--config", str(b),
                       "--report", str(report))
    assert code == 0
    assert "With loose.toml" in out and "With tight.toml" in out
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "With loose.toml" in html and "With tight.toml" in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained


def test_an_unreachable_gateway_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "config"
    (home / "RiskManager").mkdir(parents=True)
    (home / "RiskManager" / "config.toml").write_text('[gateway]\napi_url = "http://127.0.0.1:9"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.setenv("PROJECTX_USERNAME", "trader@example.com")
    monkeypatch.setenv("PROJECTX_API_KEY", "not-a-real-key")
    code, out, err = run(capsys, "--account", "1", "--from", "2026-08-17", "--to", "2026-08-19")
    assert code == 1 and out == ""
    assert "could not read your history: the gateway could not be reached" in err
    assert "not-a-real-key" not in err
    assert "Error" not in err  # no exception's class name: words a trader can act on


def test_the_demo_month_replays_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--demo", "--from", "2026-11-09", "--to", "2026-11-13")
    assert code == 0
    assert "a generated demo month on the simulated gateway" in out
    assert "2026-11-09" in out and "2026-11-13" in out and "Total" in out
