"""The Topstep account box on an account's dashboard tab: the distance to the Maximum Loss Limit
as the largest number on the tab, its gauge, the plan (numbers Topstep has not confirmed marked),
the size cap now and why, the time left to the firm's close and the consistency share."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from core.app.snapshot import BREACH, TopstepView
from core.app.words import local_time
from core.domain.words import duration, money
from gui.mll_gauge import MllGauge
from gui.pnl_chart import AMBER, RED, level_colour
from gui.tables import GREY

UNCONFIRMED = "unconfirmed"


def _label(rich: bool = False) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _set(label: QLabel, text: str, style: str = "") -> None:
    if label.text() != text:
        label.setText(text)
    if label.styleSheet() != style:
        label.setStyleSheet(style)
    label.setVisible(bool(text))


def distance_text(view: TopstepView) -> str:
    """The headline number: "$480.00 above the Maximum Loss Limit", or why it cannot be said."""
    mll = view.mll
    distance = mll.distance
    if distance is None:
        return f"Distance to the Maximum Loss Limit: {mll.unknown}"
    if distance <= 0:
        return f"{money(-distance)} BELOW the Maximum Loss Limit floor"
    return f"{money(distance)} above the Maximum Loss Limit"


def equity_text(view: TopstepView) -> str:
    mll = view.mll
    floor = f"floor {money(mll.floor)}" + (
        " (typed in from your Topstep dashboard)" if mll.floor_typed_in
        else f" ({mll.floor_behind})" if mll.floor_behind
        else " (end-of-day balance high − MLL)")
    if mll.balance is None:
        equity = "Equity: no balance from the gateway yet"
    elif mll.open_pnl is None:
        equity = f"Balance {money(mll.balance)}; open P&L: {mll.unknown}"
    else:
        equity = (f"Equity {money(mll.balance + mll.open_pnl)} = balance {money(mll.balance)} "
                  f"+ open P&L {money(mll.open_pnl)}")
    guard = (f"the guard flattens and locks at {money(mll.buffer)} from the floor"
             if mll.buffer is not None else "the Maximum Loss Limit guard is off for this account")
    return f"{equity} · {floor} · {guard}"


def plan_html(view: TopstepView) -> str:
    """The plan's numbers; one Topstep has not confirmed is marked so, in amber."""
    parts = []
    for fact in view.facts:
        text = f"{html.escape(fact.label)} {html.escape(fact.value)}"
        if fact.unconfirmed:
            text += f' <i style="color:{AMBER}">({UNCONFIRMED})</i>'
        parts.append(text)
    return "Plan: " + " · ".join(parts)


def close_text(view: TopstepView, now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(text, colour) for the firm's close: time left to the flatten, or closed until when."""
    close = view.firm_close
    if close is None:
        return "", ""
    if close.flatten_at is None:
        until = local_time(close.closed_until, zone, with_day=True) if close.closed_until else "the next session"
        return f"Firm closed: no new entries until {until}", AMBER
    left = (close.flatten_at - now).total_seconds()
    at = local_time(close.flatten_at, zone, now=now)
    colour = AMBER if left <= 15 * 60 else ""
    return f"Flat by {at} (firm close {close.close}): {duration(left)} left", colour


class TopstepPanel(QGroupBox):
    """``show_view`` draws a :class:`TopstepView`; ``tick`` moves the firm-close countdown."""

    def __init__(self, zone: ZoneInfo, parent: QWidget | None = None) -> None:
        super().__init__("Topstep account", parent)
        self.setObjectName("topstep")
        self._zone = zone
        self._view: TopstepView | None = None
        self.distance_label = _label()
        self.distance_label.setObjectName("mll-distance")
        self.gauge = MllGauge()
        self.equity_label = _label()
        self.plan_label = _label(rich=True)
        self.cap_label = _label()
        self.close_label = _label()
        self.consistency_label = _label()
        layout = QVBoxLayout(self)
        for widget in (self.distance_label, self.gauge, self.equity_label, self.plan_label,
                       self.cap_label, self.close_label, self.consistency_label):
            layout.addWidget(widget)

    @property
    def view(self) -> TopstepView | None:
        return self._view

    def show_view(self, view: TopstepView, now: datetime) -> None:
        self._view = view
        kind = f"{view.plan} ({view.plan_source})" if view.plan else "floor typed in, no plan"
        title = f"Topstep account: {kind}"
        if self.title() != title:
            self.setTitle(title)
        mll = view.mll
        colour = GREY if mll.distance is None else level_colour(mll.level)
        size = 26 if mll.distance is not None else 17
        weight = "bold" if mll.distance is not None else "normal"
        _set(self.distance_label, distance_text(view),
             f"color: {colour}; font-size: {size}px; font-weight: {weight};")
        self.gauge.set_mll(mll)
        self.gauge.setToolTip(distance_text(view))
        _set(self.equity_label, equity_text(view), f"color: {RED};" if mll.level == BREACH
             else f"color: {AMBER};" if mll.floor_behind else "")
        _set(self.plan_label, plan_html(view) if view.facts else "")
        if view.plan_source == "from the account name" and view.facts:
            self.plan_label.setToolTip("Read from the account name; pick or correct it in "
                                       "Settings (the account picker at the top).")
        cap = view.cap
        if cap is not None:
            held = f"{cap.held_lots:g} lot{'s' if cap.held_lots != 1 else ''} held"
            unconfirmed = f" ({UNCONFIRMED})" if cap.unconfirmed else ""
            over = cap.held_lots > cap.cap
            _set(self.cap_label, f"Size cap now: {cap.cap} lots, {cap.why}{unconfirmed} · {held}",
                 f"color: {RED};" if over else "")
        else:
            _set(self.cap_label, "")
        self._render_consistency(view)
        self.tick(now)

    def _render_consistency(self, view: TopstepView) -> None:
        c = view.consistency
        if c is None:
            _set(self.consistency_label, "")
            return
        limit = (f"; you are warned above {c.threshold:.0%}" if c.threshold > 0
                 else "; no warning set")
        if c.share is None or c.best_day is None:
            _set(self.consistency_label, f"Consistency (best day's share of the profit): {c.note}",
                 f"color: {GREY};")
            return
        text = (f"Consistency: the best day ({c.best_day:%a %d %b}, {money(c.best)}) is "
                f"{c.share:.0%} of the {money(c.total)} profit, {c.note}{limit}")
        if c.warned:
            text = "Warning: " + text
        _set(self.consistency_label, text,
             f"color: {AMBER}; font-weight: bold;" if c.warned else "")

    def tick(self, now: datetime) -> None:
        if self._view is None:
            return
        text, colour = close_text(self._view, now, self._zone)
        _set(self.close_label, text, f"color: {colour};" if colour else "")

