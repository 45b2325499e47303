"""TradingCalendar: the trading day runs reset to reset and is named by the date it ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.trading_day import TradingCalendar, local_instant
from tests.builders import ACCOUNT, config, make_engine, trade
from tests.rules.support import lock_of

CT = ZoneInfo("America/Chicago")
NY = ZoneInfo("America/New_York")


@pytest.fixture
def cal() -> TradingCalendar:
    return TradingCalendar(time(17, 0), "America/Chicago")


def ct(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=CT)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# --- naming --------------------------------------------------------------------------------------


def test_monday_1659_ct_is_mondays_day(cal: TradingCalendar) -> None:
    assert cal.trading_day(ct(2026, 8, 17, 16, 59, 59)) == date(2026, 8, 17)


def test_monday_1700_ct_is_tuesdays_day(cal: TradingCalendar) -> None:
    assert cal.trading_day(ct(2026, 8, 17, 17, 0)) == date(2026, 8, 18)
    assert cal.trading_day(ct(2026, 8, 17, 18, 0)) == date(2026, 8, 18)


def test_sunday_evening_belongs_to_monday(cal: TradingCalendar) -> None:
    assert cal.trading_day(ct(2026, 8, 16, 18, 0)) == date(2026, 8, 17)


def test_answer_does_not_depend_on_the_input_zone(cal: TradingCalendar) -> None:
    at = ct(2026, 8, 17, 16, 30)
    assert cal.trading_day(at.astimezone(UTC)) == cal.trading_day(at) == date(2026, 8, 17)
    assert cal.trading_day(at.astimezone(ZoneInfo("Asia/Tokyo"))) == date(2026, 8, 17)


def test_cache_does_not_leak_between_days(cal: TradingCalendar) -> None:
    # Hot-path cache: answering a later and then an earlier instant must still be right.
    before = ct(2026, 8, 17, 16, 59)
    after = ct(2026, 8, 17, 17, 0)
    assert cal.trading_day(after) == date(2026, 8, 18)
    assert cal.trading_day(before) == date(2026, 8, 17)
    assert cal.trading_day(after) == date(2026, 8, 18)
    assert cal.trading_day(ct(2026, 8, 10, 12, 0)) == date(2026, 8, 10)
    assert cal.trading_day(before) == date(2026, 8, 17)


def test_bounds_are_the_two_resets(cal: TradingCalendar) -> None:
    start, end = cal.bounds(date(2026, 8, 18))
    assert start == utc(2026, 8, 17, 22, 0)  # 17:00 CDT
    assert end == utc(2026, 8, 18, 22, 0)
    assert cal.day_end(date(2026, 8, 17)) == cal.day_start(date(2026, 8, 18))
    assert cal.trading_day(start) == date(2026, 8, 18)
    assert cal.trading_day(end - timedelta(microseconds=1)) == date(2026, 8, 18)
    assert cal.trading_day(end) == date(2026, 8, 19)


# --- next_reset ----------------------------------------------------------------------------------


def test_next_reset_is_todays_end(cal: TradingCalendar) -> None:
    assert cal.next_reset(ct(2026, 8, 17, 9, 0)) == utc(2026, 8, 17, 22, 0)
    assert cal.next_reset(ct(2026, 8, 17, 16, 59, 59)) == utc(2026, 8, 17, 22, 0)


def test_next_reset_is_strictly_after(cal: TradingCalendar) -> None:
    at_reset = utc(2026, 8, 17, 22, 0)
    assert cal.next_reset(at_reset) == utc(2026, 8, 18, 22, 0)
    assert cal.next_reset(at_reset + timedelta(seconds=1)) == utc(2026, 8, 18, 22, 0)


def test_next_reset_over_a_weekend_is_a_day_away(cal: TradingCalendar) -> None:
    # The calendar knows nothing of sessions: Saturday 17:00 still resets.
    assert cal.next_reset(ct(2026, 8, 22, 12, 0)) == utc(2026, 8, 22, 22, 0)


# --- DST in America/Chicago ----------------------------------------------------------------------


def test_resets_around_spring_forward_2026(cal: TradingCalendar) -> None:
    # 2026-03-08 02:00 CST → 03:00 CDT.
    assert cal.day_end(date(2026, 3, 7)) == utc(2026, 3, 7, 23, 0)  # winter: 17:00 CST
    assert cal.day_end(date(2026, 3, 8)) == utc(2026, 3, 8, 22, 0)  # summer: 17:00 CDT
    assert cal.day_end(date(2026, 3, 9)) == utc(2026, 3, 9, 22, 0)


def test_day_spanning_spring_forward_is_23_hours(cal: TradingCalendar) -> None:
    start, end = cal.bounds(date(2026, 3, 8))
    assert end - start == timedelta(hours=23)
    assert cal.bounds(date(2026, 3, 7))[1] - cal.bounds(date(2026, 3, 7))[0] == timedelta(hours=24)
    assert cal.bounds(date(2026, 3, 9))[1] - cal.bounds(date(2026, 3, 9))[0] == timedelta(hours=24)


def test_daily_reset_crossing_spring_forward(cal: TradingCalendar) -> None:
    at = utc(2026, 3, 7, 23, 30)  # Saturday 17:30 CST
    assert cal.trading_day(at) == date(2026, 3, 8)
    reset = cal.next_reset(at)
    assert reset == utc(2026, 3, 8, 22, 0)
    assert cal.trading_day(reset - timedelta(seconds=1)) == date(2026, 3, 8)
    assert cal.trading_day(reset) == date(2026, 3, 9)
    # 22:30 UTC on the 8th is 17:30 CDT: already the next day.
    assert cal.trading_day(utc(2026, 3, 8, 22, 30)) == date(2026, 3, 9)
    # 22:30 UTC on the 7th was 16:30 CST: still the 7th.
    assert cal.trading_day(utc(2026, 3, 7, 22, 30)) == date(2026, 3, 7)


def test_resets_around_fall_back_2026(cal: TradingCalendar) -> None:
    # 2026-11-01 02:00 CDT → 01:00 CST.
    assert cal.day_end(date(2026, 10, 31)) == utc(2026, 10, 31, 22, 0)
    assert cal.day_end(date(2026, 11, 1)) == utc(2026, 11, 1, 23, 0)
    start, end = cal.bounds(date(2026, 11, 1))
    assert end - start == timedelta(hours=25)


def test_daily_reset_crossing_fall_back(cal: TradingCalendar) -> None:
    at = utc(2026, 10, 31, 22, 0)  # Saturday 17:00 CDT: the 1st begins
    assert cal.trading_day(at) == date(2026, 11, 1)
    assert cal.next_reset(at) == utc(2026, 11, 1, 23, 0)
    # The repeated 01:30 hour is inside the same day, both times.
    first = datetime(2026, 11, 1, 1, 30, tzinfo=CT, fold=0)
    second = datetime(2026, 11, 1, 1, 30, tzinfo=CT, fold=1)
    assert second.astimezone(UTC) - first.astimezone(UTC) == timedelta(hours=1)
    assert cal.trading_day(first) == cal.trading_day(second) == date(2026, 11, 1)
    # 22:30 UTC on the 1st is 16:30 CST: still the 1st (in summer it would have been the 2nd).
    assert cal.trading_day(utc(2026, 11, 1, 22, 30)) == date(2026, 11, 1)
    assert cal.trading_day(utc(2026, 11, 1, 23, 0)) == date(2026, 11, 2)


def test_every_hour_across_both_changes_is_inside_its_bounds(cal: TradingCalendar) -> None:
    for first in (utc(2026, 3, 5, 0, 0), utc(2026, 10, 29, 0, 0)):
        for step in range(0, 6 * 24 * 4):
            at = first + timedelta(minutes=15 * step)
            day = cal.trading_day(at)
            start, end = cal.bounds(day)
            assert start <= at < end, (at, day)
            assert cal.next_reset(at) == end


# --- a reset time inside the DST gap or the repeated hour -------------------------------------------


def test_local_instant_in_gap_is_the_gap_end() -> None:
    # SPEC: a reset time in the spring-forward gap happens at the gap's end: 03:00 CDT.
    instant = local_instant(date(2026, 3, 8), time(2, 30), CT)
    assert instant == utc(2026, 3, 8, 8, 0)
    assert instant.astimezone(CT).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 0)
    # Any wall time inside the gap lands on the same instant; 03:00 itself is real.
    assert local_instant(date(2026, 3, 8), time(2, 0), CT) == instant
    assert local_instant(date(2026, 3, 8), time(2, 59), CT) == instant
    assert local_instant(date(2026, 3, 8), time(3, 0), CT) == instant
    assert local_instant(date(2026, 3, 8), time(1, 59), CT) == utc(2026, 3, 8, 7, 59)


def test_local_instant_in_the_repeated_hour_is_its_first_occurrence() -> None:
    # 2026-11-01 01:30 happens at 06:30 UTC (CDT) and again at 07:30 UTC (CST).
    assert local_instant(date(2026, 11, 1), time(1, 30), CT) == utc(2026, 11, 1, 6, 30)
    assert local_instant(date(2026, 11, 1), time(1, 0), CT) == utc(2026, 11, 1, 6, 0)
    assert local_instant(date(2026, 11, 1), time(2, 0), CT) == utc(2026, 11, 1, 8, 0)


def test_a_reset_in_the_gap_happens_at_the_gap_end() -> None:
    cal = TradingCalendar(time(2, 30), CT)
    end = cal.day_end(date(2026, 3, 8))
    assert end == utc(2026, 3, 8, 8, 0)  # 03:00 CDT, not 03:30
    start, _ = cal.bounds(date(2026, 3, 8))
    assert start == utc(2026, 3, 7, 8, 30)  # 02:30 CST the day before
    assert end - start == timedelta(hours=23, minutes=30)
    # One second either side of the moved reset, and at it.
    assert cal.trading_day(end - timedelta(seconds=1)) == date(2026, 3, 8)  # 01:59:59 CST
    assert cal.trading_day(end) == date(2026, 3, 9)
    assert cal.trading_day(end + timedelta(seconds=1)) == date(2026, 3, 9)
    assert cal.trading_day(utc(2026, 3, 8, 8, 15)) == date(2026, 3, 9)  # 03:15 CDT: after it
    assert cal.next_reset(utc(2026, 3, 8, 7, 0)) == end
    assert cal.next_reset(end) == utc(2026, 3, 9, 7, 30)  # 02:30 CDT: back on the wall time
    for step in range(0, 48 * 4):
        at = utc(2026, 3, 7, 0, 0) + timedelta(minutes=15 * step)
        start, end_ = cal.bounds(cal.trading_day(at))
        assert start <= at < end_


def test_a_reset_in_the_repeated_hour_happens_at_its_first_occurrence() -> None:
    cal = TradingCalendar(time(1, 30), CT)
    end = cal.day_end(date(2026, 11, 1))
    assert end == utc(2026, 11, 1, 6, 30)  # 01:30 CDT, the first of the two
    assert cal.trading_day(end - timedelta(seconds=1)) == date(2026, 11, 1)
    assert cal.trading_day(end) == date(2026, 11, 2)
    # The second 01:30 (CST) is an hour into the new day, not another reset.
    second = utc(2026, 11, 1, 7, 30)
    assert cal.trading_day(second - timedelta(seconds=1)) == date(2026, 11, 2)
    assert cal.trading_day(second) == date(2026, 11, 2)
    assert cal.trading_day(second + timedelta(seconds=1)) == date(2026, 11, 2)
    assert cal.next_reset(second) == utc(2026, 11, 2, 7, 30)  # 01:30 CST the next day
    assert cal.bounds(date(2026, 11, 2)) == (end, utc(2026, 11, 2, 7, 30))


# --- a reset at midnight ----------------------------------------------------------------------------


def test_a_midnight_reset_names_the_day_by_the_date_it_runs_on() -> None:
    # SPEC: 00:00 reset: Mon 00:00 → Tue 00:00 is Monday. 2026-08-17 is a Monday.
    cal = TradingCalendar(time(0, 0), "America/New_York")
    assert cal.zone == NY
    monday = date(2026, 8, 17)
    assert cal.bounds(monday) == (utc(2026, 8, 17, 4, 0), utc(2026, 8, 18, 4, 0))  # EDT
    mon_0000 = datetime(2026, 8, 17, 0, 0, tzinfo=NY)
    tue_0000 = datetime(2026, 8, 18, 0, 0, tzinfo=NY)
    second = timedelta(seconds=1)
    assert cal.trading_day(mon_0000 - second) == date(2026, 8, 16)  # Sunday 23:59:59
    assert cal.trading_day(mon_0000) == monday
    assert cal.trading_day(mon_0000 + second) == monday
    assert cal.trading_day(datetime(2026, 8, 17, 12, 0, tzinfo=NY)) == monday
    assert cal.trading_day(tue_0000 - second) == monday
    assert cal.trading_day(tue_0000) == date(2026, 8, 18)
    assert cal.next_reset(mon_0000) == tue_0000
    assert cal.next_reset(tue_0000 - second) == tue_0000
    # Winter: midnight EST is 05:00 UTC.
    assert cal.day_end(date(2026, 11, 30)) == utc(2026, 12, 1, 5, 0)
    # Sunday 2026-03-08 is 23 hours long in New York; the Saturday before is whole.
    assert cal.bounds(date(2026, 3, 8)) == (utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0))
    assert cal.bounds(date(2026, 3, 7)) == (utc(2026, 3, 7, 5, 0), utc(2026, 3, 8, 5, 0))


def test_a_midnight_reset_in_a_zone_whose_clocks_change_at_midnight() -> None:
    # Havana springs from 00:00 to 01:00 on 2026-03-08 and falls from 01:00 back to 00:00 on
    # 2026-11-01. The Saturday ends when Sunday's missing midnight would be: at the gap's end.
    havana = ZoneInfo("America/Havana")
    cal = TradingCalendar(time(0, 0), havana)
    saturday_end = cal.day_end(date(2026, 3, 7))
    assert saturday_end == utc(2026, 3, 8, 5, 0)
    assert saturday_end.astimezone(havana).replace(tzinfo=None) == datetime(2026, 3, 8, 1, 0)
    assert cal.trading_day(saturday_end - timedelta(seconds=1)) == date(2026, 3, 7)
    assert cal.trading_day(saturday_end) == date(2026, 3, 8)
    # The repeated hour 00:00–01:00 on 2026-11-01: the reset is its first midnight.
    sunday_start = cal.day_start(date(2026, 11, 1))
    assert sunday_start == utc(2026, 11, 1, 4, 0)
    assert cal.trading_day(sunday_start - timedelta(seconds=1)) == date(2026, 10, 31)
    assert cal.trading_day(utc(2026, 11, 1, 5, 0)) == date(2026, 11, 1)  # the second midnight
    assert cal.day_end(date(2026, 11, 1)) - sunday_start == timedelta(hours=25)


ZONES_AND_RESETS = [
    (zone, reset)
    for zone in ("America/Chicago", "America/New_York", "America/Havana")
    for reset in (time(0, 0), time(0, 30), time(2, 30), time(17, 0))
    # Havana's 00:30 falls in a gap that starts at midnight: see the test after this one.
    if (zone, reset) != ("America/Havana", time(0, 30))
]


@pytest.mark.parametrize(("zone", "reset"), ZONES_AND_RESETS)
def test_every_day_is_named_by_the_date_of_its_last_instant(zone: str, reset: time) -> None:
    cal = TradingCalendar(reset, zone)
    tz = ZoneInfo(zone)
    for first in (utc(2026, 3, 5, 0, 0), utc(2026, 10, 29, 0, 0)):
        for step in range(0, 6 * 24 * 4):
            at = first + timedelta(minutes=15 * step)
            day = cal.trading_day(at)
            start, end = cal.bounds(day)
            assert start <= at < end, (at, day)
            assert (end - timedelta(microseconds=1)).astimezone(tz).date() == day, (at, day)
            assert cal.next_reset(at) == end


def test_a_reset_moved_past_midnight_by_a_gap_keeps_its_own_date() -> None:
    # Havana's 00:30 does not exist on 2026-03-08 (00:00 → 01:00): that reset happens at 01:00.
    # Its last instant before is Saturday 23:59:59, but Saturday is already the day that ended
    # at Saturday 00:30; two days cannot share a name, so this one keeps the reset's date.
    cal = TradingCalendar(time(0, 30), "America/Havana")
    assert cal.day_end(date(2026, 3, 7)) == utc(2026, 3, 7, 5, 30)
    assert cal.day_end(date(2026, 3, 8)) == utc(2026, 3, 8, 5, 0)
    assert cal.trading_day(utc(2026, 3, 8, 4, 59, 59)) == date(2026, 3, 8)
    assert cal.trading_day(utc(2026, 3, 8, 5, 0)) == date(2026, 3, 9)


# --- another zone and reset ----------------------------------------------------------------------


def test_new_york_evening_reset_names_the_day_by_its_end_date() -> None:
    cal = TradingCalendar(time(18, 0), "America/New_York")
    # The day that ends at 18:00 EDT on the 19th (22:00 UTC) is named the 19th.
    assert cal.day_end(date(2026, 8, 19)) == utc(2026, 8, 19, 22, 0)
    assert cal.trading_day(utc(2026, 8, 19, 21, 59, 59)) == date(2026, 8, 19)
    assert cal.trading_day(utc(2026, 8, 19, 22, 0)) == date(2026, 8, 20)
    start, end = cal.bounds(date(2026, 3, 8))
    assert end - start == timedelta(hours=23)


def test_zone_key_given_as_zoneinfo_or_string() -> None:
    a = TradingCalendar(time(17, 0), CT)
    b = TradingCalendar(time(17, 0), "America/Chicago")
    at = utc(2026, 8, 17, 21, 59)
    assert a.trading_day(at) == b.trading_day(at) == date(2026, 8, 17)
    assert a.zone.key == b.zone.key == "America/Chicago"


def test_reconfiguring_the_reset_moves_the_trading_day_at_once() -> None:
    calendar = TradingCalendar(time(17, 0), "America/Chicago")
    at = datetime(2026, 8, 19, 21, 30, tzinfo=UTC)  # 16:30 CDT: still Wednesday's day
    assert calendar.trading_day(at) == date(2026, 8, 19)
    calendar.reconfigure(time(16, 0), "America/Chicago")
    assert calendar.trading_day(at) == date(2026, 8, 20)
    assert calendar.next_reset(at) == datetime(2026, 8, 20, 21, 0, tzinfo=UTC)


# --- the engine's modules share the calendar's names -----------------------------------------------


def test_a_midnight_reset_through_the_engine_pnl_lock_and_reset() -> None:
    cfg = config({"daily_realized_loss": {"limit": 300}},
                 general={"timezone": "America/New_York", "reset_time": "00:00"})
    engine, clock, _ = make_engine(cfg)
    monday = date(2026, 8, 17)
    late_monday = datetime(2026, 8, 17, 23, 59, 59, tzinfo=NY)
    clock.set(late_monday)
    engine.handle(trade("-400", fees="0", at=late_monday))
    assert engine.calendar.trading_day(late_monday) == monday
    assert engine.pnl.realized(ACCOUNT, monday) == -400
    lock = lock_of(engine, "RULE-003")
    assert lock is not None and lock.until == datetime(2026, 8, 18, 0, 0, tzinfo=NY)
    clock.set(datetime(2026, 8, 18, 0, 0, tzinfo=NY))
    engine.tick()
    assert lock_of(engine, "RULE-003") is None
    assert engine.pnl.realized(ACCOUNT, engine.calendar.trading_day(clock.now())) == 0
    record = engine.resets.record(ACCOUNT)
    assert record is not None and record.last_reset_day == date(2026, 8, 18)


def test_a_reset_record_written_under_the_old_midnight_naming_runs_no_extra_reset() -> None:
    """Before the SPEC settled it, a 00:00 reset named its day one late. A record on file from
    then names the day again from its end instant, so the next start neither skips nor repeats
    a reset."""
    from core.modules.reset_scheduler import ResetRecord, ResetScheduler

    zone = ZoneInfo("America/New_York")
    calendar = TradingCalendar(time(0, 0), zone)
    monday_end = datetime(2026, 8, 18, 0, 0, tzinfo=zone).astimezone(UTC)  # Tue 00:00
    old = ResetRecord(1, date(2026, 8, 18), monday_end, "00:00", "America/New_York")  # "Tuesday"
    scheduler = ResetScheduler(calendar)
    scheduler.restore([old])
    record = scheduler.record(1)
    assert record is not None and record.last_reset_day == date(2026, 8, 17)  # Monday
    assert scheduler.due(monday_end - timedelta(minutes=1)) == []
    assert scheduler.due(monday_end) == [1]
