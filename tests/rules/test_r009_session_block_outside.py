"""RULE-009 session_block_outside: a position outside the allowed window → flatten, lock until it opens.

Default window: 08:30–15:10 America/Chicago, Monday to Friday, closed on holidays.
2026-08-19 is a Wednesday; 2026-08-21 a Friday; 2026-09-07 (Labor Day) a Monday.
Windows that wrap midnight (the Globex week) are in test_r009_globex_week.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from core.domain.clock import ManualClock
from core.domain.commands import CloseContract, Flatten, RecordingPort
from core.domain.events import ClockTick
from core.engine.engine import Engine
from core.engine.rules.r009_session_block_outside import SessionBlockOutsideRule
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, ES, MES, MNQ, config, make_engine, order, position
from tests.rules.support import ct, lock_of, sent

RULE = "RULE-009"


def engine_at(when: datetime, **table: Any) -> tuple[Engine, ManualClock, RecordingPort]:
    engine, clock, port = make_engine(config({"session_block_outside": table}))
    clock.set(when)
    return engine, clock, port


def locked_until(engine: Engine) -> datetime | None:
    lock = lock_of(engine, RULE)
    assert lock is not None, "expected a RULE-009 lock"
    assert lock.kind is LockKind.HARD
    return lock.until


def test_a_position_inside_the_window_is_fine() -> None:
    engine, _, port = engine_at(ct(2026, 8, 19, 10, 0))
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []
    assert lock_of(engine, RULE) is None


def test_the_window_opens_at_its_start_time() -> None:
    engine, _, port = engine_at(ct(2026, 8, 19, 8, 30))
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []


def test_a_position_a_minute_before_the_open_is_flattened_and_locked_until_the_open() -> None:
    engine, _, port = engine_at(ct(2026, 8, 19, 8, 29))
    engine.handle(position(MNQ, 1, 20000.0))
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert command.contract_ids == (MNQ,)
    assert "MNQ position outside trading hours" in command.reason
    assert "Wed 08:30" in command.reason
    assert locked_until(engine) == ct(2026, 8, 19, 8, 30)


def test_the_last_minute_before_the_end_is_inside() -> None:
    engine, _, port = engine_at(ct(2026, 8, 19, 15, 9, 59))
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []


def test_at_the_end_time_the_window_is_closed() -> None:
    engine, _, port = engine_at(ct(2026, 8, 19, 15, 10))
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 20, 8, 30)


def test_the_window_end_flattens_what_is_still_open_on_the_clock_tick() -> None:
    engine, clock, port = engine_at(ct(2026, 8, 19, 14, 0))
    engine.handle(position(MNQ, 2, 20000.0))
    engine.handle(position(MES, -1, 5000.0, position_id=2))
    working = order(MNQ, side=1, stop_price=19900.0)
    engine.handle(working)
    clock.set(ct(2026, 8, 19, 15, 9, 59))
    engine.tick()
    assert port.commands == []
    clock.set(ct(2026, 8, 19, 15, 10))
    engine.tick()
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten)
    assert set(command.contract_ids) == {MNQ, MES}
    assert command.order_ids == (working.order_id,)
    assert locked_until(engine) == ct(2026, 8, 20, 8, 30)


def test_a_friday_evening_breach_locks_until_monday_0830_chicago() -> None:
    engine, _, port = engine_at(ct(2026, 8, 21, 16, 0))
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 24, 8, 30)
    assert locked_until(engine) == datetime(2026, 8, 24, 13, 30, tzinfo=UTC)
    assert "Mon 08:30" in sent(port, RULE)[0].reason


def test_the_friday_window_end_locks_until_monday() -> None:
    engine, clock, _ = engine_at(ct(2026, 8, 21, 15, 0))
    engine.handle(position(MNQ, 1, 20000.0))
    clock.set(ct(2026, 8, 21, 15, 10))
    engine.tick()
    assert locked_until(engine) == ct(2026, 8, 24, 8, 30)


def test_a_weekend_position_is_outside_the_window() -> None:
    engine, _, port = engine_at(ct(2026, 8, 22, 10, 0))  # Saturday mid-morning
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 24, 8, 30)


def test_weekend_days_can_be_allowed() -> None:
    days = ["mon", "tue", "wed", "thu", "fri", "sat"]
    engine, _, port = engine_at(ct(2026, 8, 22, 10, 0), days=days)
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []


def test_a_configured_holiday_is_closed_all_day() -> None:
    engine, _, port = engine_at(ct(2026, 9, 7, 10, 0), holidays=["2026-09-07"])
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 9, 8, 8, 30)


def test_the_lock_skips_a_holiday_monday() -> None:
    engine, _, _ = engine_at(ct(2026, 9, 4, 16, 0), holidays=["2026-09-07"])  # Friday
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 9, 8, 8, 30)  # Tuesday


def test_the_shipped_holiday_calendar_is_respected_unless_switched_off() -> None:
    for respect, expect_breach in ((True, True), (False, False)):
        cfg = config({"session_block_outside": {"respect_holidays": respect}})
        clock = ManualClock(ct(2026, 9, 7, 10, 0))
        port = RecordingPort()
        engine = Engine(cfg, clock, port, holidays=[date(2026, 9, 7)])
        engine.handle(position(MNQ, 1, 20000.0))
        assert bool(sent(port, RULE)) is expect_breach, f"respect_holidays={respect}"


def test_a_symbol_with_its_own_hours_may_trade_after_the_default_end() -> None:
    engine, _, port = engine_at(
        ct(2026, 8, 19, 15, 30), symbols={"ES": {"start": "08:30", "end": "16:00"}}
    )
    engine.handle(position(ES, 1, 5000.0))
    assert port.commands == []


def test_an_es_override_does_not_apply_to_mes_or_mnq() -> None:
    for contract in (MES, MNQ):
        engine, _, port = engine_at(
            ct(2026, 8, 19, 15, 30), symbols={"ES": {"start": "08:30", "end": "16:00"}}
        )
        engine.handle(position(contract, 1, 5000.0))
        assert len(sent(port, RULE)) == 1, contract


def test_a_symbol_with_its_own_hours_is_closed_outside_them() -> None:
    engine, _, port = engine_at(
        ct(2026, 8, 19, 16, 0), symbols={"ES": {"start": "08:30", "end": "16:00"}}
    )
    engine.handle(position(ES, 1, 5000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 20, 8, 30)


def test_an_early_position_in_a_late_opening_symbol_locks_only_until_it_opens() -> None:
    # ES may trade from 10:00; the default window is already open at 09:00.
    engine, _, port = engine_at(
        ct(2026, 8, 19, 9, 0), symbols={"ES": {"start": "10:00", "end": "16:00"}}
    )
    engine.handle(position(ES, 1, 5000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 19, 10, 0)  # not tomorrow 08:30


def test_a_window_wrapping_midnight_is_open_on_both_sides_of_it() -> None:
    night = {"start": "18:00", "end": "02:00"}
    for when in (ct(2026, 8, 17, 18, 0), ct(2026, 8, 17, 23, 30), ct(2026, 8, 18, 1, 59)):
        engine, _, port = engine_at(when, **night)
        engine.handle(position(MNQ, 1, 20000.0))
        assert port.commands == [], when


def test_a_window_wrapping_midnight_closes_at_its_end_and_reopens_that_evening() -> None:
    engine, _, port = engine_at(ct(2026, 8, 18, 2, 0), start="18:00", end="02:00")  # Tuesday
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 18, 18, 0)


def test_a_wrapping_window_belongs_to_the_day_it_ends() -> None:
    # 18:00-02:00 Monday to Friday: Sunday 18:00 → Monday 02:00 is Monday's session, and
    # Friday 18:00 → Saturday 02:00 is Saturday's, so it is closed.
    night = {"start": "18:00", "end": "02:00"}
    for open_at in (ct(2026, 8, 23, 18, 0), ct(2026, 8, 24, 1, 59, 59), ct(2026, 8, 21, 1, 0)):
        engine, _, port = engine_at(open_at, **night)
        engine.handle(position(MNQ, 1, 20000.0))
        assert port.commands == [], open_at
    for closed_at in (ct(2026, 8, 23, 17, 59, 59), ct(2026, 8, 21, 18, 0), ct(2026, 8, 22, 1, 0)):
        engine, _, port = engine_at(closed_at, **night)
        engine.handle(position(MNQ, 1, 20000.0))
        assert len(sent(port, RULE)) == 1, closed_at
        assert locked_until(engine) == ct(2026, 8, 23, 18, 0), closed_at  # Sunday evening
    assert "Sun 18:00" in sent(port, RULE)[0].reason


def test_the_lock_until_the_next_opening_is_dst_correct() -> None:
    # DST ends Sunday 2026-11-01: Monday 08:30 CST is 14:30 UTC (Friday's 08:30 was 13:30 UTC).
    engine, _, _ = engine_at(ct(2026, 10, 30, 16, 0))
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


def test_another_timezone() -> None:
    table = {"start": "09:30", "end": "16:00", "timezone": "America/New_York"}
    engine, _, port = engine_at(ct(2026, 8, 19, 8, 45), **table)  # 09:45 in New York
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []
    engine, _, port = engine_at(ct(2026, 8, 19, 8, 15), **table)  # 09:15 in New York
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 8, 19, 8, 30)  # 09:30 New York


def test_a_position_opened_during_the_lock_is_closed_at_once() -> None:
    engine, clock, port = engine_at(ct(2026, 8, 19, 16, 0))
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MNQ, 0, 0.0))
    port.clear()
    clock.set(ct(2026, 8, 19, 18, 0))
    engine.handle(position(MES, 1, 5000.0))
    assert [(type(c), c.rule_id) for c in port.commands] == [(CloseContract, RULE)]


def test_flat_accounts_are_not_locked_by_the_clock() -> None:
    engine, clock, port = engine_at(ct(2026, 8, 19, 14, 0))
    clock.set(ct(2026, 8, 19, 16, 0))
    engine.tick()
    assert port.commands == []
    assert lock_of(engine, RULE) is None


def test_evaluated_directly_on_a_clock_tick() -> None:
    engine, _, _ = engine_at(ct(2026, 8, 19, 14, 0))
    rule = SessionBlockOutsideRule(engine.config.rules.session_block_outside)
    engine.mirror.apply_position(position(MNQ, 1, 20000.0), ct(2026, 8, 19, 14, 0))
    inside = engine.context(ACCOUNT, ct(2026, 8, 19, 15, 9))
    assert rule.evaluate(inside, ClockTick(inside.now)) == []
    outside = engine.context(ACCOUNT, ct(2026, 8, 19, 15, 10))
    [breach] = rule.evaluate(outside, ClockTick(outside.now))
    assert breach.lock is not None
    assert (breach.lock.kind, breach.lock.until) == (LockKind.HARD, ct(2026, 8, 20, 8, 30))
    assert [type(c) for c in breach.commands] == [Flatten]
