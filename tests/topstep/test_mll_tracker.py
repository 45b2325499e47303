"""MOD-010: the trailing Maximum Loss Limit floor, against reference/topstep-rules.md."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from core.modules.mll_tracker import MllRecord, MllTracker
from tests.builders import open_store

DAY1 = date(2026, 8, 17)


def fifty_k(tracker: MllTracker, account_id: int = 1) -> MllRecord:
    return tracker.ensure(account_id, "50K-combine", 50_000.0, 2_000.0)


def test_the_worked_example_of_the_reference() -> None:
    t = MllTracker()
    assert fifty_k(t).floor == 48_000  # start 50,000
    assert t.end_of_day(1, DAY1, 50_500).floor == 48_500  # type: ignore[union-attr]  # +$500
    assert t.end_of_day(1, DAY1 + timedelta(days=1), 50_000).floor == 48_500  # type: ignore[union-attr]  # −$500: stays
    day3 = t.end_of_day(1, DAY1 + timedelta(days=2), 52_500)  # +$2,500
    assert day3 is not None and day3.floor == 50_000 and day3.eod_high == 52_500
    # Fixed at the starting balance for good, however high the balance goes.
    assert t.end_of_day(1, DAY1 + timedelta(days=3), 60_000).floor == 50_000  # type: ignore[union-attr]


def test_the_floor_never_moves_down() -> None:
    t = MllTracker()
    fifty_k(t)
    t.end_of_day(1, DAY1, 51_000)
    after = t.end_of_day(1, DAY1 + timedelta(days=1), 47_000)
    assert after is not None and after.floor == 49_000


def test_a_day_is_counted_once() -> None:
    t = MllTracker()
    fifty_k(t)
    t.end_of_day(1, DAY1, 51_000)
    again = t.end_of_day(1, DAY1, 55_000)  # the same day again (a missed reset re-run)
    assert again is not None and again.eod_high == 51_000


def test_seeding_from_history_replays_every_end_of_day() -> None:
    t = MllTracker()
    fifty_k(t)
    seeded = t.seed(1, [(DAY1 + timedelta(days=2), 52_500), (DAY1, 50_500), (DAY1 + timedelta(days=1), 50_000)])
    assert seeded is not None and seeded.floor == 50_000 and seeded.eod_day == DAY1 + timedelta(days=2)


def test_history_read_while_a_reset_took_the_newest_day_in_keeps_that_day_the_latest() -> None:
    t = MllTracker()
    fifty_k(t)
    t.end_of_day(1, DAY1 + timedelta(days=2), 50_200)  # the reset, during the history read
    done = t.catch_up(1, [(DAY1, 51_000), (DAY1 + timedelta(days=1), 50_600)], None)
    assert done is not None and (done.eod_high, done.floor) == (51_000, 49_000)
    assert (done.eod_day, done.eod_balance) == (DAY1 + timedelta(days=2), 50_200)


def test_only_the_days_missed_are_taken_in() -> None:
    t = MllTracker()
    fifty_k(t)
    t.end_of_day(1, DAY1, 50_500)
    # The history read gives DAY1 again (worked out from the trades, cents apart): kept as seen.
    done = t.catch_up(1, [(DAY1, 50_499.5), (DAY1 + timedelta(days=1), 50_800)], DAY1)
    assert done is not None and (done.eod_day, done.eod_high, done.floor) == (
        DAY1 + timedelta(days=1), 50_800, 48_800)


def test_a_corrected_plan_recomputes_the_floor_from_the_highs_seen() -> None:
    t = MllTracker()
    t.ensure(1, "150K-combine", 150_000.0, 4_500.0)
    corrected = fifty_k(t)
    assert (corrected.plan_id, corrected.floor) == ("50K-combine", 48_000)


def test_the_floor_survives_a_restart(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    t = MllTracker(store)
    fifty_k(t)
    t.end_of_day(1, DAY1, 50_500)
    store.flush()
    store.close()
    again = open_store(tmp_path / "state.db")
    restored = MllTracker(again)
    restored.restore(again.load_mll())
    record = restored.record(1)
    assert record is not None and (record.floor, record.eod_balance, record.eod_day) == (48_500, 50_500, DAY1)
    again.close()
