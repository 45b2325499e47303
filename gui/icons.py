"""Tray icons, one per state, loaded from resources/icons/ (drawn by scripts/make_icons.py).

The PNGs are committed so startup only reads files; the same drawing code below is the
fallback when a file is missing (a broken install still gets a meaningful icon). States differ
by shape as well as colour, so a colour-blind trader can still tell a lock from a warning:
protected is a green shield with a tick, warning an amber triangle with "!", cooldown an amber
disc with an hourglass, locked a red disc with a padlock, no limit enabled a grey shield struck
through, disconnected a grey disc with "...", and failing enforcement a red octagon with "!"
(a stop sign: act now). Demo mode adds a blue ring around the icon.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap

from core.app.protection import Protection

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 32, 64)

GREEN = QColor("#2e9d4a")
AMBER = QColor("#f0a020")
RED = QColor("#d3302f")
GREY = QColor("#8a8f98")
BLUE = QColor("#1e6fe0")
OUTLINE = QColor(0, 0, 0, 140)  # keeps light shapes visible on a light taskbar


# The states are the app's own (core.app.protection), worst first; one icon each.
TrayState = Protection

# Statuses that share an icon: anything not yet (or no longer) protected is grey.
_ALIASES = {"reconnecting": TrayState.DISCONNECTED, "starting": TrayState.DISCONNECTED,
            "reconciling": TrayState.DISCONNECTED}


def as_state(state: TrayState | str) -> TrayState:
    if isinstance(state, TrayState):
        return state
    return _ALIASES.get(state) or TrayState(state)


def file_name(state: TrayState | str, demo: bool, size: int) -> str:
    return f"{as_state(state).value}{'-demo' if demo else ''}-{size}.png"


# --- drawing (all shapes in a 64-unit square, scaled to the target size) ----------------------

def _shield() -> QPainterPath:
    path = QPainterPath(QPointF(32, 4))
    path.lineTo(54, 12)
    path.lineTo(54, 28)
    path.cubicTo(54, 44, 44, 54, 32, 60)
    path.cubicTo(20, 54, 10, 44, 10, 28)
    path.lineTo(10, 12)
    path.closeSubpath()
    return path


def _white_stroke(width: float) -> QPen:
    pen = QPen(QColor("white"), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw_protected(p: QPainter) -> None:
    p.setPen(QPen(OUTLINE, 2))
    p.setBrush(GREEN)
    p.drawPath(_shield())
    p.setPen(_white_stroke(6))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPolyline([QPointF(21, 32), QPointF(29, 41), QPointF(44, 23)])


def _draw_warning(p: QPainter) -> None:
    triangle = QPainterPath(QPointF(32, 5))
    triangle.lineTo(60, 56)
    triangle.lineTo(4, 56)
    triangle.closeSubpath()
    pen = QPen(OUTLINE, 2)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(AMBER)
    p.drawPath(triangle)
    bar = QPen(QColor("#202020"), 6)
    bar.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(bar)
    p.drawLine(QPointF(32, 22), QPointF(32, 38))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#202020"))
    p.drawEllipse(QPointF(32, 48), 3.6, 3.6)


def _draw_locked(p: QPainter) -> None:
    p.setPen(QPen(OUTLINE, 2))
    p.setBrush(RED)
    p.drawEllipse(QPointF(32, 32), 28, 28)
    # Shackle first, so the body covers its ends.
    p.setPen(_white_stroke(5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(23.5, 14, 17, 22), 0, 180 * 16)
    p.drawLine(QPointF(23.5, 25), QPointF(23.5, 30))
    p.drawLine(QPointF(40.5, 25), QPointF(40.5, 30))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("white"))
    p.drawRoundedRect(QRectF(18, 29, 28, 21), 3, 3)
    p.setBrush(RED)
    p.drawEllipse(QPointF(32, 37), 3.2, 3.2)
    p.drawRect(QRectF(30.5, 37, 3, 7))


def _draw_disconnected(p: QPainter) -> None:
    p.setPen(QPen(OUTLINE, 2))
    p.setBrush(GREY)
    p.drawEllipse(QPointF(32, 32), 28, 28)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("white"))
    for x in (18.0, 32.0, 46.0):
        p.drawEllipse(QPointF(x, 32), 4.8, 4.8)


def _draw_cooldown(p: QPainter) -> None:
    p.setPen(QPen(OUTLINE, 2))
    p.setBrush(AMBER)
    p.drawEllipse(QPointF(32, 32), 28, 28)
    # An hourglass: two triangles meeting in the middle, with bars top and bottom.
    ink = QColor("#202020")
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(ink)
    glass = QPainterPath(QPointF(21, 18))
    glass.lineTo(43, 18)
    glass.lineTo(34, 32)
    glass.lineTo(43, 46)
    glass.lineTo(21, 46)
    glass.lineTo(30, 32)
    glass.closeSubpath()
    p.drawPath(glass)
    bar = QPen(ink, 4)
    bar.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(bar)
    p.drawLine(QPointF(18, 16), QPointF(46, 16))
    p.drawLine(QPointF(18, 48), QPointF(46, 48))


def _draw_no_limits(p: QPainter) -> None:
    p.setPen(QPen(OUTLINE, 2))
    p.setBrush(GREY)
    p.drawPath(_shield())
    p.setPen(_white_stroke(6))
    p.drawLine(QPointF(18, 46), QPointF(46, 18))  # struck through: the shield does nothing


def _draw_failing(p: QPainter) -> None:
    octagon = QPainterPath(QPointF(22, 4))
    for x, y in ((42, 4), (60, 22), (60, 42), (42, 60), (22, 60), (4, 42), (4, 22)):
        octagon.lineTo(x, y)
    octagon.closeSubpath()
    pen = QPen(OUTLINE, 2)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(RED)
    p.drawPath(octagon)
    p.setPen(_white_stroke(7))
    p.drawLine(QPointF(32, 16), QPointF(32, 36))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("white"))
    p.drawEllipse(QPointF(32, 47), 4.5, 4.5)


_DRAW = {
    TrayState.FAILING: _draw_failing,
    TrayState.DISCONNECTED: _draw_disconnected,
    TrayState.NO_LIMITS: _draw_no_limits,
    TrayState.LOCKED: _draw_locked,
    TrayState.COOLDOWN: _draw_cooldown,
    TrayState.WARNING: _draw_warning,
    TrayState.PROTECTED: _draw_protected,
}


def draw_icon(state: TrayState | str, demo: bool, size: int = 64) -> QImage:
    """Render one icon; needs a QGuiApplication (QImage painting does not need a display)."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(size / 64.0, size / 64.0)
        if demo:
            # Shrink the state's shape so the blue ring fits around it without hiding it.
            painter.save()
            painter.translate(32, 32)
            painter.scale(0.74, 0.74)
            painter.translate(-32, -32)
            _DRAW[as_state(state)](painter)
            painter.restore()
            painter.setPen(QPen(BLUE, 6))
            painter.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            painter.drawEllipse(QPointF(32, 32), 28.5, 28.5)
        else:
            _DRAW[as_state(state)](painter)
    finally:
        painter.end()
    return image


# --- loading ----------------------------------------------------------------------------------

_cache: dict[tuple[TrayState, bool], QIcon] = {}


def icon_for(state: TrayState | str, demo: bool = False, directory: Path | None = None) -> QIcon:
    """The tray icon for a state, from the PNGs when present, else drawn now. Cached."""
    key = (as_state(state), demo)
    if directory is None and key in _cache:
        return _cache[key]
    folder = directory or ICON_DIR
    icon = QIcon()
    for size in SIZES:
        pixmap = QPixmap(str(folder / file_name(key[0], demo, size)))
        if pixmap.isNull():
            pixmap = QPixmap.fromImage(draw_icon(key[0], demo, size))
        icon.addPixmap(pixmap)
    if directory is None:
        _cache[key] = icon
    return icon


def write_icons(directory: Path = ICON_DIR) -> list[Path]:
    """Draw every state × demo × size into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for state in TrayState:
        for demo in (False, True):
            for size in SIZES:
                path = directory / file_name(state, demo, size)
                if not draw_icon(state, demo, size).save(str(path)):
                    raise OSError(f"could not write {path}")
                written.append(path)
    return written
