"""Small painted widgets for the dashboard: the day's realized P&L curve and a limit's usage bar.

PySide6-Essentials has no QtCharts, so both are drawn with QPainter. They only paint what they
were last given: no timers, no clock, nothing that could stall the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.tray import signed_money

# The popups' colours, so "amber" and "red" mean the same thing in every window.
GREEN, AMBER, RED = "#2e9d4a", "#f0a020", "#d3302f"
WARN_AT, BREACH_AT = 0.8, 1.0  # the tray's warning threshold; a bar at 100 % is the breach

Series = Sequence[tuple[datetime, float]]


def usage_colour(fraction: float) -> str:
    if fraction >= BREACH_AT:
        return RED
    if fraction >= WARN_AT:
        return AMBER
    return GREEN


class LimitBar(QWidget):
    """How much of one limit is used: the fill is capped at 100 %, the percentage is not."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fraction = 0.0
        self.setMinimumSize(120, 18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(220, 20)

    @property
    def fraction(self) -> float:
        return self._fraction

    @property
    def colour(self) -> QColor:
        return QColor(usage_colour(self._fraction))

    @property
    def percent_text(self) -> str:
        return f"{self._fraction * 100:.0f}%"

    def set_fraction(self, fraction: float) -> None:
        fraction = max(0.0, fraction)
        if fraction != self._fraction:
            self._fraction = fraction
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
    """Cumulative net realized P&L over the day: a step line, a zero line, the last value labelled.

    Steps rather than slopes: realized P&L only moves when a trade closes, and a straight line
    between two trades would show P&L that was never booked.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: tuple[tuple[datetime, float], ...] = ()
        self._end: datetime | None = None
        self.setMinimumSize(240, 110)
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
        return "No closed trades yet today" if last is None else signed_money(last)

    def set_series(self, series: Series, end: datetime | None = None) -> bool:
        """``end`` (the snapshot's time) stretches the last level to "now". True if it changed."""
        points = tuple(series)
        if points == self._series and end == self._end:
            return False
        self._series, self._end = points, end
        self.update()
        return True

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        if not self._series:
            painter.setPen(text_colour)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.label_text)
            painter.end()
            return
        label = self.label_text
        metrics = painter.fontMetrics()
        # Room on the right for the last value's label, so it never covers the line.
        plot = QRectF(self.rect()).adjusted(8, 8, -(metrics.horizontalAdvance(label) + 16), -8)
        values = [value for _, value in self._series]
        low, high = min(0.0, *values), max(0.0, *values)
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        start = self._series[0][0]
        end = max(self._end or self._series[-1][0], self._series[-1][0])
        span = max((end - start).total_seconds(), 1.0)

        def x(at: datetime) -> float:
            return plot.left() + plot.width() * (at - start).total_seconds() / span

        def y(value: float) -> float:
            return plot.bottom() - plot.height() * (value - low) / (high - low)

        zero = QPen(QColor(128, 128, 128), 1, Qt.PenStyle.DashLine)
        painter.setPen(zero)
        painter.drawLine(QPointF(plot.left(), y(0.0)), QPointF(plot.right(), y(0.0)))

        path = QPainterPath(QPointF(x(start), y(0.0)))  # the day starts flat
        level = 0.0
        for at, value in self._series:
            path.lineTo(x(at), y(level))
            path.lineTo(x(at), y(value))
            level = value
        path.lineTo(x(end), y(level))
        colour = QColor(GREEN if level >= 0 else RED)
        painter.setPen(QPen(colour, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(x(end), y(level)), 3, 3)

        painter.setPen(text_colour)
        height = metrics.height()
        top = min(max(y(level) - height / 2, 0.0), self.height() - height)
        painter.drawText(QRectF(plot.right() + 8, top, self.width() - plot.right() - 8, height),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), label)
        painter.end()
