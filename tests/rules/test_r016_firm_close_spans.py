"""RULE-016 reads "is the firm closed now?" from the span it last worked out: the answer must be
the same as working it out afresh at every instant, in any order of instants, across weekends,
both DST changes and an early product close."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.config.rules import FirmClose
from core.engine.rules.r016_firm_close import FirmCloseRule

START = datetime(2026, 3, 1, tzinfo=UTC)  # spans the March and November DST changes
YEAR_SECONDS = 366 * 24 * 3600
instants = st.integers(0, YEAR_SECONDS).map(lambda s: START + timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(st.lists(instants, min_size=1, max_size=40),
       st.sampled_from([time(15, 10), time(13, 20)]),
       st.sampled_from([0.0, 2.0, 2.5]))
def test_the_remembered_answer_is_the_answer_afresh(moments: list[datetime], close: time,
                                                     lead: float) -> None:
    rule = FirmCloseRule(FirmClose(enabled=True, flatten_minutes_before=lead))
    for now in moments:
        assert rule.closed(now, close) == rule._closed(now, close), now


def test_minute_by_minute_across_the_dst_weeks_matches() -> None:
    rule = FirmCloseRule(FirmClose(enabled=True))
    close = rule.config.close
    for week_start in (datetime(2027, 3, 12, tzinfo=UTC), datetime(2026, 10, 30, tzinfo=UTC)):
        for minute in range(0, 5 * 24 * 60, 1):
            now = week_start + timedelta(minutes=minute, seconds=30)
            assert rule.closed(now, close) == rule._closed(now, close), now
