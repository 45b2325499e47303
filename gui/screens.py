"""The screen a window is on, asked for in the one way that is safe with PySide6.

``QWidget.screen()`` makes the returned QScreen's wrapper a child of the widget's wrapper
(PySide6 6.11's return-value heuristic): when the garbage collector later frees a window held
in a reference cycle, it deletes the application's QScreen with it, and the next widget
created crashes the process. The window handle and the application hand the screen back
without that link: only the application's static calls are used here.
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget


def screen_of(widget: QWidget) -> QScreen | None:
    """The screen under ``widget``'s centre (the primary one when it is off every screen)."""
    return QGuiApplication.screenAt(widget.frameGeometry().center()) or QGuiApplication.primaryScreen()
