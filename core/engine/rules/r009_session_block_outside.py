"""RULE-009: a position outside the allowed trading window → flatten, lock until it reopens.

The window is start–end in its own timezone, open on the allowed weekdays and closed on
holidays. A window whose end is not after its start wraps midnight and belongs to the day on
which it *ends*: 17:00–16:00 Monday to Friday is the Globex week, Sunday 17:00 → Friday 16:00,
so Sunday evening is Monday's session, and a holiday Monday closes it too. A symbol may have its
own hours and days (its days default to the table's). Clock ticks flatten what is still open
when the window ends.

With hours of its own for some symbols, a contract whose symbol is still being looked up is
left for the moment its symbol is known (the id's root is not the symbol: ``CON.F.US.EP.U26``
is ES); one the gateway does not know has the table's own hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.config.rules import SessionBlockOutside
from core.config.types import WEEKDAYS
from core.domain.events import ClockTick, PositionEvent, Recheck
from core.domain.trading_day import local_instant
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.contracts import PENDING
from core.modules.lockouts import LockKind

# Far enough to pass any run of holidays and a single allowed weekday.
SEARCH_DAYS = 60


class TradingWindow:
    """One window's hours in its zone, as instants per session.

    17:00 is 17:00 on the local clock in summer and in winter. An opening or closing time that
    falls in the spring-forward gap happens at the gap's end; one in the repeated fall-back hour
    at its first occurrence (as the daily reset does), so the repeated hour never reopens a
    window that has closed, nor closes one that has opened.
    """

    __slots__ = ("start", "end", "zone", "days", "holidays", "wraps", "_sessions")

    def __init__(
        self, start: time, end: time, zone: ZoneInfo, days: frozenset[int], holidays: frozenset[date]
    ) -> None:
        self.start, self.end, self.zone = start, end, zone
        self.days, self.holidays = days, holidays
        self.wraps = not start < end  # equal times are refused by the config
        self._sessions: dict[date, tuple[datetime, datetime]] = {}

    def session_open(self, day: date) -> bool:
        """Whether the session belonging to ``day`` (the day it ends) trades at all."""
        return day.weekday() in self.days and day not in self.holidays

    def session(self, day: date) -> tuple[datetime, datetime]:
        """When the session belonging to ``day`` opens (the evening before, if it wraps) and
        closes."""
        bounds = self._sessions.get(day)
        if bounds is None:
            opens_on = day - timedelta(days=1) if self.wraps else day
            bounds = (
                local_instant(opens_on, self.start, self.zone),
                local_instant(day, self.end, self.zone),
            )
            if len(self._sessions) > 400:  # a long-running app: keep about a year
                self._sessions.clear()
            self._sessions[day] = bounds
        return bounds

    def contains(self, at: datetime) -> bool:
        today = at.astimezone(self.zone).date()
        # Today's session, or (wrapping) tomorrow's, which opened this evening.
        for day in (today, today + timedelta(days=1)):
            if self.session_open(day):
                opens, closes = self.session(day)
                if opens <= at < closes:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """The first opening strictly after ``at``."""
        first = at.astimezone(self.zone).date()
        for offset in range(SEARCH_DAYS):
            day = first + timedelta(days=offset)
            if self.session_open(day) and (opens := self.session(day)[0]) > at:
                return opens
        return at + timedelta(days=1)  # no session within the search: re-checked tomorrow


class SessionBlockOutsideRule(Rule[SessionBlockOutside]):
    rule_id = "RULE-009"
    key = "session_block_outside"
    watches = frozenset({PositionEvent, ClockTick, Recheck})

    def __init__(self, config: SessionBlockOutside) -> None:
        super().__init__(config)
        self._windows: dict[tuple[frozenset[date], str | None], TradingWindow] = {}
        self._listed = frozenset(config.symbols)

    def window(self, ctx: RuleContext, symbol: str | None) -> TradingWindow:
        """The window for a configured symbol root (None: the table's own hours)."""
        key = (ctx.holidays, symbol)
        window = self._windows.get(key)
        if window is None:
            cfg = self.config
            holidays = frozenset(cfg.holidays) | (ctx.holidays if cfg.respect_holidays else frozenset())
            override = cfg.symbols.get(symbol) if symbol else None
            start, end = (override.start, override.end) if override else (cfg.start, cfg.end)
            days = override.days if override and override.days is not None else cfg.days
            weekdays = frozenset(WEEKDAYS.index(d) for d in days)
            window = TradingWindow(start, end, ZoneInfo(cfg.timezone), weekdays, holidays)
            self._windows[key] = window
        return window

    def _symbol_window(self, ctx: RuleContext, contract_id: str) -> TradingWindow | None:
        """The contract's window; None while its symbol, which picks the window, is looked up."""
        if not self._listed:
            return self.window(ctx, None)
        listed = ctx.contracts.listed(contract_id, self._listed)
        if listed is PENDING:
            return None
        return self.window(ctx, listed if isinstance(listed, str) else None)

    def evaluate(self, ctx: RuleContext, event: PositionEvent | ClockTick | Recheck) -> list[Breach]:
        if isinstance(event, ClockTick | Recheck):
            contracts = list(ctx.account.positions)
        else:
            contracts = [event.contract_id] if event.contract_id in ctx.account.positions else []
        windows = {c: w for c in contracts if (w := self._symbol_window(ctx, c)) is not None}
        outside = [c for c, window in windows.items() if not window.contains(ctx.now)]
        if not outside:
            return []
        # Each symbol waits for its own window; the lock lasts until every offending symbol's
        # window has opened again, so none of them can be traded while still outside it.
        opens = max(windows[c].next_open(ctx.now) for c in outside)
        symbols = ", ".join(sorted({ctx.symbol(c) for c in outside}))
        local_open = opens.astimezone(ZoneInfo(self.config.timezone))
        reason = (
            f"{symbols} position outside trading hours; "
            f"locked until {local_open:%a %H:%M} {self.config.timezone}"
        )
        return [
            self.breach(
                ctx, reason, self.flatten(ctx, reason), lock=LockRequest(LockKind.HARD, opens)
            )
        ]
