"""MOD-005 PnlTracker: net realized P&L per account and trading day, each trade once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.domain.events import TradeEvent
from core.domain.parse import parse_trade
from core.domain.trading_day import TradingCalendar
from core.modules.pnl_tracker import DayPnl, PnlTracker, PnlUpdate
from tests.builders import ACCOUNT, OTHER_ACCOUNT, T0, fixture_json, trade

DAY = date(2026, 8, 19)  # T0's trading day
D = Decimal


def tracker(store: object = None) -> PnlTracker:
    return PnlTracker(TradingCalendar(time(17, 0), "America/Chicago"), store)  # type: ignore[arg-type]


class FakeStore:
    def __init__(self) -> None:
        self.saved: list[tuple[TradeEvent, date, DayPnl, Callable[[], None]]] = []

    def save_trade(
        self, trade: TradeEvent, day: date, totals: DayPnl, then: Callable[[], None]
    ) -> None:
        self.saved.append((trade, day, totals, then))


def test_net_is_pnl_minus_fees() -> None:
    t = tracker()
    t.apply(trade(None, at=T0, fees="0.36"))
    t.apply(trade("-17", at=T0 + timedelta(minutes=1), fees="0.36"))
    t.apply(trade("6.5", at=T0 + timedelta(minutes=2), fees="0.36"))
    assert t.realized(ACCOUNT, DAY) == D("-10.5") - D("1.08")
    totals = t.day_totals(ACCOUNT, DAY)
    assert totals.gross == D("-10.5") and totals.fees == D("1.08") and totals.trade_count == 3


def test_opening_half_turn_still_costs_fees() -> None:
    t = tracker()
    update = t.apply(trade(None, at=T0, fees="0.51"))
    assert update is not None and update.net == D("-0.51") and update.trade_count == 1
    assert t.realized(ACCOUNT, DAY) == D("-0.51")


def test_same_trade_id_counts_once() -> None:
    t = tracker()
    first = trade("-20", at=T0, trade_id=1)
    assert t.apply(first) is not None
    assert t.apply(first) is None
    assert t.apply(replace(first)) is None  # the REST copy of the stream's trade
    assert t.realized(ACCOUNT, DAY) == D("-20.36")
    assert t.day_totals(ACCOUNT, DAY).trade_count == 1
    assert t.seen(1) and not t.seen(2)


def test_voided_trade_counts_zero() -> None:
    t = tracker()
    update = t.apply(trade("-500", at=T0, voided=True))
    assert update is not None and update.net == 0 and update.trade_count == 0
    assert t.realized(ACCOUNT, DAY) == 0


def test_trade_later_voided_is_taken_back_out() -> None:
    t = tracker()
    t.apply(trade("10", at=T0, trade_id=7, fees="1"))
    t.apply(trade("-300", at=T0 + timedelta(seconds=1), trade_id=8, fees="1"))
    assert t.realized(ACCOUNT, DAY) == D("-292")
    update = t.apply(trade("-300", at=T0 + timedelta(seconds=1), trade_id=8, fees="1", voided=True))
    assert update is not None and update.net == D("9") and update.trade_count == 1
    assert t.realized(ACCOUNT, DAY) == D("9")
    # The void delivered again changes nothing.
    assert (
        t.apply(trade("-300", at=T0 + timedelta(seconds=1), trade_id=8, fees="1", voided=True))
        is None
    )
    assert t.realized(ACCOUNT, DAY) == D("9")


def test_corrected_trade_replaces_its_old_amount() -> None:
    t = tracker()
    t.apply(trade("-40", at=T0, trade_id=9, fees="0.36"))
    t.apply(trade("-45", at=T0, trade_id=9, fees="0.36"))
    assert t.realized(ACCOUNT, DAY) == D("-45.36")
    assert t.day_totals(ACCOUNT, DAY).trade_count == 1


def test_trades_split_by_trading_day_and_account() -> None:
    t = tracker()
    reset = datetime(2026, 8, 19, 22, 0, tzinfo=ZoneInfo("UTC"))
    t.apply(trade("-100", at=reset - timedelta(seconds=1), fees="0"))
    t.apply(trade("50", at=reset, fees="0"))
    t.apply(trade("-7", at=T0, fees="0", account_id=OTHER_ACCOUNT))
    assert t.realized(ACCOUNT, date(2026, 8, 19)) == D("-100")
    assert t.realized(ACCOUNT, date(2026, 8, 20)) == D("50")
    assert t.realized(OTHER_ACCOUNT, date(2026, 8, 19)) == D("-7")
    assert t.realized(OTHER_ACCOUNT, date(2026, 8, 20)) == 0


def test_then_runs_only_once_durable() -> None:
    store = FakeStore()
    t = tracker(store)
    updates: list[PnlUpdate] = []
    result = t.apply(trade("-20", at=T0, fees="0.36"), updates.append)
    assert result is not None and updates == []
    [(saved, day, totals, then)] = store.saved
    assert day == DAY and totals.net == D("-20.36") and totals.trade_count == 1
    then()
    assert updates == [result]
    # The totals handed to the store are a snapshot, not the live object.
    t.apply(trade("-1", at=T0, fees="0"))
    assert totals.net == D("-20.36")


def test_duplicate_is_not_written_again() -> None:
    store = FakeStore()
    t = tracker(store)
    tr = trade("1", at=T0)
    t.apply(tr)
    t.apply(tr)
    assert len(store.saved) == 1


# --- the live fixture ----------------------------------------------------------------------------


def expected_by_day(raw: list[dict[str, Any]]) -> dict[date, Decimal]:
    """Independent of the tracker: Chicago wall clock, 17:00 boundary, Decimal arithmetic."""
    chicago = ZoneInfo("America/Chicago")
    out: dict[date, Decimal] = {}
    seen: set[int] = set()
    for row in raw:
        if row["id"] in seen or row.get("voided"):
            continue
        seen.add(row["id"])
        local = datetime.fromisoformat(row["creationTimestamp"]).astimezone(chicago)
        day = local.date() + timedelta(days=1 if local.hour >= 17 else 0)
        pnl = D(str(row["profitAndLoss"])) if row.get("profitAndLoss") is not None else D(0)
        out[day] = out.get(day, D(0)) + pnl - D(str(row["fees"]))
    return out


def test_live_fixture_daily_net_by_trading_day() -> None:
    raw = fixture_json("historical_trades_24h.json")
    expected = expected_by_day(raw)
    assert len(expected) >= 2  # the file really spans several trading days
    t = tracker()
    for row in raw:
        t.apply(parse_trade(row))
    for day, net in expected.items():
        assert t.realized(ACCOUNT, day) == net, day
    assert sum(expected.values()) == sum(t.realized(ACCOUNT, d) for d in expected)
    # Spot check one hand-computed day: the 19th from 14:15 UTC on, 12 round turns.
    assert expected[date(2026, 8, 19)] == D("-52") - D("0.36") * 22 - D("0.51") * 2


def test_live_fixture_replayed_twice_changes_nothing() -> None:
    raw = fixture_json("historical_trades_24h.json")
    t = tracker()
    for row in raw:
        t.apply(parse_trade(row))
    before = {d: t.realized(ACCOUNT, d) for d in expected_by_day(raw)}
    counts = {d: t.day_totals(ACCOUNT, d).trade_count for d in before}
    assert all(t.apply(parse_trade(row)) is None for row in reversed(raw))
    assert {d: t.realized(ACCOUNT, d) for d in before} == before
    assert {d: t.day_totals(ACCOUNT, d).trade_count for d in before} == counts
    assert sum(counts.values()) == len({row["id"] for row in raw})


def test_restore_then_stream_copy_counts_once() -> None:
    raw = fixture_json("historical_trades_24h.json")
    trades = [parse_trade(row) for row in raw]
    t = tracker()
    t.restore(trades)
    expected = expected_by_day(raw)
    assert {d: t.realized(ACCOUNT, d) for d in expected} == expected
    assert all(t.apply(tr) is None for tr in trades)
    assert {d: t.realized(ACCOUNT, d) for d in expected} == expected


# --- pruning -------------------------------------------------------------------------------------


def test_prune_then_redelivered_old_trade_is_not_counted_again() -> None:
    t = tracker()
    old = trade("-100", at=T0 - timedelta(days=3), trade_id=11, fees="0")
    today = trade("-5", at=T0, trade_id=12, fees="0")
    t.apply(old)
    t.apply(today)
    old_day = DAY - timedelta(days=3)
    assert t.realized(ACCOUNT, old_day) == D("-100")
    t.prune(DAY - timedelta(days=1))
    assert t.realized(ACCOUNT, old_day) == 0  # forgotten in memory
    assert not t.seen(11) and t.seen(12)
    assert t.apply(old) is None
    assert t.realized(ACCOUNT, old_day) == 0
    assert t.realized(ACCOUNT, DAY) == D("-5")
    assert t.apply(today) is None


@pytest.mark.parametrize("voided", [False, True])
def test_restore_marks_trades_seen(voided: bool) -> None:
    t = tracker()
    tr = trade("-30", at=T0, fees="0", voided=voided, trade_id=21)
    t.restore([tr, tr])
    assert t.seen(21)
    assert t.realized(ACCOUNT, DAY) == (0 if voided else D("-30"))
    assert t.apply(tr) is None


def test_last_trade_time() -> None:
    t = tracker()
    assert t.last_trade_time(ACCOUNT) is None
    t.apply(trade("1", at=T0))
    t.apply(trade("1", at=T0 - timedelta(hours=1)))
    t.apply(trade("1", at=T0 + timedelta(hours=1), account_id=OTHER_ACCOUNT))
    assert t.last_trade_time(ACCOUNT) == T0


# --- commissions (SPEC: subtracted with fees where a trade carries them) --------------------------


def test_commissions_count_with_fees() -> None:
    t = tracker()
    t.apply(trade("-49", at=T0, fees="0.36", commissions="0.25"))
    assert t.realized(ACCOUNT, DAY) == D("-49.61")
    assert t.day_totals(ACCOUNT, DAY).fees == D("0.61")  # every cost, shown beside gross and net


def test_the_rest_copy_without_commissions_keeps_the_streams_commissions() -> None:
    # Trade/search leaves commissions out: the same trade from REST is the same trade.
    t = tracker()
    streamed = trade("-49", at=T0, fees="0.36", commissions="0.25", trade_id=77)
    assert t.apply(streamed) is not None
    assert t.apply(replace(streamed, commissions=None)) is None
    assert t.realized(ACCOUNT, DAY) == D("-49.61")


def test_commissions_reported_later_are_counted() -> None:
    t = tracker()
    rest_copy = trade("-49", at=T0, fees="0.36", trade_id=78)
    t.apply(rest_copy)
    assert t.realized(ACCOUNT, DAY) == D("-49.36")
    assert t.apply(replace(rest_copy, commissions=D("0.25"))) is not None
    assert t.realized(ACCOUNT, DAY) == D("-49.61")
