"""Small painted widgets for the dashboard: the day's realized P&L curve and a limit's usage bar.

PySide6-Essentials has no QtCharts, so both are drawn with QPainter. They only paint what they
were last given: no timers, no clock, nothing that could stall the event loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.app.snapshot import BREACH, OK, WARNING, LimitUsage

# The popups' colours, so "amber" and "red" mean the same thing in every window.
GREEN, AMBER, RED, GREY_LINE = "#2e9d4a", "#f0a020", "#d3302f", "#8a8f98"
LEVEL_COLOURS = {OK: GREEN, WARNING: AMBER, BREACH: RED}
# The smallest dollar range the chart shows: a -$1 trade must not look like a cliff.
MIN_SPAN = 100.0

Series = Sequence[tuple[datetime, float]]


def level_colour(level: str) -> str:
    return LEVEL_COLOURS.get(level, GREEN)


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10^n) giving about ``ticks`` gridlines over ``span``."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def axis_money(value: float) -> str:
    """Axis labels: "-$250", "$0", "+$1.2k"."""
    amount = abs(value)
    if amount >= 1000:
        text = "$" + f"{amount / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    else:
        text = f"${amount:,.0f}"
    if value < 0:
        return "-" + text
    return ("+" + text) if value > 0 else "$0"


class LimitBar(QWidget):
    """How much of one limit is used: the fill is capped at 100 %, the percentage is not.

    Coloured by the limit's own level: green, amber from its first warning (and at a limit
    that is still allowed, such as 5 of 5 contracts), red once the rule acts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fraction = 0.0
        self._level = OK
        self.setMinimumSize(100, 18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(200, 20)

    @property
    def fraction(self) -> float:
        return self._fraction

    @property
    def level(self) -> str:
        return self._level

    @property
    def colour(self) -> QColor:
        return QColor(level_colour(self._level))

    @property
    def percent_text(self) -> str:
        return f"{self._fraction * 100:.0f}%"

    def set_usage(self, usage: LimitUsage) -> None:
        fraction, level = max(0.0, usage.fraction), usage.level
        if (fraction, level) != (self._fraction, self._level):
            self._fraction, self._level = fraction, level
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(128, 128, 128, 60))  # a track that reads on light and dark themes
        painter.drawRoundedRect(rect, 4, 4)
        filled = rect.width() * min(1.0, self._fraction)
        if filled > 0:
            painter.setBrush(self.colour)
            painter.drawRoundedRect(QRectF(rect.x(), rect.y(), filled, rect.height()), 4, 4)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.percent_text)
        painter.end()


class PnlChart(QWidget):
    """Cumulative net realized P&L over the trading day: a step line on a time axis and a
    dollar axis, with the zero line, the daily loss limit and the profit target drawn in.

    Steps rather than slopes: realized P&L only moves when a trade closes, and a straight line
    between two trades would show P&L that was never booked. The dollar range always holds
    zero, the limits in force and at least ``MIN_SPAN``, so a small loss stays small.
    """

    def __init__(self, zone: ZoneInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone or ZoneInfo("America/Chicago")
        self._series: tuple[tuple[datetime, float], ...] = ()
        self._end: datetime | None = None
        self._start: datetime | None = None
        self._loss_limit: float | None = None
        self._profit_target: float | None = None
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def series(self) -> tuple[tuple[datetime, float], ...]:
        return self._series

    @property
    def last_value(self) -> float | None:
        return self._series[-1][1] if self._series else None

    @property
    def label_text(self) -> str:
        last = self.last_value
        if last is None:
            return "No closed trades yet today"
        if abs(last) < 0.005:
            return "$0.00"
        return f"{'-' if last < 0 else '+'}${abs(last):,.2f}"

    def value_range(self) -> tuple[float, float]:
        """(low, high) in dollars: zero, the series, the limits in force, at least MIN_SPAN."""
        values = [0.0, *(v for _, v in self._series)]
        if self._loss_limit is not None:
            values.append(-self._loss_limit)
        if self._profit_target is not None:
            values.append(self._profit_target)
        low, high = min(values), max(values)
        if high - low < MIN_SPAN:
            pad = (MIN_SPAN - (high - low)) / 2
            low, high = low - pad, high + pad
            if low > 0 or high < 0:  # keep zero in view
                low, high = min(low, 0.0), max(high, 0.0)
        margin = (high - low) * 0.08
        return low - margin, high + margin

    def set_series(
        self,
        series: Series,
        end: datetime | None = None,
        *,
        start: datetime | None = None,
        loss_limit: float | None = None,
        profit_target: float | None = None,
    ) -> bool:
        """``end`` (the snapshot's time) stretches the last level to "now"; ``start`` is when the
        trading day began (the time axis starts there). True if anything changed."""
        points = tuple(series)
        state = (points, end, start, loss_limit, profit_target)
        if state == (self._series, self._end, self._start, self._loss_limit, self._profit_target):
            return False
        self._series, self._end, self._start = points, end, start
        self._loss_limit, self._profit_target = loss_limit, profit_target
        self.update()
        return True

    def _time_range(self) -> tuple[datetime, datetime] | None:
        first = self._series[0][0] if self._series else None
        start = self._start or first or self._end
        end = self._end or (self._series[-1][0] if self._series else None)
        if start is None or end is None:
            return None
        if self._series:
            end = max(end, self._series[-1][0])
            start = min(start, self._series[0][0])
        if (end - start).total_seconds() < 600:
            end = start + timedelta(minutes=10)
        return start, end

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        metrics = painter.fontMetrics()
        times = self._time_range()
        low, high = self.value_range()
        left_room = max(metrics.horizontalAdvance(axis_money(v)) for v in (low, high, 0.0)) + 10
        plot = QRectF(self.rect()).adjusted(left_room, 8, -12, -(metrics.height() + 8))

        def y(value: float) -> float:
            return plot.bottom() - plot.height() * (value - low) / (high - low)

        # Dollar axis: round gridlines, labelled on the left.
        grid = QPen(QColor(128, 128, 128, 50), 1)
        step = nice_step(high - low)
        tick = math.ceil(low / step) * step
        while tick <= high:
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y(tick)), QPointF(plot.right(), y(tick)))
            painter.setPen(text_colour)
            painter.drawText(QRectF(0, y(tick) - metrics.height() / 2, left_room - 6, metrics.height()),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                             axis_money(tick))
            tick += step
        painter.setPen(QPen(QColor(128, 128, 128), 1))
        painter.drawLine(plot.bottomLeft(), plot.topLeft())
        painter.drawLine(QPointF(plot.left(), y(0.0)), QPointF(plot.right(), y(0.0)))  # zero

        self._limit_line(painter, plot, y, self._loss_limit, -1, RED, "loss limit")
        self._limit_line(painter, plot, y, self._profit_target, +1, GREEN, "profit target")

        if times is None:
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.label_text)
            painter.end()
            return
        start, end = times
        span = max((end - start).total_seconds(), 1.0)

        def x(at: datetime) -> float:
            return plot.left() + plot.width() * (at - start).total_seconds() / span

        self._time_axis(painter, plot, start, end, x, text_colour)
        if not self._series:
            painter.setPen(text_colour)
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.label_text)
            painter.end()
            return
        path = QPainterPath(QPointF(x(self._series[0][0]), y(0.0)))  # the day starts flat
        level = 0.0
        for at, value in self._series:
            path.lineTo(x(at), y(level))
            path.lineTo(x(at), y(value))
            level = value
        now = self._end or self._series[-1][0]
        path.lineTo(x(max(now, self._series[-1][0])), y(level))
        colour = QColor(GREEN if level >= 0 else RED)
        painter.setPen(QPen(colour, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        last_x = x(max(now, self._series[-1][0]))
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(last_x, y(level)), 3, 3)
        label = self.label_text
        width = metrics.horizontalAdvance(label) + 8
        label_x = min(last_x + 6, plot.right() - width)
        label_y = y(level) - metrics.height() - 4 if level >= 0 else y(level) + 4
        label_y = min(max(label_y, plot.top()), plot.bottom() - metrics.height())
        painter.setPen(text_colour)
        painter.drawText(QRectF(label_x, label_y, width, metrics.height()),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), label)
        painter.end()

    def _limit_line(self, painter: QPainter, plot: QRectF, y: Callable[[float], float],
                    amount: float | None, sign: int, colour: str, words: str) -> None:
        if amount is None:
            return
        level = y(sign * amount)
        painter.setPen(QPen(QColor(colour), 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(plot.left(), level), QPointF(plot.right(), level))
        metrics = painter.fontMetrics()
        text = f"{words} {axis_money(sign * amount)}"
        top = level + 2 if sign < 0 else level - metrics.height() - 2
        top = min(max(top, plot.top()), plot.bottom() - metrics.height())
        painter.drawText(QRectF(plot.left() + 4, top, plot.width() - 8, metrics.height()),
                         int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)

    def _time_axis(self, painter: QPainter, plot: QRectF, start: datetime, end: datetime,
                   x: Callable[[datetime], float], colour: QColor) -> None:
        """Hour marks (or every 2, 3, 6 hours on a long day) in the trading day's time zone."""
        metrics = painter.fontMetrics()
        painter.setPen(QPen(QColor(128, 128, 128), 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        hours = (end - start).total_seconds() / 3600
        label_width = metrics.horizontalAdvance("00:00") + 12
        fits = max(1, int(plot.width() // label_width))
        every = next((h for h in (1, 2, 3, 4, 6, 12) if hours / h <= fits), 24)
        minutes = None
        if hours < 2:  # a short span: quarter hours
            every, minutes = 0, 15 if hours >= 0.5 else 5
        local = start.astimezone(self._zone)
        if minutes:
            mark = local.replace(minute=(local.minute // minutes) * minutes, second=0, microsecond=0)
            delta = timedelta(minutes=minutes)
        else:
            mark = local.replace(minute=0, second=0, microsecond=0)
            delta = timedelta(hours=1)
        count = 0
        while mark <= end and count < 200:
            count += 1
            if mark >= start and (minutes or mark.hour % every == 0):
                px = x(mark)
                painter.setPen(QPen(QColor(128, 128, 128), 1))
                painter.drawLine(QPointF(px, plot.bottom()), QPointF(px, plot.bottom() + 3))
                painter.setPen(colour)
                painter.drawText(QRectF(px - label_width / 2, plot.bottom() + 4, label_width,
                                        metrics.height()), Qt.AlignmentFlag.AlignCenter,
                                 f"{mark:%H:%M}")
            mark = (mark.astimezone(start.tzinfo) + delta).astimezone(self._zone)
