"""TradingCalendar: the trading day runs reset to reset and is named by the date it ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.domain.trading_day import TradingCalendar, local_instant

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


# --- a reset time inside the DST gap --------------------------------------------------------------


def test_local_instant_in_gap_lands_after_the_gap() -> None:
    instant = local_instant(date(2026, 3, 8), time(2, 30), CT)
    gap_end = utc(2026, 3, 8, 8, 0)  # 03:00 CDT
    assert instant >= gap_end
    assert instant - gap_end < timedelta(hours=1)
    local = instant.astimezone(CT)
    assert local.date() == date(2026, 3, 8) and local.hour == 3


def test_reset_time_in_gap_does_not_crash() -> None:
    cal = TradingCalendar(time(2, 30), CT)
    end = cal.day_end(date(2026, 3, 8))
    assert end >= utc(2026, 3, 8, 8, 0)
    start, _ = cal.bounds(date(2026, 3, 8))
    assert start == utc(2026, 3, 7, 8, 30)  # 02:30 CST the day before
    # Times on either side of the moved reset are named consistently with its instant.
    assert cal.trading_day(end - timedelta(seconds=1)) == date(2026, 3, 8)
    assert cal.trading_day(end) == date(2026, 3, 9)
    assert cal.trading_day(utc(2026, 3, 8, 8, 15)) == date(2026, 3, 8)  # 03:15 CDT
    assert cal.next_reset(utc(2026, 3, 8, 7, 0)) == end
    for step in range(0, 48 * 4):
        at = utc(2026, 3, 7, 0, 0) + timedelta(minutes=15 * step)
        start, end_ = cal.bounds(cal.trading_day(at))
        assert start <= at < end_


# --- another zone and reset ----------------------------------------------------------------------


def test_new_york_midnight_reset() -> None:
    cal = TradingCalendar(time(0, 0), "America/New_York")
    assert cal.zone == NY
    # The day that ends at midnight EDT on the 19th (04:00 UTC) is named the 19th.
    assert cal.day_end(date(2026, 8, 19)) == utc(2026, 8, 19, 4, 0)
    assert cal.trading_day(utc(2026, 8, 19, 3, 59, 59)) == date(2026, 8, 19)
    assert cal.trading_day(utc(2026, 8, 19, 4, 0)) == date(2026, 8, 20)
    assert cal.next_reset(utc(2026, 8, 19, 3, 0)) == utc(2026, 8, 19, 4, 0)
    # Winter: midnight EST is 05:00 UTC.
    assert cal.day_end(date(2026, 12, 1)) == utc(2026, 12, 1, 5, 0)
    # New York changed clocks on the same Sundays as Chicago.
    start, end = cal.bounds(date(2026, 3, 9))
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
