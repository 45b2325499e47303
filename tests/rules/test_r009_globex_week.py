"""RULE-009 with a window that wraps midnight: the Globex week, DST, holidays, per-symbol days.

SPEC: "A window whose end is not after its start wraps midnight and belongs to the day on which
it ends (17:00–16:00 mon–fri is the Globex week: Sunday 17:00 → Friday 16:00); `days` and
holidays are matched against that day. Overrides may set their own days (absent: the table's)."
Action: close, cancel, hard lock until the window next opens; flatten at the window's end.

Calendar: 2026-08-16 is a Sunday. Chicago springs forward on Sunday 2026-03-08 and falls back
on Sunday 2026-11-01. 2026-09-07 (Labor Day) is a Monday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from core.domain.clock import ManualClock
from core.domain.commands import Flatten, RecordingPort
from core.domain.events import ClockTick
from core.engine.engine import Engine
from core.engine.rules.r009_session_block_outside import SessionBlockOutsideRule
from core.modules.lockouts import LockKind
from tests.builders import ACCOUNT, ES, MNQ, config, make_engine, position
from tests.rules.support import CHICAGO, ct, lock_of, sent

RULE = "RULE-009"
GLOBEX = {"start": "17:00", "end": "16:00"}  # days: the default, Monday to Friday
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def globex_open(at: datetime) -> bool:
    """The Globex week read off a Chicago wall clock, written out by hand."""
    local = at.astimezone(CHICAGO)
    weekday, minutes = local.weekday(), local.hour * 60 + local.minute
    if weekday == 6:  # Sunday: opens at 17:00
        return minutes >= 17 * 60
    if weekday in (0, 1, 2, 3):  # Monday to Thursday: a one-hour break at 16:00
        return minutes < 16 * 60 or minutes >= 17 * 60
    if weekday == 4:  # Friday: closes at 16:00 for the weekend
        return minutes < 16 * 60
    return False  # Saturday


def engine_at(when: datetime, **table: Any) -> tuple[Engine, ManualClock, RecordingPort]:
    engine, clock, port = make_engine(config({"session_block_outside": table}))
    clock.set(when)
    return engine, clock, port


def breached_at(when: datetime, contract: str = MNQ, **table: Any) -> bool:
    engine, _, port = engine_at(when, **table)
    engine.handle(position(contract, 1, 20000.0))
    return bool(sent(port, RULE))


def locked_until(engine: Engine) -> datetime | None:
    lock = lock_of(engine, RULE)
    assert lock is not None, "expected a RULE-009 lock"
    assert lock.kind is LockKind.HARD
    return lock.until


def minutes(first: datetime, last: datetime) -> Iterator[datetime]:
    """Every minute of real time from first to last (UTC steps: DST hours are neither skipped
    nor doubled)."""
    at = first.astimezone(UTC)
    while at <= last:
        yield at
        at += timedelta(minutes=1)


# --- the Globex week -----------------------------------------------------------------------------


@pytest.mark.parametrize("sunday", [
    date(2026, 8, 16),  # summer
    date(2026, 3, 8),  # spring forward that Sunday at 02:00
    date(2026, 11, 1),  # fall back that Sunday at 02:00
    date(2026, 3, 1),  # the week before spring forward
    date(2026, 10, 25),  # the week before fall back
])
def test_every_minute_of_the_week_matches_the_globex_hours(sunday: date) -> None:
    engine, _, _ = engine_at(ct(sunday.year, sunday.month, sunday.day, 12, 0), **GLOBEX)
    rule = SessionBlockOutsideRule(engine.config.rules.session_block_outside)
    engine.mirror.apply_position(position(MNQ, 1, 20000.0), ct(2026, 1, 1, 0, 0))
    start = ct(sunday.year, sunday.month, sunday.day, 0, 0)
    wrong = []
    for at in minutes(start, start + timedelta(days=7)):
        ctx = engine.context(ACCOUNT, at)
        breached = bool(rule.evaluate(ctx, ClockTick(at)))
        if breached == globex_open(at):
            wrong.append(at.astimezone(CHICAGO).isoformat())
    assert wrong == []


def test_sunday_evening_is_mondays_session() -> None:
    assert breached_at(ct(2026, 8, 16, 16, 59, 59), **GLOBEX)
    assert not breached_at(ct(2026, 8, 16, 17, 0), **GLOBEX)
    assert not breached_at(ct(2026, 8, 16, 17, 0, 1), **GLOBEX)
    assert not breached_at(ct(2026, 8, 16, 23, 59, 59), **GLOBEX)


def test_monday_morning_is_open_for_positions_and_for_the_clock() -> None:
    # The complaint: the Globex config flattened and hard-locked every Monday morning.
    for hour in range(0, 16):
        assert not breached_at(ct(2026, 8, 17, hour, 0), **GLOBEX), hour
        assert not breached_at(ct(2026, 8, 17, hour, 59, 59), **GLOBEX), hour
    engine, clock, port = engine_at(ct(2026, 8, 16, 17, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    for at in minutes(ct(2026, 8, 16, 17, 0), ct(2026, 8, 17, 15, 59)):
        clock.set(at)
        engine.tick()
    clock.set(ct(2026, 8, 17, 15, 59, 59))
    engine.tick()
    assert port.commands == []
    assert lock_of(engine, RULE) is None


@pytest.mark.parametrize("day", [17, 18, 19, 20])  # Monday to Thursday
def test_the_daily_break_flattens_at_1600_and_locks_until_1700(day: int) -> None:
    engine, clock, port = engine_at(ct(2026, 8, day, 15, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    clock.set(ct(2026, 8, day, 15, 59, 59))
    engine.tick()
    assert port.commands == []
    clock.set(ct(2026, 8, day, 16, 0))
    engine.tick()
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten) and command.contract_ids == (MNQ,)
    assert locked_until(engine) == ct(2026, 8, day, 17, 0)
    assert "17:00" in command.reason


def test_the_break_ends_at_1700_to_the_second() -> None:
    assert breached_at(ct(2026, 8, 18, 16, 0), **GLOBEX)
    assert breached_at(ct(2026, 8, 18, 16, 59, 59), **GLOBEX)
    assert not breached_at(ct(2026, 8, 18, 17, 0), **GLOBEX)
    assert not breached_at(ct(2026, 8, 18, 15, 59, 59), **GLOBEX)


def test_friday_1600_closes_the_week_until_sunday_1700() -> None:
    engine, clock, port = engine_at(ct(2026, 8, 21, 15, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    clock.set(ct(2026, 8, 21, 16, 0))
    engine.tick()
    [command] = sent(port, RULE)
    assert locked_until(engine) == ct(2026, 8, 23, 17, 0)
    assert "Sun 17:00" in command.reason


def test_the_weekend_is_closed_and_locks_until_sunday_1700() -> None:
    for when in (ct(2026, 8, 21, 17, 0), ct(2026, 8, 22, 12, 0), ct(2026, 8, 23, 16, 59, 59)):
        engine, _, port = engine_at(when, **GLOBEX)
        engine.handle(position(MNQ, 1, 20000.0))
        assert len(sent(port, RULE)) == 1, when
        assert locked_until(engine) == ct(2026, 8, 23, 17, 0), when


def test_the_weekend_lock_ends_when_sunday_opens() -> None:
    engine, clock, port = engine_at(ct(2026, 8, 22, 12, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    engine.handle(position(MNQ, 0, 0.0))
    clock.set(ct(2026, 8, 23, 16, 59, 59))
    engine.tick()
    assert lock_of(engine, RULE) is not None
    clock.set(ct(2026, 8, 23, 17, 0))
    engine.tick()
    assert lock_of(engine, RULE) is None
    port.clear()
    engine.handle(position(MNQ, 1, 20000.0))
    assert port.commands == []


def test_equal_open_and_close_times_are_a_24_hour_session_ending_then() -> None:
    # 17:00-17:00 Monday to Friday: Sunday 17:00 → Friday 17:00 without a break.
    round_the_clock = {"start": "17:00", "end": "17:00"}
    assert breached_at(ct(2026, 8, 16, 16, 59, 59), **round_the_clock)
    assert not breached_at(ct(2026, 8, 16, 17, 0), **round_the_clock)
    for day in (17, 18, 19, 20):
        assert not breached_at(ct(2026, 8, day, 16, 59, 59), **round_the_clock), day
        assert not breached_at(ct(2026, 8, day, 17, 0), **round_the_clock), day
    assert not breached_at(ct(2026, 8, 21, 16, 59, 59), **round_the_clock)
    engine, _, port = engine_at(ct(2026, 8, 21, 17, 0), **round_the_clock)
    engine.handle(position(MNQ, 1, 20000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 23, 17, 0)


# --- DST ------------------------------------------------------------------------------------------


def test_spring_forward_sunday_opens_at_1700_daylight_time() -> None:
    # Friday 2026-03-06 16:00 CST; the lock ends Sunday 17:00 CDT = 22:00 UTC (not 23:00).
    engine, _, _ = engine_at(ct(2026, 3, 6, 16, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)
    assert breached_at(datetime(2026, 3, 8, 21, 59, 59, tzinfo=UTC), **GLOBEX)
    assert not breached_at(datetime(2026, 3, 8, 22, 0, tzinfo=UTC), **GLOBEX)
    # Monday 2026-03-09: the break is 16:00-17:00 CDT (21:00-22:00 UTC).
    assert not breached_at(datetime(2026, 3, 9, 20, 59, 59, tzinfo=UTC), **GLOBEX)
    assert breached_at(datetime(2026, 3, 9, 21, 0, tzinfo=UTC), **GLOBEX)
    assert not breached_at(datetime(2026, 3, 9, 22, 0, tzinfo=UTC), **GLOBEX)


def test_fall_back_sunday_opens_at_1700_standard_time() -> None:
    # Friday 2026-10-30 16:00 CDT; the lock ends Sunday 17:00 CST = 23:00 UTC (not 22:00).
    engine, _, _ = engine_at(ct(2026, 10, 30, 16, 0), **GLOBEX)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert breached_at(datetime(2026, 11, 1, 22, 59, 59, tzinfo=UTC), **GLOBEX)
    assert not breached_at(datetime(2026, 11, 1, 23, 0, tzinfo=UTC), **GLOBEX)
    # Both 01:30s of that Sunday morning are in the weekend.
    assert breached_at(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), **GLOBEX)  # 01:30 CDT
    assert breached_at(datetime(2026, 11, 1, 7, 30, tzinfo=UTC), **GLOBEX)  # 01:30 CST


def test_a_wrapping_window_across_spring_forward_night() -> None:
    # 22:00-03:00 Monday to Sunday: Sunday 2026-03-08 02:00-03:00 never happens on the wall.
    night = {"start": "22:00", "end": "03:00", "days": EVERY_DAY}
    assert not breached_at(datetime(2026, 3, 8, 7, 59, 59, tzinfo=UTC), **night)  # 01:59:59 CST
    assert breached_at(datetime(2026, 3, 8, 8, 0, tzinfo=UTC), **night)  # 03:00 CDT
    engine, _, _ = engine_at(datetime(2026, 3, 8, 8, 0, tzinfo=UTC), **night)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 3, 8, 22, 0)


def test_a_window_ending_in_the_repeated_hour_closes_at_its_first_occurrence() -> None:
    # 18:00-01:30 every day; on 2026-11-01 01:30 happens at 06:30 UTC (CDT) and 07:30 (CST).
    night = {"start": "18:00", "end": "01:30", "days": EVERY_DAY}
    assert not breached_at(datetime(2026, 11, 1, 6, 29, 59, tzinfo=UTC), **night)
    assert breached_at(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), **night)
    assert breached_at(datetime(2026, 11, 1, 7, 10, tzinfo=UTC), **night)  # 01:10 CST: not again
    engine, _, _ = engine_at(datetime(2026, 11, 1, 7, 10, tzinfo=UTC), **night)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 11, 1, 18, 0)


def test_a_window_opening_in_the_repeated_hour_stays_open_through_it() -> None:
    day = {"start": "01:30", "end": "15:00", "days": EVERY_DAY}
    assert breached_at(datetime(2026, 11, 1, 6, 29, 59, tzinfo=UTC), **day)  # 01:29:59 CDT
    assert not breached_at(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), **day)  # 01:30 CDT
    assert not breached_at(datetime(2026, 11, 1, 7, 10, tzinfo=UTC), **day)  # 01:10 CST


def test_a_window_opening_in_the_spring_forward_gap_opens_at_its_end() -> None:
    day = {"start": "02:30", "end": "15:00", "days": EVERY_DAY}
    assert breached_at(datetime(2026, 3, 8, 7, 59, 59, tzinfo=UTC), **day)  # 01:59:59 CST
    assert not breached_at(datetime(2026, 3, 8, 8, 0, tzinfo=UTC), **day)  # 03:00 CDT
    engine, _, _ = engine_at(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), **day)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)


# --- holidays -------------------------------------------------------------------------------------


def test_a_holiday_monday_closes_sunday_evening_too() -> None:
    labor_day = {**GLOBEX, "holidays": ["2026-09-07"]}
    for when in (ct(2026, 9, 6, 17, 0), ct(2026, 9, 6, 20, 0), ct(2026, 9, 7, 10, 0),
                 ct(2026, 9, 7, 16, 59, 59)):
        engine, _, port = engine_at(when, **labor_day)
        engine.handle(position(MNQ, 1, 20000.0))
        assert len(sent(port, RULE)) == 1, when
        assert locked_until(engine) == ct(2026, 9, 7, 17, 0), when  # Tuesday's session opens
    assert not breached_at(ct(2026, 9, 7, 17, 0), **labor_day)
    assert not breached_at(ct(2026, 9, 4, 15, 59, 59), **labor_day)  # Friday before


def test_the_friday_before_a_holiday_monday_locks_until_monday_evening() -> None:
    engine, _, port = engine_at(ct(2026, 9, 4, 16, 0), **GLOBEX, holidays=["2026-09-07"])
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 9, 7, 17, 0)
    assert "Mon 17:00" in sent(port, RULE)[0].reason


def test_a_holiday_friday_leaves_thursday_evening_closed_and_thursday_open() -> None:
    # The session that ends on Friday 2026-12-25 starts Thursday 17:00: it is the holiday's.
    christmas = {**GLOBEX, "holidays": ["2026-12-25"]}
    assert not breached_at(ct(2026, 12, 24, 15, 59, 59), **christmas)
    assert breached_at(ct(2026, 12, 24, 17, 0), **christmas)
    engine, _, _ = engine_at(ct(2026, 12, 24, 17, 0), **christmas)
    engine.handle(position(MNQ, 1, 20000.0))
    assert locked_until(engine) == ct(2026, 12, 27, 17, 0)  # Sunday evening


def test_the_shipped_holiday_calendar_closes_the_session_ending_on_the_holiday() -> None:
    for respect, expect_breach in ((True, True), (False, False)):
        cfg = config({"session_block_outside": {**GLOBEX, "respect_holidays": respect}})
        port = RecordingPort()
        engine = Engine(cfg, ManualClock(ct(2026, 9, 6, 18, 0)), port, holidays=[date(2026, 9, 7)])
        engine.handle(position(MNQ, 1, 20000.0))
        assert bool(sent(port, RULE)) is expect_breach, f"respect_holidays={respect}"


# --- per-symbol hours and days --------------------------------------------------------------------


def test_a_symbol_may_keep_globex_hours_while_the_account_trades_the_day_session() -> None:
    table = {"symbols": {"ES": GLOBEX}}  # the table: 08:30-15:10 Monday to Friday
    assert not breached_at(ct(2026, 8, 16, 20, 0), ES, **table)  # Sunday evening
    assert breached_at(ct(2026, 8, 16, 20, 0), MNQ, **table)
    assert not breached_at(ct(2026, 8, 17, 7, 0), ES, **table)  # Monday before the open
    assert breached_at(ct(2026, 8, 17, 7, 0), MNQ, **table)


def test_a_symbols_own_days_replace_the_tables() -> None:
    table = {"symbols": {"ES": {**GLOBEX, "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}}}
    # Saturday's session runs Friday 17:00 → Saturday 16:00 for ES only.
    assert not breached_at(ct(2026, 8, 21, 17, 0), ES, **table)
    assert not breached_at(ct(2026, 8, 22, 15, 59, 59), ES, **table)
    assert breached_at(ct(2026, 8, 22, 16, 0), ES, **table)
    assert breached_at(ct(2026, 8, 22, 10, 0), MNQ, **table)


def test_a_symbol_without_its_own_days_uses_the_tables() -> None:
    table = {"days": ["mon", "tue", "wed"], "symbols": {"ES": GLOBEX}}
    assert not breached_at(ct(2026, 8, 19, 10, 0), ES, **table)  # Wednesday
    assert breached_at(ct(2026, 8, 19, 17, 0), ES, **table)  # Thursday's session
    engine, _, _ = engine_at(ct(2026, 8, 19, 17, 0), **table)
    engine.handle(position(ES, 1, 5000.0))
    assert locked_until(engine) == ct(2026, 8, 23, 17, 0)  # Monday's session, Sunday evening


def test_one_symbol_outside_locks_until_its_own_window_opens() -> None:
    table = {"symbols": {"ES": GLOBEX}}
    engine, _, port = engine_at(ct(2026, 8, 17, 16, 30), **table)  # Monday's break
    engine.handle(position(ES, 1, 5000.0))
    assert len(sent(port, RULE)) == 1
    assert locked_until(engine) == ct(2026, 8, 17, 17, 0)  # not Tuesday 08:30


def test_several_symbols_outside_lock_until_each_has_opened_again() -> None:
    table = {"symbols": {"ES": GLOBEX}}
    engine, clock, port = engine_at(ct(2026, 8, 17, 14, 0), **table)
    engine.handle(position(ES, 1, 5000.0))
    engine.handle(position(MNQ, 1, 20000.0, position_id=2))
    clock.set(ct(2026, 8, 17, 16, 30))  # both closed: ES reopens at 17:00, MNQ at 08:30
    engine.tick()
    [command] = sent(port, RULE)
    assert isinstance(command, Flatten) and set(command.contract_ids) == {ES, MNQ}
    assert locked_until(engine) == ct(2026, 8, 18, 8, 30)
    assert "ES, MNQ" in command.reason
