"""What the dashboard and the tray say about a Topstep account (issue 12, SPEC section 6): the
distance to the Maximum Loss Limit with its floor, equity and buffer, or why it cannot be said;
the plan with unconfirmed numbers marked; the size cap and why; the time to the firm's close.

Worked by hand: MNQ is $2 a point, ES $50 a point; a 50K plan has a $2,000 MLL (floor 48,000
from a 50,000 start), a 5-lot maximum, micros 10 to a lot. T0 is Wed 19 Aug 2026 10:00 CDT.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from core.app.protection import Protection, account_state, closest_to_mll, headline
from core.app.snapshot_builder import take_snapshot
from core.app.topstep_view import firm_close_view
from core.config.io import parse_config
from core.config.rules import FirmClose
from core.domain.events import AccountEvent
from tests.builders import ES, MNQ, make_engine, position, quote
from tests.rules.support import ct

COMBINE, PRACTICE, EXPRESS = 13370002, 13370001, 13370003
COMBINE_NAME = "50KTC-V2-DEMO-13370002"
ZONE = datetime(2026, 8, 19, tzinfo=UTC).tzinfo


def guard(accounts: dict[str, Any] | None = None, **rules: dict[str, Any]) -> Any:
    data: dict[str, Any] = {"rules": {
        "max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": [1000, 500]},
        "plan_position_size": {"enabled": True},
        "firm_close": {"enabled": True},
        "daily_realized_loss": {"enabled": True, "limit": 500},
        **rules,
    }}
    if accounts:
        data["accounts"] = accounts
    return parse_config(data)


def account(engine: Any, account_id: int, name: str, balance: float | None) -> None:
    engine.handle(AccountEvent(account_id, name=name, balance=balance, can_trade=True))


def snap(engine: Any, account_id: int = COMBINE, **kwargs: Any) -> Any:
    return take_snapshot(engine, account_id, status="protected", **kwargs)


def history_read(engine: Any, account_id: int, balance: float) -> None:
    """The account's history read (what the app does at start): Tuesday ended at ``balance``."""
    assert engine.mll.catch_up(account_id, [(date(2026, 8, 18), balance)], None) is not None


def test_the_distance_is_equity_minus_the_floor_with_the_buffer_and_warnings() -> None:
    engine, _, _ = make_engine(guard())
    account(engine, COMBINE, COMBINE_NAME, 48_700.0)
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_950.0))  # 2 × −50 points × $2 = −$200 open
    view = snap(engine).topstep
    assert view is not None and view.plan == "50K Trading Combine"
    assert view.plan_source == "from the account name"
    mll = view.mll
    assert (mll.floor, mll.balance, mll.open_pnl, mll.buffer) == (48_000.0, 48_700.0, -200.0, 250.0)
    assert mll.equity == 48_500.0 and mll.distance == 500.0
    assert not mll.floor_typed_in and mll.mll_amount == 2_000.0
    assert mll.level == "warning"  # $500 is a warning distance; the guard acts at $250


def test_the_levels_at_their_exact_boundaries() -> None:
    def level(balance: float) -> str:
        engine, _, _ = make_engine(guard())
        account(engine, COMBINE, COMBINE_NAME, balance)
        return str(snap(engine).topstep.mll.level)

    assert level(48_000.0 + 1_000.01) == "ok"
    assert level(48_000.0 + 1_000.0) == "warning"
    assert level(48_000.0 + 250.01) == "warning"
    assert level(48_000.0 + 250.0) == "breach"  # the guard acts here


def test_no_balance_or_no_price_is_said_never_guessed() -> None:
    engine, _, _ = make_engine(guard())
    account(engine, COMBINE, COMBINE_NAME, None)
    mll = snap(engine).topstep.mll
    assert mll.unknown == "no balance yet" and mll.distance is None and mll.equity is None
    assert mll.level == "ok"
    account(engine, COMBINE, COMBINE_NAME, 48_400.0)
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(position(ES, 1, 6_400.0, account_id=COMBINE, position_id=2))
    engine.handle(quote(MNQ, last=19_000.0))  # ES has no price: it could be offsetting
    mll = snap(engine).topstep.mll
    assert mll.unknown == "no price yet" and mll.distance is None
    stale = snap(engine, last_marks={ES: 6_390.0}).topstep.mll
    assert stale.unknown == "prices stale" and stale.distance is None


def test_a_typed_in_floor_wins_and_is_marked_so() -> None:
    engine, _, _ = make_engine(guard(accounts={str(COMBINE): {"mll_floor": 48_500}}))
    account(engine, COMBINE, COMBINE_NAME, 49_000.0)
    mll = snap(engine).topstep.mll
    assert mll.floor == 48_500.0 and mll.floor_typed_in and mll.distance == 500.0


def test_a_practice_account_has_no_topstep_box() -> None:
    engine, _, _ = make_engine(guard())
    account(engine, PRACTICE, "PRAC-V2-DEMO-13370001", 50_000.0)
    assert snap(engine, PRACTICE).topstep is None


def test_the_plan_marks_unconfirmed_numbers_and_the_cap_says_why() -> None:
    engine, _, _ = make_engine(guard(accounts={str(EXPRESS): {"plan": "100K-express"}}))
    account(engine, EXPRESS, "EXPRESS-13370003", 100_000.0)
    engine.handle(position(MNQ, 7, 20_000.0, account_id=EXPRESS))  # 7 micros: 0.7 lots
    cap = snap(engine, EXPRESS).topstep.cap  # the end-of-day balance not read yet: no tier
    assert cap.cap == 10 and cap.why.startswith("100K plan maximum") and "not known" in cap.why
    history_read(engine, EXPRESS, 100_000.0)
    view = snap(engine, EXPRESS).topstep
    assert view.plan == "100K Express Funded" and view.plan_source == "picked in Settings"
    facts = {fact.label: fact for fact in view.facts}
    assert facts["Maximum Loss Limit"].value == "$3,000.00" and not facts["Maximum Loss Limit"].unconfirmed
    assert facts["Scaling plan"].unconfirmed  # the 100K tiers are not confirmed by Topstep
    assert "Profit target" not in facts  # an Express Funded Account has none
    cap = view.cap
    assert cap is not None and cap.cap == 3 and cap.why.startswith("scaling plan tier")
    assert cap.unconfirmed and cap.held_lots == 0.7


def test_a_combine_cap_is_the_plan_maximum_with_micros_at_ten_to_one() -> None:
    engine, _, _ = make_engine(guard())
    account(engine, COMBINE, COMBINE_NAME, 50_000.0)
    engine.handle(position(ES, 2, 6_400.0, account_id=COMBINE))
    engine.handle(position(MNQ, 15, 20_000.0, account_id=COMBINE, position_id=2))
    cap = snap(engine).topstep.cap
    assert (cap.cap, cap.why, cap.held_lots, cap.unconfirmed) == (5, "50K plan maximum", 3.5, False)


def test_rules_switched_off_for_the_account_leave_their_lines_out() -> None:
    cfg = guard(accounts={str(COMBINE): {"plan_position_size": {"enabled": False},
                                         "firm_close": {"enabled": False},
                                         "max_loss_guard": {"enabled": False}}})
    engine, _, _ = make_engine(cfg)
    account(engine, COMBINE, COMBINE_NAME, 48_700.0)
    view = snap(engine).topstep
    assert view.cap is None and view.firm_close is None
    assert view.mll.buffer is None and view.mll.warn_at == () and view.mll.distance == 700.0
    assert view.mll.level == "ok"  # no guard: nothing warns, the number is still shown


def test_the_firm_close_countdown_and_the_closed_window() -> None:
    rule = FirmClose(enabled=True)  # 15:10 CT, flatten 2 minutes before, reopen 17:00 CT
    during = firm_close_view(rule, ct(2026, 8, 19, 10, 0))
    assert during.flatten_at == ct(2026, 8, 19, 15, 8) and during.closed_until is None
    assert during.close == "15:10 CDT"
    closed = firm_close_view(rule, ct(2026, 8, 19, 15, 9))
    assert closed.flatten_at is None and closed.closed_until == ct(2026, 8, 19, 17, 0)
    evening = firm_close_view(rule, ct(2026, 8, 19, 18, 0))  # Wednesday evening: Thursday's
    assert evening.flatten_at == ct(2026, 8, 20, 15, 8)
    weekend = firm_close_view(rule, ct(2026, 8, 21, 16, 0))  # Friday after the close
    assert weekend.flatten_at is None and weekend.closed_until == ct(2026, 8, 23, 17, 0)
    # Across the fall DST change (Sunday 1 Nov 2026): Monday's flatten is 15:08 CST.
    assert firm_close_view(rule, ct(2026, 11, 1, 18, 0)).flatten_at == ct(2026, 11, 2, 15, 8)
    assert firm_close_view(rule, ct(2026, 11, 2, 9, 0)).close == "15:10 CST"


def test_the_mll_warning_is_the_accounts_state_and_leads_the_headline() -> None:
    engine, clock, _ = make_engine(guard())
    account(engine, COMBINE, COMBINE_NAME, 48_480.0)
    snapshot = snap(engine)
    assert account_state(snapshot) is Protection.WARNING
    assert headline(snapshot, clock.now(), ZONE) == "Warning: $480.00 from the Maximum Loss Limit"


def test_the_tray_names_the_smallest_distance_and_an_unknown_one_first() -> None:
    cfg = guard(accounts={str(EXPRESS): {"plan": "50K-express"}})
    engine, _, _ = make_engine(cfg)
    account(engine, COMBINE, COMBINE_NAME, 49_200.0)
    account(engine, EXPRESS, "EXPRESS-13370003", 48_900.0)
    account(engine, PRACTICE, "PRAC-V2-DEMO-13370001", 10.0)  # no plan: not counted
    history_read(engine, COMBINE, 50_000.0)
    snapshots = [snap(engine, a, name=n) for a, n in (
        (COMBINE, COMBINE_NAME), (EXPRESS, "EXPRESS-13370003"), (PRACTICE, "PRAC"))]
    # The express account's history is not read yet: its floor may be higher than it says.
    assert closest_to_mll(snapshots) == (
        "MLL: $900.00 left on EXPRESS-13370003 (floor not up to date on EXPRESS-13370003)")
    history_read(engine, EXPRESS, 50_000.0)
    snapshots[1] = snap(engine, EXPRESS, name="EXPRESS-13370003")
    assert closest_to_mll(snapshots) == "MLL: $900.00 left on EXPRESS-13370003"
    engine.handle(position(ES, 1, 6_400.0, account_id=COMBINE))  # no price: could be nearer
    snapshots[0] = snap(engine, COMBINE, name=COMBINE_NAME)
    assert closest_to_mll(snapshots) == f"MLL distance unknown on {COMBINE_NAME} (no price yet)"
    assert closest_to_mll(snapshots[2:]) is None
