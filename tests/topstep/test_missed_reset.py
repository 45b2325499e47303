"""The Maximum Loss Limit floor is recomputed at the end of each trading day from that day's
end balance (reference ``topstep-rules.md``). When the app does not see a day end (stopped, or
asleep, through the 17:00 CT reset), the balance it sees later is another day's: it must not be
taken as the day's end, and until the days missed are read from the trade history the floor
may be below Topstep's, which the dashboard says."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from core.app.snapshot_builder import take_snapshot
from core.domain.clock import ManualClock
from core.domain.events import AccountEvent
from tests.builders import make_engine, open_store
from tests.rules.support import ct
from tests.topstep.test_account_guard import guard_config

COMBINE = 13370001
NAME = "50KTC-V2-645601-13370001"  # a 50K Combine: MLL $2,000


def seen(engine: Any, balance: float) -> None:
    engine.handle(AccountEvent(COMBINE, name=NAME, balance=balance, can_trade=True))


def floor_note(engine: Any) -> str:
    view = take_snapshot(engine, COMBINE, status="protected").topstep
    assert view is not None
    return str(view.mll.floor_behind)


def test_a_reset_seen_on_time_trails_the_floor_and_the_floor_is_up_to_date() -> None:
    engine, clock, _ = make_engine(guard_config(), clock=ManualClock(ct(2026, 8, 18, 16, 0)))
    seen(engine, 50_000.0)
    engine.mll.catch_up(COMBINE, [(date(2026, 8, 17), 50_000.0)], None)  # the history read
    seen(engine, 50_500.0)
    clock.set(ct(2026, 8, 18, 17, 0, 1))
    engine.tick()
    record = engine.mll.record(COMBINE)
    assert (record.eod_day, record.floor) == (date(2026, 8, 18), 48_500.0)
    assert floor_note(engine) == ""


def test_a_reset_missed_while_stopped_is_said_and_not_guessed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    engine, clock, _ = make_engine(guard_config(), clock=ManualClock(ct(2026, 8, 18, 16, 0)),
                                   store=store)
    seen(engine, 50_000.0)
    engine.mll.catch_up(COMBINE, [(date(2026, 8, 17), 50_000.0)], None)
    seen(engine, 50_500.0)
    clock.set(ct(2026, 8, 18, 16, 30))
    engine.tick()
    engine.flush()
    store.close()  # switched off before Tuesday's reset

    store = open_store(tmp_path / "state.db")
    engine, clock, _ = make_engine(guard_config(), clock=ManualClock(ct(2026, 8, 19, 10, 0)),
                                   store=store)
    engine.restore()  # Tuesday's reset runs now, with no balance known
    seen(engine, 50_300.0)  # Wednesday's balance: not Tuesday's end
    clock.advance(1)
    engine.tick()
    record = engine.mll.record(COMBINE)
    assert record.eod_day == date(2026, 8, 17) and record.floor == 48_000.0
    assert floor_note(engine).startswith("a daily reset missed while the app was off")
    store.close()


def test_a_reset_slept_through_takes_no_later_balance_and_waits_for_the_history() -> None:
    engine, clock, _ = make_engine(guard_config(), clock=ManualClock(ct(2026, 8, 18, 16, 0)))
    seen(engine, 50_000.0)
    engine.mll.catch_up(COMBINE, [(date(2026, 8, 17), 50_000.0)], None)
    clock.set(ct(2026, 8, 19, 10, 0))  # asleep from Tuesday 16:00 to Wednesday 10:00
    seen(engine, 51_000.0)  # Wednesday's trading shows in the balance before the tick
    engine.tick()  # Tuesday's reset, 17 hours late
    assert engine.mll.record(COMBINE).eod_day == date(2026, 8, 17)
    clock.set(ct(2026, 8, 19, 17, 0, 1))
    engine.tick()  # Wednesday's, on time: but Tuesday is still missing before it
    assert engine.mll.record(COMBINE).eod_day == date(2026, 8, 17)
    assert floor_note(engine).startswith("2 daily resets missed")
    # The history read gives both days, oldest first: Tuesday's end was the high.
    engine.mll.catch_up(COMBINE, [(date(2026, 8, 17), 50_000.0), (date(2026, 8, 18), 51_400.0),
                                  (date(2026, 8, 19), 51_000.0)], date(2026, 8, 17))
    record = engine.mll.record(COMBINE)
    assert (record.eod_day, record.eod_high, record.floor) == (date(2026, 8, 19), 51_400.0, 49_400.0)
    assert floor_note(engine) == ""
