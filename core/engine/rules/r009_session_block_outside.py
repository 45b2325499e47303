"""RULE-009: a position outside the allowed trading window → flatten, lock until it reopens.

The window is start–end in its own timezone on the allowed weekdays, closed on holidays; it
may wrap midnight (start after end), in which case it belongs to the day it opens. A symbol
may have its own hours. Clock ticks flatten what is still open when the window ends.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.config.rules import SessionBlockOutside
from core.config.types import WEEKDAYS
from core.domain.events import ClockTick, PositionEvent
from core.domain.trading_day import local_instant
from core.engine.rules.base import Breach, LockRequest, Rule, RuleContext
from core.modules.lockouts import LockKind


class TradingWindow:
    def __init__(self, start: time, end: time, zone: ZoneInfo, days: set[int], holidays: frozenset[date]) -> None:
        self.start, self.end, self.zone = start, end, zone
        self.days, self.holidays = days, holidays

    def _open_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        t, day = local.time(), local.date()
        if self.start < self.end:
            return self._open_day(day) and self.start <= t < self.end
        if t >= self.start:
            return self._open_day(day)
        return t < self.end and self._open_day(day - timedelta(days=1))

    def next_open(self, at: datetime) -> datetime:
        day = at.astimezone(self.zone).date()
        for offset in range(0, 30):
            candidate_day = day + timedelta(days=offset)
            if not self._open_day(candidate_day):
                continue
            opens = local_instant(candidate_day, self.start, self.zone)
            if opens > at:
                return opens
        return at + timedelta(days=1)  # no allowed day within a month: re-check tomorrow


class SessionBlockOutsideRule(Rule[SessionBlockOutside]):
    rule_id = "RULE-009"
    key = "session_block_outside"
    watches = frozenset({PositionEvent, ClockTick})

    def __init__(self, config: SessionBlockOutside) -> None:
        super().__init__(config)
        self._windows: dict[tuple[frozenset[date], str | None], TradingWindow] = {}

    def window(self, ctx: RuleContext, symbol: str | None) -> TradingWindow:
        key = (ctx.holidays, symbol)
        window = self._windows.get(key)
        if window is None:
            cfg = self.config
            holidays = frozenset(cfg.holidays) | (ctx.holidays if cfg.respect_holidays else frozenset())
            days = {WEEKDAYS.index(d) for d in cfg.days}
            override = cfg.symbols.get(symbol) if symbol else None
            start, end = (override.start, override.end) if override else (cfg.start, cfg.end)
            window = TradingWindow(start, end, ZoneInfo(cfg.timezone), days, holidays)
            self._windows[key] = window
        return window

    def _symbol_window(self, ctx: RuleContext, contract_id: str) -> TradingWindow:
        listed = ctx.contracts.matches(contract_id, set(self.config.symbols))
        return self.window(ctx, listed)

    def evaluate(self, ctx: RuleContext, event: PositionEvent | ClockTick) -> list[Breach]:
        if isinstance(event, ClockTick):
            contracts = list(ctx.account.positions)
        else:
            contracts = [event.contract_id] if event.contract_id in ctx.account.positions else []
        windows = {c: self._symbol_window(ctx, c) for c in contracts}
        outside = [c for c, window in windows.items() if not window.contains(ctx.now)]
        if not outside:
            return []
        # Locked until every offending symbol's own window has opened again: a symbol with
        # its own hours must not lock the account until the default window's next day.
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
