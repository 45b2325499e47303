"""The Maximum Loss Limit gauge: how far equity stands above the floor, with the buffer where
the guard acts and the warning distances marked.

The track runs from the floor (left) to one MLL amount above it, or further when equity is
further away. The red zone is the buffer (the guard flattens and locks when equity enters it),
the amber zone runs to the first warning distance, and the bar is equity. With no number to
judge (no balance or no price yet) the track is drawn empty with the reason across it: never a
guessed bar. Painted with QPainter; it only paints what it was last given.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.app.snapshot import MllView
from core.domain.words import money
from gui.pnl_chart import AMBER, GREY_LINE, RED, level_colour

TRACK_HEIGHT = 22.0
LABEL_HEIGHT = 16.0


def gauge_span(mll: MllView) -> float:
    """Dollars above the floor the track shows: one MLL amount (or enough for the warnings and
    the buffer to read), stretched when equity stands further away."""
    span = max(mll.mll_amount, (max(mll.warn_at) if mll.warn_at else 0.0) * 1.25,
               (mll.buffer or 0.0) * 4, 500.0)
    distance = mll.distance
    if distance is not None and distance > span:
        span = distance * 1.1
    return span


class MllGauge(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mll: MllView | None = None
        self.setMinimumSize(240, int(TRACK_HEIGHT + 2 * LABEL_HEIGHT + 6))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(480, int(TRACK_HEIGHT + 2 * LABEL_HEIGHT + 6))

    @property
    def mll(self) -> MllView | None:
        return self._mll

    def set_mll(self, mll: MllView) -> None:
        if mll != self._mll:
            self._mll = mll
            self.update()

    def fraction(self) -> float | None:
        """Where the equity bar ends, 0 (the floor) to 1 (the track's end); None: unknown."""
        if self._mll is None or self._mll.distance is None:
            return None
        return max(0.0, min(1.0, self._mll.distance / gauge_span(self._mll)))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        mll = self._mll
        if mll is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_colour = self.palette().color(QPalette.ColorRole.WindowText)
        left, right = 6.0, float(self.width()) - 6.0
        width = max(1.0, right - left)
        top = LABEL_HEIGHT + 2
        track = QRectF(left, top, width, TRACK_HEIGHT)
        span = gauge_span(mll)

        def x_at(dollars: float) -> float:
            return left + width * max(0.0, min(1.0, dollars / span))

        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(128, 128, 128, 50))
        painter.drawRoundedRect(track, 4, 4)
        if mll.warn_at:
            amber = QColor(AMBER)
            amber.setAlpha(55)
            painter.setBrush(amber)
            painter.drawRect(QRectF(left, top, x_at(max(mll.warn_at)) - left, TRACK_HEIGHT))
        if mll.buffer:
            red = QColor(RED)
            red.setAlpha(80)
            painter.setBrush(red)
            painter.drawRect(QRectF(left, top, x_at(mll.buffer) - left, TRACK_HEIGHT))
        distance = mll.distance
        if distance is not None:
            bar = QColor(level_colour(mll.level))
            painter.setBrush(bar)
            end = x_at(distance)
            painter.drawRoundedRect(QRectF(left, top + 5, max(2.0, end - left), TRACK_HEIGHT - 10), 3, 3)
            painter.setPen(QPen(text_colour, 2))
            painter.drawLine(QPointF(end, top - 2), QPointF(end, top + TRACK_HEIGHT + 2))
        else:
            painter.setPen(text_colour)
            painter.drawText(track, Qt.AlignmentFlag.AlignCenter,
                             f"{mll.unknown}: the distance cannot be said")
        # The floor, the guard's line and the warnings, labelled under the track.
        small = painter.font()
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        painter.setFont(small)
        below = top + TRACK_HEIGHT + 2
        painter.setPen(QPen(QColor(RED), 2))
        painter.drawLine(QPointF(left, top - 3), QPointF(left, top + TRACK_HEIGHT + 3))
        self._label(painter, left, below, f"floor {money(mll.floor)}", Qt.AlignmentFlag.AlignLeft,
                    text_colour)
        if mll.buffer:
            at = x_at(mll.buffer)
            painter.setPen(QPen(QColor(RED), 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(at, top), QPointF(at, top + TRACK_HEIGHT))
        for amount in mll.warn_at:
            at = x_at(amount)
            painter.setPen(QPen(QColor(AMBER), 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(at, top), QPointF(at, top + TRACK_HEIGHT))
            self._label(painter, at, 0, f"warn {money(amount)}", Qt.AlignmentFlag.AlignHCenter,
                        QColor(GREY_LINE))
        if mll.buffer:
            self._label(painter, x_at(mll.buffer), 0, f"guard acts {money(mll.buffer)}",
                        Qt.AlignmentFlag.AlignHCenter, QColor(RED))
        if distance is not None and distance > span * 0.35:
            self._label(painter, x_at(distance), below, f"equity {money(mll.floor + distance)}",
                        Qt.AlignmentFlag.AlignRight, text_colour)
        painter.end()

    def _label(self, painter: QPainter, x: float, y: float, text: str,
               align: Qt.AlignmentFlag, colour: QColor) -> None:
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 4
        if align == Qt.AlignmentFlag.AlignHCenter:
            x -= width / 2
        elif align == Qt.AlignmentFlag.AlignRight:
            x -= width
        x = max(0.0, min(float(self.width()) - width, x))
        painter.setPen(colour)
        painter.drawText(QRectF(x, y, width, LABEL_HEIGHT), Qt.AlignmentFlag.AlignCenter, text)
