"""The "What if…" window's equity chart: the actual curve and each candidate's on one chart.

Painted with QPainter (PySide6-Essentials has no QtCharts). Steps, not slopes: realized P&L
only moves when a trade closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.domain.words import money

ACTUAL_COLOUR = "#7a7a7a"
COLOURS = ("#1f6fb4", "#d3302f", "#2e9d4a", "#8e44ad")  # as in the HTML report

Curve = Sequence[tuple[datetime, Decimal]]


class EquityChart(QWidget):
    def __init__(self, parent: QWidget | None = None, zone: str = "America/Chicago") -> None:
        super().__init__(parent)
        self._zone = ZoneInfo(zone)
        self._curves: list[tuple[str, str, tuple[tuple[datetime, float], ...]]] = []
        self.setMinimumSize(320, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(900, 320)

    @property
    def labels(self) -> list[str]:
        return [label for label, _, _ in self._curves]

    def set_curves(self, actual: Curve, candidates: Sequence[tuple[str, Curve]]) -> None:
        curves = [("Actual", ACTUAL_COLOUR, actual)]
        curves += [(f"With {name}", COLOURS[i % len(COLOURS)], curve)
                   for i, (name, curve) in enumerate(candidates)]
        self._curves = [(label, colour, tuple((at, float(v)) for at, v in curve))
                        for label, colour, curve in curves]
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        points = [p for _, _, curve in self._curves for p in curve]
        if not points:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No realized P&L to draw")
            painter.end()
            return
        metrics = painter.fontMetrics()
        low = min(0.0, *(v for _, v in points))
        high = max(0.0, *(v for _, v in points))
        if high - low < 1e-9:
            low, high = low - 1.0, high + 1.0
        axis = max(metrics.horizontalAdvance(money(low)), metrics.horizontalAdvance(money(high))) + 12
        legend = metrics.height() + 10
        plot = QRectF(self.rect()).adjusted(axis, 8, -10, -legend - 6)
        start = min(at for at, _ in points)
        end = max(at for at, _ in points)
        span = max((end - start).total_seconds(), 1.0)

        def x(at: datetime) -> float:
            return plot.left() + plot.width() * (at - start).total_seconds() / span

        def y(value: float) -> float:
            return plot.bottom() - plot.height() * (value - low) / (high - low)

        painter.setPen(QPen(QColor(128, 128, 128), 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(plot.left(), y(0.0)), QPointF(plot.right(), y(0.0)))
        painter.setPen(text)
        for value in (high, low):
            painter.drawText(QRectF(0, y(value) - metrics.height() / 2, axis - 6, metrics.height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, money(value))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for _, colour, curve in self._curves:
            path = QPainterPath(QPointF(x(start), y(0.0)))
            level = 0.0
            for at, value in curve:
                path.lineTo(x(at), y(level))
                path.lineTo(x(at), y(value))
                level = value
            path.lineTo(x(end), y(level))
            painter.setPen(QPen(QColor(colour), 2))
            painter.drawPath(path)
        span_text = f"{start.astimezone(self._zone):%Y-%m-%d} – {end.astimezone(self._zone):%Y-%m-%d}"
        painter.setPen(text)
        painter.drawText(QRectF(plot.left(), self.height() - legend - 4, plot.width(), legend),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, span_text)
        left = plot.left()
        for label, colour, _ in self._curves:
            painter.fillRect(QRectF(left, self.height() - legend + 2, 14, 4), QColor(colour))
            painter.setPen(text)
            painter.drawText(QPointF(left + 18, self.height() - legend + 8), label)
            left += 18 + metrics.horizontalAdvance(label) + 20
        painter.end()
