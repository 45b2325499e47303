"""The app layer's plain words and its one true state (no Qt): durations, rule names, the worst
state first, loosened values waiting for the reset, and the enforcement history read back."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from core.app.history import FILE_NAME, HistoryRecorder
from core.app.history_reader import by_day, day_summary, export_csv, read_history
from core.app.protection import Protection, account_state, headline, overall_state, quit_risks
from core.app.snapshot import AccountSnapshot, FailingView, LimitUsage, LockView, PositionView
from core.app.waiting import describe_waiting
from core.app.words import action_word, gateway_words, rule_name, table_name
from core.domain.bus import EventBus
from core.domain.clock import ManualClock
from core.domain.trading_day import TradingCalendar
from core.domain.words import duration
from core.engine.notices import BreachDetected, LockSet
from core.modules.lockouts import Lock, LockKind
from core.persistence.database import Database
from tests.builders import ACCOUNT, default_config

NOW = datetime(2026, 8, 19, 15, 0, tzinfo=UTC)  # 10:00 CDT, a Wednesday
CHICAGO = ZoneInfo("America/Chicago")


def snap(**kwargs: object) -> AccountSnapshot:
    values: dict[str, object] = dict(
        account_id=ACCOUNT, name="PA-1", status="protected", trading_day=date(2026, 8, 19),
        taken_at=NOW, realized=Decimal("0"), open_pnl=0.0, rules_enabled=("RULE-003",),
    )
    values.update(kwargs)
    return AccountSnapshot(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "words"), [
    (0, "0 s"), (0.2, "1 s"), (45, "45 s"), (250, "4 min 10 s"), (1800, "30 min"),
    (3600, "1 h"), (4320, "1 h 12 min"), (86400 * 2 + 3 * 3600, "2 days 3 h"), (86400, "1 day"),
])
def test_one_duration_format(seconds: float, words: str) -> None:
    assert duration(seconds) == words


def test_rule_ids_stay_internal() -> None:
    assert rule_name("RULE-003") == "Daily loss limit"
    assert table_name("session_block_outside") == "Trading hours"
    assert table_name("no_stop_loss_grace") == "Require a stop-loss"
    assert table_name("auth_loss_guard") == "Lost trading permission"
    assert rule_name("CLEANUP") == "Leftover stop clean-up"
    assert [action_word(a) for a in ("close_contract", "partial_close", "cancel_order")] == [
        "Closed", "Reduced", "Cancelled"]
    assert gateway_words("close X: AmbiguousResult: Position/closeContract: outcome unknown, "
                         "not resent: HTTP 503 Service Unavailable") == "HTTP 503 Service Unavailable"


def test_the_worst_state_wins_in_this_order() -> None:
    hard = LockView("RULE-003", "hard", "loss", NOW + timedelta(hours=7), None)
    cool = LockView("RULE-007", "cooldown", "loss", NOW + timedelta(minutes=12, seconds=40), None)
    warn = LimitUsage("RULE-003", "Daily loss", 450, 500, "-$450.00 of -$500.00")
    failing = FailingView("RULE-001", "close MNQU6 long 7", "HTTP 503", 5)
    cases = [
        (snap(failing=(failing,), status="reconnecting", locks=(hard,)), Protection.FAILING),
        (snap(status="reconnecting", rules_enabled=(), locks=(hard,)), Protection.DISCONNECTED),
        (snap(rules_enabled=(), locks=(hard,)), Protection.NO_LIMITS),
        (snap(locks=(hard, cool), limits=(warn,)), Protection.LOCKED),
        (snap(locks=(cool,), limits=(warn,)), Protection.COOLDOWN),
        (snap(limits=(warn,)), Protection.WARNING),
        (snap(), Protection.PROTECTED),
    ]
    for snapshot, state in cases:
        assert account_state(snapshot) is state
    assert overall_state([c[0] for c in cases[::-1]]) is Protection.FAILING
    assert overall_state([]) is Protection.DISCONNECTED  # nothing watched yet
    words = {state: headline(s, NOW, CHICAGO) for s, state in cases}
    assert words[Protection.FAILING] == "NOT PROTECTED: close MNQU6 long 7 on the platform now"
    assert words[Protection.DISCONNECTED] == "Gateway unreachable: not protected"
    assert words[Protection.NO_LIMITS] == "No limit enabled: nothing is enforced"
    assert words[Protection.LOCKED] == "Locked until 17:00 CDT (daily loss)"
    assert words[Protection.COOLDOWN] == "Cooldown 12 min 40 s left (losing trade)"
    assert words[Protection.WARNING] == "Warning: daily loss -$450.00 of -$500.00"
    assert words[Protection.PROTECTED] == "Protected"


def test_quitting_names_what_stops_being_protected() -> None:
    hard = LockView("RULE-003", "hard", "loss", NOW + timedelta(hours=7), None)
    held = PositionView("CON.F.US.MNQ.U26", "MNQ", "MNQU6", -2, 20000.0, None, None)
    risks = quit_risks([snap(locks=(hard,), positions=(held,)), snap(account_id=2, name="PA-2")],
                       NOW, CHICAGO)
    assert risks == ["PA-1: Locked until 17:00 CDT (daily loss): nothing would stop new trades; "
                     "MNQU6 short 2 open: its limits would no longer be watched"]


def test_a_loosening_waits_and_is_worded_beside_its_bar() -> None:
    config = default_config()
    data = config.model_dump(mode="json")
    data["rules"]["daily_realized_loss"]["limit"] = 800
    data["rules"]["cooldown_after_loss"]["enabled"] = False
    pending = type(config).model_validate(data)
    reset = datetime(2026, 8, 19, 22, 0, tzinfo=UTC)
    waiting = describe_waiting(config, pending, reset, CHICAGO)
    assert waiting.by_rule["RULE-003"] == "-$800.00 from Wed 17:00 CDT"
    assert "Daily loss limit: Loss limit ($) -$500.00 → -$800.00 from Wed 17:00 CDT" in waiting.lines
    assert "Cooldown after a loss: off from Wed 17:00 CDT" in waiting.lines


# --- the history --------------------------------------------------------------------------------


def _log(db: Database, rows: list[tuple[datetime, str, str, str, dict[str, object], float | None]]) -> None:
    with db.engine.begin() as conn:
        for at, rule, action, outcome, details, latency in rows:
            conn.execute(text(
                "INSERT INTO enforcement_log (timestamp, account_id, rule_id, action, reason, "
                "outcome, details, execution_time_ms) VALUES (:t, :a, :r, :act, 'why', :o, :d, :l)"),
                {"t": at.isoformat(), "a": ACCOUNT, "r": rule, "act": action, "o": outcome,
                 "d": json.dumps(details), "l": latency})


def test_history_has_one_row_per_action_kept_across_restarts(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")  # the real schema
    t = NOW
    close = {"contract_id": "CON.F.US.MNQ.U26"}
    _log(db, [
        (t, "RULE-004", "close_contract", "issued", close, None),
        (t + timedelta(seconds=2), "RULE-004", "close_contract", "issued", close, None),  # resend
        (t + timedelta(seconds=3), "RULE-004", "close_contract", "retry", close, None),
        (t + timedelta(seconds=9), "RULE-004", "close_contract", "done", close, 9012.0),
        (t + timedelta(seconds=9), "RULE-004", "close_contract", "done",
         {**close, "covered_by": "close_contract"}, 7000.0),  # the resend's own outcome
        (t + timedelta(seconds=20), "RULE-001", "partial_close", "issued",
         {"contract_id": "CON.F.US.MES.U26", "size": 2}, None),
        (t + timedelta(seconds=21), "RULE-001", "partial_close", "failed",
         {"contract_id": "CON.F.US.MES.U26", "size": 2}, 1500.0),
    ])
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO trade_history (trade_id, account_id, contract_id, created_at, "
            "trading_day, price, side, size, pnl, fees, voided) VALUES (1, :a, "
            "'CON.F.US.MNQ.U26', :t, '2026-08-19', 20011.25, 1, 3, '-50', '0.5', 0)"),
            {"a": ACCOUNT, "t": (t + timedelta(seconds=8)).isoformat()})
    db.dispose()
    bus = EventBus()
    recorder = HistoryRecorder(bus, tmp_path / FILE_NAME, ManualClock(NOW))
    bus.publish(BreachDetected(ACCOUNT, "RULE-003", "daily loss -$512 reached -$500", t))
    lock = Lock(ACCOUNT, "RULE-003", LockKind.HARD, "daily loss", t, datetime(2026, 8, 19, 22, 0, tzinfo=UTC))
    bus.publish(LockSet(lock))
    recorder.close()

    calendar = TradingCalendar(default_config().general.reset_time, "America/Chicago")
    rows = read_history(tmp_path, calendar, since=date(2026, 8, 18))
    actions = [r for r in rows if r.enforcement]
    assert [(r.what, r.rule, r.outcome) for r in actions] == [
        ("Reduced", "Max contracts", "Failed"), ("Closed", "Open loss limit", "Done")]
    closed = actions[1]
    assert (closed.size, closed.price, closed.latency_ms) == (3, 20011.25, 9012.0)
    events = [(r.what, r.rule) for r in rows if not r.enforcement]
    assert sorted(events) == [("Breach", "Daily loss limit"), ("Locked", "Daily loss limit")]
    days = by_day(rows)
    assert list(days) == [date(2026, 8, 19)]
    assert day_summary(days[date(2026, 8, 19)]) == "1 breach, 1 lock, 2 actions (1 failed)"

    out = tmp_path / "history.csv"
    assert export_csv(rows, out, CHICAGO) == 4
    with out.open() as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["Trading day", "Time", "Account", "What"]
    [closed_row] = [row for row in table[1:] if row[3] == "Closed"]
    assert closed_row[0] == "2026-08-19" and closed_row[1] == "2026-08-19 10:00:00 CDT"
    assert closed_row[4:10] == ["Open loss limit", "CON.F.US.MNQ.U26", "3", "20011.25", "Done",
                                "9012.0"]


def test_the_watch_keeps_one_row_per_action_and_what_still_fails() -> None:
    from core.app.enforcement_watch import EnforcementWatch
    from core.domain.commands import CloseContract, Flatten, ModifyStop
    from core.engine.notices import EnforcementDone, EnforcementFailed, EnforcementIssued
    from tests.builders import MNQ, config, make_engine, position

    engine, clock, _ = make_engine(config({"daily_unrealized_loss": {"limit": 300}}))
    engine.handle(position(MNQ, 7, 20000.0))
    watch = EnforcementWatch(engine.bus, lambda: engine, clock)
    close = CloseContract(account_id=ACCOUNT, rule_id="RULE-004", reason="x", contract_id=MNQ)
    for _ in range(3):  # the engine resends while it is in flight: still one action
        engine.bus.publish(EnforcementIssued(close))
    engine.bus.publish(EnforcementFailed(close, "HTTP 503", 5))
    stop = ModifyStop(account_id=ACCOUNT, rule_id="RULE-012", reason="trail", order_id=7,
                      contract_id=MNQ, stop_price=19990.0)
    engine.bus.publish(EnforcementFailed(stop, "HTTP 503", 2))  # a stop is not protection
    [row] = watch.recent(ACCOUNT)
    assert (row.action, row.outcome, row.target, row.size) == (
        "close_contract", "failed", "MNQU6 long 7", 7)
    assert [f.command for f in watch.failing(ACCOUNT)] == [close]
    engine.bus.publish(EnforcementDone(Flatten(account_id=ACCOUNT, rule_id="RULE-003",
                                               reason="y"), 50.0, 1))
    assert watch.failing(ACCOUNT) == [] and not watch.any_failing()
    watch.close()
