"""The Topstep account guard through the engine: RULE-014 (MLL with a buffer), RULE-015 (plan
size, micros 10:1, scaling tiers at the reset), RULE-016 (flat by 15:08 CT), rules per account."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.config.io import parse_config
from core.domain.clock import ManualClock
from core.domain.commands import CloseContract, Flatten, PartialClose
from core.domain.events import AccountEvent
from core.engine.notices import LimitWarning
from core.modules.lockouts import LockKind
from tests.builders import ES, MES, MNQ, make_engine, position, quote
from tests.rules.support import ct

COMBINE = 13370001  # named 50KTC-…: a 50K Trading Combine
EXPRESS = 13370002  # picked in the config: a 50K Express Funded Account


def guard_config(rules: dict[str, Any] | None = None, accounts: dict[str, Any] | None = None) -> Any:
    data: dict[str, Any] = {"rules": {
        "max_loss_guard": {"enabled": True, "buffer": 250, "warn_at": [1000, 500]},
        "plan_position_size": {"enabled": True},
        "firm_close": {"enabled": True},
        **(rules or {}),
    }}
    if accounts:
        data["accounts"] = accounts
    return parse_config(data)


def named(engine: Any, account_id: int, name: str, balance: float) -> None:
    engine.handle(AccountEvent(account_id, name=name, balance=balance, can_trade=True))


def test_open_loss_reaching_the_buffer_flattens_and_locks_within_one_quote() -> None:
    engine, clock, port = make_engine(guard_config())
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 48_400.0)  # floor 48,000: $400 of room
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_963.0))  # −$148 open: $252 from the floor
    assert port.commands == []
    engine.handle(quote(MNQ, last=19_962.5))  # −$150: $250, the buffer: act
    [command] = port.commands
    assert isinstance(command, Flatten) and command.rule_id == "RULE-014"
    lock = engine.lockouts.get(COMBINE, "RULE-014")
    assert lock is not None and lock.kind is LockKind.HARD
    assert lock.until == engine.calendar.next_reset(clock.now())
    assert "Maximum Loss Limit" in lock.reason


def test_warnings_come_as_the_distance_falls_once_a_day_each() -> None:
    engine, _, _ = make_engine(guard_config())
    warnings: list[LimitWarning] = []
    engine.bus.subscribe(warnings.append, LimitWarning)
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 49_200.0)  # $1,200 of room
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_900.0))  # −$200: $1,000
    engine.handle(quote(MNQ, last=19_899.0))
    assert [w.threshold for w in warnings] == [1000]
    engine.handle(quote(MNQ, last=19_640.0))  # −$720: $480
    assert [w.threshold for w in warnings] == [1000, 500]


def test_no_price_no_balance_no_decision() -> None:
    engine, _, port = make_engine(guard_config())
    engine.handle(AccountEvent(COMBINE, name="50KTC-V2-645601-13370001", can_trade=True))  # no balance
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=10_000.0))
    assert port.commands == []
    engine, _, port = make_engine(guard_config())
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 48_400.0)
    engine.handle(position(MNQ, 2, 20_000.0, account_id=COMBINE))
    engine.handle(position(ES, 1, 6_400.0, account_id=COMBINE, position_id=2))  # ES: no price yet
    engine.handle(quote(MNQ, last=19_000.0))  # MNQ alone would be −$4,000
    assert port.commands == []  # but ES could be offsetting: no decision


def test_a_typed_in_floor_wins_over_the_computed_one() -> None:
    cfg = guard_config(accounts={str(COMBINE): {"mll_floor": 49_000}})
    engine, _, port = make_engine(cfg)
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 49_300.0)  # $300 from the typed floor
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_975.0))  # −$50: $250
    assert [c.rule_id for c in port.commands] == ["RULE-014"]


def test_a_practice_account_has_no_plan_and_no_guard() -> None:
    engine, _, port = make_engine(guard_config())
    named(engine, COMBINE, "PRAC-V2-645601-13370001", 100.0)
    engine.handle(position(MNQ, 9, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_000.0))
    assert port.commands == []


def test_a_balance_that_drops_before_its_position_closes_is_not_counted_twice() -> None:
    # The close of −$300 realized: the balance event arrives first, the open loss still shows.
    engine, _, port = make_engine(guard_config())
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 48_600.0)  # $600 of room
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(quote(MNQ, last=19_850.0))  # −$300 open: $300 left
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 48_300.0)  # realized, position not yet gone
    engine.handle(quote(MNQ, last=19_850.25))
    assert port.commands == []  # counted once: still $300 from the floor
    engine.handle(position(MNQ, 0, 0.0, account_id=COMBINE))
    assert port.commands == []


# --- RULE-015 -------------------------------------------------------------------------------------


def test_micros_count_ten_to_one_against_the_plan() -> None:
    engine, _, port = make_engine(guard_config())
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    engine.handle(position(MNQ, 50, 20_000.0, account_id=COMBINE))  # 5 lots: the 50K maximum
    assert port.commands == []
    engine.handle(position(MNQ, 53, 20_000.0, account_id=COMBINE))  # 5.3 lots
    [command] = port.commands
    assert isinstance(command, PartialClose) and (command.rule_id, command.size) == ("RULE-015", 3)


def test_minis_and_micros_add_up() -> None:
    engine, clock, port = make_engine(guard_config())
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    engine.handle(position(ES, 4, 6_400.0, account_id=COMBINE))
    clock.advance(1)
    engine.handle(position(MES, 12, 5_000.0, account_id=COMBINE, position_id=2))  # 4 + 1.2 lots
    [command] = port.commands
    assert isinstance(command, PartialClose) and (command.contract_id, command.size) == (MES, 2)


def test_the_scaling_tier_changes_only_at_the_reset() -> None:
    cfg = guard_config(accounts={str(EXPRESS): {"plan": "50K-express"}})
    engine, clock, port = make_engine(cfg, clock=ManualClock(ct(2026, 8, 18, 16, 0)))
    named(engine, EXPRESS, "EXPRESS-13370002", 50_000.0)
    clock.set(ct(2026, 8, 18, 17, 0, 1))
    engine.tick()  # Tuesday ended at 50,000: no profit, tier 1 (2 lots) for Wednesday
    clock.set(ct(2026, 8, 19, 9, 0))
    engine.handle(position(ES, 3, 6_400.0, account_id=EXPRESS))
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and cut.size == 1
    port.clear()
    engine.handle(position(ES, 2, 6_400.0, account_id=EXPRESS))
    named(engine, EXPRESS, "EXPRESS-13370002", 51_600.0)  # +$1,600 intraday: still tier 1
    engine.handle(position(ES, 3, 6_400.0, account_id=EXPRESS))
    assert [c.rule_id for c in port.commands] == ["RULE-015"]
    port.clear()
    engine.handle(position(ES, 2, 6_400.0, account_id=EXPRESS))
    clock.set(ct(2026, 8, 19, 17, 0, 1))
    engine.tick()  # the reset: the day ended at 51,600, profit 1,600 → tier 2 (3 lots)
    engine.handle(position(ES, 3, 6_400.0, account_id=EXPRESS))
    assert port.commands == []


def test_an_unknown_end_of_day_profit_is_no_tier_only_the_plan_maximum_is_sure() -> None:
    # First seen at +$3,000 holding 4 ES: the last end-of-day balance is not read yet, so the
    # tier (2, 3 or 5 lots) is not known; only the 50K maximum of 5 lots is sure.
    cfg = guard_config(accounts={str(EXPRESS): {"plan": "50K-express"}})
    engine, _, port = make_engine(cfg)
    named(engine, EXPRESS, "EXPRESS-13370002", 53_000.0)
    engine.handle(position(ES, 4, 6_400.0, account_id=EXPRESS))
    assert port.commands == []
    engine.handle(position(ES, 6, 6_400.0, account_id=EXPRESS))
    [cut] = port.commands
    assert isinstance(cut, PartialClose) and (cut.rule_id, cut.size) == ("RULE-015", 1)


def test_an_end_of_day_older_than_the_last_reset_is_not_the_tier_now() -> None:
    # Tuesday ended at +$1,600 (3 lots); Wednesday's end was never read (the app was off at
    # the reset), so Thursday's tier is not known: the plan maximum, not Tuesday's tier.
    cfg = guard_config(accounts={str(EXPRESS): {"plan": "50K-express"}})
    engine, clock, port = make_engine(cfg, clock=ManualClock(ct(2026, 8, 18, 16, 0)))
    named(engine, EXPRESS, "EXPRESS-13370002", 51_600.0)
    clock.set(ct(2026, 8, 18, 17, 0, 1))
    engine.tick()
    clock.set(ct(2026, 8, 20, 9, 0))
    engine.tick()  # Wednesday's reset, run a day late: its balance now is not Wednesday's end
    engine.handle(position(ES, 5, 6_400.0, account_id=EXPRESS))
    assert port.commands == []


# --- RULE-016 -------------------------------------------------------------------------------------


def closes_at(day: date, hour: int, minute: int, second: int = 0) -> list[str]:
    engine, clock, port = make_engine(guard_config())
    clock.set(ct(day.year, day.month, day.day, hour, minute, second))
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.tick()
    return [c.rule_id for c in port.commands]


def test_flat_by_15_08_ct_on_both_sides_of_a_dst_change() -> None:
    for day in (date(2026, 3, 6), date(2026, 3, 9), date(2026, 10, 30), date(2026, 11, 2)):
        assert closes_at(day, 15, 7, 59) == [], day
        assert closes_at(day, 15, 8) == ["RULE-016"], day


def test_after_the_close_entries_are_blocked_until_the_session_opens() -> None:
    engine, clock, port = make_engine(guard_config())
    clock.set(ct(2026, 8, 21, 15, 30))  # a Friday
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    lock = engine.lockouts.get(COMBINE, "RULE-016")
    assert lock is not None and lock.until == ct(2026, 8, 23, 17)  # Sunday's open
    port.clear()
    clock.set(ct(2026, 8, 22, 10))
    engine.handle(position(MES, 1, 5_000.0, account_id=COMBINE, position_id=2))
    assert (CloseContract, MES) in [(type(c), getattr(c, "contract_id", "")) for c in port.commands]


def test_a_session_in_progress_is_not_closed() -> None:
    assert closes_at(date(2026, 8, 19), 17, 30) == []  # Wednesday evening: Thursday's session
    assert closes_at(date(2026, 8, 19), 3, 0) == []
    assert closes_at(date(2026, 8, 23), 18, 0) == []  # Sunday evening


def test_a_product_with_an_earlier_close_is_closed_before_it() -> None:
    engine, clock, port = make_engine(guard_config())
    clock.set(ct(2026, 8, 19, 13, 18))
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    # Corn's live id is ZCE, its symbol ZC (from the name, ZCZ6).
    engine.handle(position("CON.F.US.ZCE.Z26", 1, 450.0, account_id=COMBINE))
    assert [(c.rule_id, type(c)) for c in port.commands] == [("RULE-016", CloseContract)]
    assert engine.lockouts.get(COMBINE, "RULE-016") is None  # the account stays open


# --- rules per account ------------------------------------------------------------------------------


def test_two_accounts_on_different_plans_and_limits() -> None:
    cfg = guard_config(
        rules={"daily_unrealized_loss": {"enabled": True, "limit": 500}},
        accounts={
            str(EXPRESS): {"plan": "150K-express", "daily_unrealized_loss": {"limit": 100}},
        },
    )
    engine, _, port = make_engine(cfg)
    named(engine, COMBINE, "50KTC-V2-645601-13370001", 50_000.0)
    named(engine, EXPRESS, "EXPRESS-13370002", 150_000.0)
    assert cfg.rules_for(EXPRESS).daily_unrealized_loss.limit == 100
    assert cfg.rules_for(COMBINE).daily_unrealized_loss.limit == 500
    engine.handle(position(MNQ, 1, 20_000.0, account_id=COMBINE))
    engine.handle(position(MNQ, 1, 20_000.0, account_id=EXPRESS, position_id=2))
    engine.handle(quote(MNQ, last=19_940.0))  # −$120 each
    assert [(c.account_id, c.rule_id) for c in port.commands] == [(EXPRESS, "RULE-004")]
    plan = engine.plans.plan(engine.mirror.account(EXPRESS))
    assert plan is not None and plan.title == "150K Express Funded"
