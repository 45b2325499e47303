"""One call from input to report: replay each candidate rule set, then compare them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from core.config.models import AppConfig
from core.domain.trading_day import TradingCalendar
from core.replay.driver import Replayer
from core.replay.inputs import ReplayInput
from core.replay.report import ReplayReport
from core.replay.summary import ReportBuilder


@dataclass(frozen=True)
class Candidate:
    name: str  # how the report calls it: the config file's name
    config: AppConfig


def replay_report(
    data: ReplayInput,
    candidates: Sequence[Candidate],
    *,
    first_day: date,
    last_day: date,
    slippage_ticks: int = 1,
    holidays: frozenset[date] = frozenset(),
) -> ReplayReport:
    """Days are named by the first candidate's trading-day clock (its reset and timezone)."""
    if not candidates:
        raise ValueError("a replay needs at least one candidate rule set")
    runs = [
        Replayer(data, c.config, name=c.name, slippage_ticks=slippage_ticks, holidays=holidays).run()
        for c in candidates
    ]
    general = candidates[0].config.general
    calendar = TradingCalendar(general.reset_time, general.timezone)
    clocks = {(c.config.general.reset_time, c.config.general.timezone) for c in candidates}
    enabled = [
        [key for key in type(c.config.rules).model_fields if getattr(c.config.rules, key).enabled]
        for c in candidates
    ]
    report = ReportBuilder(data, calendar, first_day, last_day, slippage_ticks, enabled).build(runs)
    if len(clocks) > 1:
        # Each candidate's own limits reset on its own clock; the table's days are the first's.
        note = (f"The candidates' trading days differ; the days shown are {candidates[0].name}'s "
                f"({report.day_rule}); each candidate's daily limits reset on its own clock.")
        report = replace(report, assumptions=(*report.assumptions, note))
    return report
